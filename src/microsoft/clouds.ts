/** Where each Microsoft cloud lives: the authority host, Graph host and Defender for Endpoint host. */
export type CloudName = 'commercial' | 'gcc' | 'gcc_high' | 'dod' | 'china' | 'custom';
export const CLOUD_NAMES: readonly CloudName[] = ['commercial', 'gcc', 'gcc_high', 'dod', 'china', 'custom'];

export interface CloudEndpoints {
  loginUrl: string;
  graphUrl: string;
  /** Absent where Microsoft offers no Defender for Endpoint API (China). */
  mdeUrl?: string;
}

const KNOWN: Record<Exclude<CloudName, 'custom'>, CloudEndpoints> = {
  commercial: { loginUrl: 'https://login.microsoftonline.com', graphUrl: 'https://graph.microsoft.com', mdeUrl: 'https://api.securitycenter.microsoft.com' },
  gcc: { loginUrl: 'https://login.microsoftonline.com', graphUrl: 'https://graph.microsoft.com', mdeUrl: 'https://api-gcc.securitycenter.microsoft.us' },
  gcc_high: { loginUrl: 'https://login.microsoftonline.us', graphUrl: 'https://graph.microsoft.us', mdeUrl: 'https://api-gov.securitycenter.microsoft.us' },
  dod: { loginUrl: 'https://login.microsoftonline.us', graphUrl: 'https://dod-graph.microsoft.us', mdeUrl: 'https://api-gov.securitycenter.microsoft.us' },
  china: { loginUrl: 'https://login.chinacloudapi.cn', graphUrl: 'https://microsoftgraph.chinacloudapi.cn' },
};

export function isCloudName(value: string): value is CloudName {
  return (CLOUD_NAMES as readonly string[]).includes(value);
}

/** Endpoints of a cloud; `custom` takes the account's own https URLs (sovereign or private endpoints). */
export function cloudEndpoints(cloud: CloudName, custom: Partial<CloudEndpoints> = {}): CloudEndpoints {
  if (cloud !== 'custom') return KNOWN[cloud];
  return {
    loginUrl: stripSlash(custom.loginUrl ?? ''),
    graphUrl: stripSlash(custom.graphUrl ?? ''),
    mdeUrl: custom.mdeUrl ? stripSlash(custom.mdeUrl) : undefined,
  };
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
