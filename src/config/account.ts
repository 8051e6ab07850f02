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

/** A field of an account stanza and its rule: shared by the inputs and the configuration page. */
export interface AccountField {
  key: string;
  rule: rules.Rule;
  required: (stanza: Record<string, string>) => boolean;
}

const always = (): boolean => true;
const never = (): boolean => false;
const customCloud = (stanza: Record<string, string>): boolean => (stanza.cloud ?? '').trim() === 'custom';

export const ACCOUNT_FIELDS: readonly AccountField[] = [
  { key: 'tenant_id', rule: rules.tenant, required: always },
  { key: 'client_id', rule: rules.guid, required: always },
  { key: 'auth_type', rule: rules.authType, required: never },
  { key: 'cloud', rule: rules.cloud, required: never },
  { key: 'login_url', rule: rules.httpsUrl, required: customCloud },
  { key: 'graph_url', rule: rules.httpsUrl, required: customCloud },
  { key: 'mde_url', rule: rules.httpsUrl, required: never },
  { key: 'mde_region', rule: rules.mdeRegion, required: never },
];

/** The problem of one field of a stanza ('is required.' or the rule's message), or undefined. */
export function accountFieldProblem(field: AccountField, stanza: Record<string, string>): string | undefined {
  const value = (stanza[field.key] ?? '').trim();
  if (!value) return field.required(stanza) ? 'is required.' : undefined;
  return field.rule(value);
}

/** Checks an account stanza field by field; returns the first problem, naming the field. */
export function validateAccountStanza(name: string, stanza: Record<string, string>): string | undefined {
  for (const field of ACCOUNT_FIELDS) {
    const problem = accountFieldProblem(field, stanza);
    if (problem === 'is required.') return `Account "${name}": ${field.key} is required.`;
    if (problem) return `Account "${name}": ${field.key}: ${problem}`;
  }
  const cloud = (stanza.cloud ?? 'commercial').trim() || 'commercial';
  return regionMatchesCloud(name, cloud, (stanza.mde_region ?? '').trim());
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
