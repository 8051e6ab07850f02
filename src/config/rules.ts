import { isCloudName, isMdeRegion, MDE_REGIONS } from '../microsoft/clouds.js';
import { parseStartDate } from '../microsoft/timestamps.js';

/**
 * Field rules shared by `--validate-arguments` and the configuration page, so both say the
 * same thing about the same value. Each returns an error message, or undefined when valid.
 */
export type Rule = (value: string) => string | undefined;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

export const guid: Rule = (v) => (GUID.test(v) ? undefined : `"${v}" is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).`);

/** Entra accepts a tenant's GUID or one of its verified domains. */
export const tenant: Rule = (v) =>
  GUID.test(v) || DOMAIN.test(v) ? undefined : `"${v}" is neither a tenant GUID nor a domain such as contoso.onmicrosoft.com.`;

export const httpsUrl: Rule = (v) => {
  try {
    const url = new URL(v);
    if (url.protocol !== 'https:') return `"${v}" must be an https:// URL.`;
    if (url.username || url.password) return 'The URL must not contain credentials.';
    return undefined;
  } catch {
    return `"${v}" is not a URL.`;
  }
};

export const proxyUrl: Rule = (v) => {
  try {
    const url = new URL(v);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${v}" must start with http:// or https://.`;
    if (url.username || url.password) return 'Put the proxy user and password in their own fields, not in the URL.';
    return url.port ? undefined : `"${v}" needs a port, e.g. http://proxy.example.com:8080.`;
  } catch {
    return `"${v}" is not a URL.`;
  }
};

export const startDate: Rule = (v) => {
  const ms = parseStartDate(v);
  if (ms === undefined) return `"${v}" is not an ISO 8601 UTC date, e.g. 2024-05-01 or 2024-05-01T00:00:00Z.`;
  if (ms > Date.now()) return 'The start date is in the future.';
  return undefined;
};

export const integerBetween =
  (min: number, max: number): Rule =>
  (v) =>
    /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `"${v}" must be a whole number from ${min} to ${max}.`;

/**
 * splunkd's interval: seconds, -1 (once at start-up) or a cron schedule. Under 60 s is refused:
 * the Graph security API allows about 150 requests a minute per app and tenant, for all inputs.
 */
export const interval: Rule = (v) => {
  if (v === '-1' || (/^\d+$/.test(v) && Number(v) >= 60)) return undefined;
  if (/^\d+$/.test(v)) return `"${v}" is too short: poll at most once a minute (60 or more seconds), the API's rate limit is shared by all inputs of the app.`;
  return /^(\S+\s+){4}\S+$/.test(v) ? undefined : `"${v}" must be seconds (60 or more), -1 (once at start-up) or a cron schedule.`;
};

export const cloud: Rule = (v) => (isCloudName(v) ? undefined : `"${v}" is not one of commercial, gcc, gcc_high, dod, china, custom.`);

export const mdeRegion: Rule = (v) => (isMdeRegion(v) ? undefined : `"${v}" is not one of ${MDE_REGIONS.join(', ')}.`);

export const booleanFlag: Rule = (v) => (/^(true|false|1|0|yes|no|t|f|y|n)$/i.test(v) ? undefined : `"${v}" must be true or false.`);

export const authType: Rule = (v) => (v === 'client_secret' || v === 'certificate' ? undefined : `"${v}" must be client_secret or certificate.`);

/** Stanza names become REST paths and storage/passwords user names. */
export const accountName: Rule = (v) =>
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/.test(v) ? undefined : `"${v}" may hold only letters, digits, '_', '.', '-' (up to 80).`;

/**
 * An extra OData $filter clause. Only its shape can be checked offline: balanced quotes and
 * parentheses, and no characters that would end the clause early.
 */
export const odataFilter: Rule = (v) => {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === "'") {
      if (inString && v[i + 1] === "'") i++;
      else inString = !inString;
    } else if (!inString && c === '(') depth++;
    else if (!inString && c === ')' && --depth < 0) return 'has a ")" without its "(".';
  }
  if (inString) return 'has an unterminated string (quote with \').';
  if (depth !== 0) return 'has a "(" without its ")".';
  if (/[\r\n]/.test(v)) return 'must be on one line.';
  return undefined;
};
