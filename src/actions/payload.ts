/**
 * What splunkd hands a custom alert action on stdin with `payload_format = json`: the session,
 * the triggering search, the merged action configuration and where the results are.
 */
export interface ActionPayload {
  serverUri: string;
  sessionKey: string;
  /** Gzipped CSV of the search results; absent when the search had none to write. */
  resultsFile?: string;
  /** The first result, which splunkd also sends inline. */
  result?: Record<string, string>;
  configuration: Record<string, unknown>;
  sid?: string;
  searchName?: string;
  app?: string;
}

export function parsePayload(text: string): ActionPayload {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`The payload on stdin is not JSON (${text.trim() ? 'malformed' : 'empty'}); alert_actions.conf must set payload_format = json for this action.`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('The payload on stdin is not a JSON object.');
  const p = raw as Record<string, unknown>;
  const str = (key: string): string | undefined => (typeof p[key] === 'string' && p[key] !== '' ? (p[key] as string) : undefined);
  const serverUri = str('server_uri');
  const sessionKey = str('session_key');
  if (!serverUri || !sessionKey) throw new Error('The payload lacks server_uri or session_key; was the action started by splunkd?');
  const configuration = p.configuration;
  if (typeof configuration !== 'object' || configuration === null || Array.isArray(configuration)) throw new Error('The payload lacks its configuration object.');
  const result = p.result;
  return {
    serverUri,
    sessionKey,
    resultsFile: str('results_file'),
    result: typeof result === 'object' && result !== null && !Array.isArray(result) ? stringRecord(result as Record<string, unknown>) : undefined,
    configuration: configuration as Record<string, unknown>,
    sid: str('sid'),
    searchName: str('search_name'),
    app: str('app'),
  };
}

function stringRecord(record: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'string') out[key] = value;
    else if (Array.isArray(value)) out[key] = value.map(String).join('\n');
    else if (value !== null && value !== undefined) out[key] = String(value);
  }
  return out;
}
