// The few parts of splunk-sdk 2.x the add-on uses (the package ships no types).
declare module 'splunk-sdk' {
  export interface SdkResponse {
    status: number | string;
    data?: unknown;
    error?: unknown;
    response?: { statusCode?: number; headers?: Record<string, string> };
  }
  export interface ServiceOptions {
    scheme: string;
    host: string;
    port: string | number;
    sessionKey: string;
    owner?: string;
    app?: string;
    version?: string;
  }
  export class Service {
    constructor(options: ServiceOptions);
    get(path: string, params: Record<string, string | number>): Promise<SdkResponse>;
    post(path: string, params: Record<string, string | number>): Promise<SdkResponse>;
    del(path: string, params: Record<string, string | number>): Promise<SdkResponse>;
  }
  const splunkjs: { Service: typeof Service; Logger: { setLevel(level: 'ALL' | 'INFO' | 'WARN' | 'ERROR' | 'NONE'): void } };
  export default splunkjs;
}
