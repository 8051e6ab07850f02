import { cloudEndpoints, mdeRegionProblem, type CloudEndpoints, type CloudName, type MdeRegion } from '../microsoft/clouds.js';
import type { SplunkRest } from '../splunk/rest.js';
import * as rules from './rules.js';

export const ACCOUNT_CONF = 'defender_xdr_account';
/** storage/passwords realm of every secret of the add-on; the user name is the account stanza. */
export const SECRET_REALM = 'TA-defender-xdr';

/** A configuration problem an admin must fix; its message says what and where. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface Account {
  name: string;
  tenantId: string;
  clientId: string;
  authType: 'client_secret' | 'certificate';
  cloud: CloudName;
  /** Set when the stanza chose a Defender for Endpoint region; otherwise the cloud's default applies. */
  mdeRegion?: MdeRegion;
  endpoints: CloudEndpoints;
  caFile?: string;
  certificateThumbprint?: string;
}

/** Checks an account stanza field by field; returns the first problem, naming the field. */
export function validateAccountStanza(name: string, stanza: Record<string, string>): string | undefined {
  const field = (key: string, rule: rules.Rule, required: boolean): string | undefined => {
    const value = (stanza[key] ?? '').trim();
    if (!value) return required ? `Account "${name}": ${key} is required.` : undefined;
    const problem = rule(value);
    return problem ? `Account "${name}": ${key}: ${problem}` : undefined;
  };
  const cloud = (stanza.cloud ?? 'commercial').trim() || 'commercial';
  return (
    field('tenant_id', rules.tenant, true) ??
    field('client_id', rules.guid, true) ??
    field('auth_type', rules.authType, false) ??
    field('cloud', rules.cloud, false) ??
    field('login_url', rules.httpsUrl, cloud === 'custom') ??
    field('graph_url', rules.httpsUrl, cloud === 'custom') ??
    field('mde_url', rules.httpsUrl, false) ??
    field('mde_region', rules.mdeRegion, false) ??
    regionMatchesCloud(name, cloud, (stanza.mde_region ?? '').trim())
  );
}

/** GCC High and DoD tenants cannot use a commercial host, nor the reverse. Cloud and region are already valid names. */
function regionMatchesCloud(name: string, cloud: string, region: string): string | undefined {
  if (!region) return undefined;
  const problem = mdeRegionProblem(cloud as CloudName, region as MdeRegion);
  return problem ? `Account "${name}": mde_region: ${problem}` : undefined;
}

export function accountFromStanza(name: string, stanza: Record<string, string>): Account {
  const problem = validateAccountStanza(name, stanza);
  if (problem) throw new ConfigError(problem);
  const cloud = ((stanza.cloud ?? '').trim() || 'commercial') as CloudName;
  const mdeRegion = ((stanza.mde_region ?? '').trim() || undefined) as MdeRegion | undefined;
  return {
    name,
    tenantId: stanza.tenant_id.trim(),
    clientId: stanza.client_id.trim(),
    authType: (stanza.auth_type ?? '').trim() === 'certificate' ? 'certificate' : 'client_secret',
    cloud,
    mdeRegion,
    endpoints: cloudEndpoints(cloud, { loginUrl: stanza.login_url?.trim(), graphUrl: stanza.graph_url?.trim(), mdeUrl: stanza.mde_url?.trim() || undefined }, mdeRegion),
    caFile: stanza.ca_file?.trim() || undefined,
    certificateThumbprint: stanza.certificate_thumbprint?.trim() || undefined,
  };
}

export async function loadAccount(rest: SplunkRest, name: string): Promise<Account> {
  const stanza = await rest.confStanza(ACCOUNT_CONF, name);
  if (!stanza) {
    throw new ConfigError(`Account "${name}" does not exist in ${ACCOUNT_CONF}.conf. Create it in the add-on's configuration page, or fix the input's account parameter.`);
  }
  return accountFromStanza(name, stanza);
}

export async function loadSecret(rest: SplunkRest, account: Account): Promise<string> {
  const secret = await rest.password(SECRET_REALM, account.name);
  if (!secret) {
    const what = account.authType === 'certificate' ? 'certificate private key (PEM)' : 'client secret';
    throw new ConfigError(`No ${what} is stored for account "${account.name}" (storage/passwords realm ${SECRET_REALM}, user ${account.name}). Enter it again in the add-on's configuration page.`);
  }
  return secret;
}
