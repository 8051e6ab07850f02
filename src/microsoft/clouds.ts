/** Where each Microsoft cloud lives: the authority host, Graph host and Defender for Endpoint host. */
export type CloudName = 'commercial' | 'gcc' | 'gcc_high' | 'dod' | 'china' | 'custom';
export const CLOUD_NAMES: readonly CloudName[] = ['commercial', 'gcc', 'gcc_high', 'dod', 'china', 'custom'];

export interface CloudEndpoints {
  loginUrl: string;
  graphUrl: string;
  /** Absent where Microsoft offers no Defender for Endpoint API (China). */
  mdeUrl?: string;
  /** The WindowsDefenderATP resource a Defender for Endpoint token is issued for (scope `<resource>/.default`). */
  mdeResource?: string;
}

/** Defender for Endpoint API hosts an account can choose (`mde_region`). */
export type MdeRegion = 'general' | 'us' | 'eu' | 'uk' | 'gcc' | 'gcc_high' | 'dod';
export const MDE_REGIONS: readonly MdeRegion[] = ['general', 'us', 'eu', 'uk', 'gcc', 'gcc_high', 'dod'];

/**
 * Commercial regional hosts all take tokens for the legacy resource api.securitycenter.microsoft.com
 * (Microsoft: a token for another audience gets 403 even on a regional host); the US Government
 * clouds have their own resource, which is their API host.
 */
const COMMERCIAL_MDE_RESOURCE = 'https://api.securitycenter.microsoft.com';
const MDE_HOSTS: Record<MdeRegion, { url: string; resource: string; clouds: readonly CloudName[] }> = {
  general: { url: 'https://api.securitycenter.microsoft.com', resource: COMMERCIAL_MDE_RESOURCE, clouds: ['commercial', 'gcc'] },
  us: { url: 'https://api-us.securitycenter.microsoft.com', resource: COMMERCIAL_MDE_RESOURCE, clouds: ['commercial', 'gcc'] },
  eu: { url: 'https://api-eu.securitycenter.microsoft.com', resource: COMMERCIAL_MDE_RESOURCE, clouds: ['commercial', 'gcc'] },
  uk: { url: 'https://api-uk.securitycenter.microsoft.com', resource: COMMERCIAL_MDE_RESOURCE, clouds: ['commercial', 'gcc'] },
  // GCC tenants sign in at the commercial authority; some run Defender for Endpoint in commercial.
  gcc: { url: 'https://api-gcc.securitycenter.microsoft.us', resource: 'https://api-gcc.securitycenter.microsoft.us', clouds: ['gcc'] },
  gcc_high: { url: 'https://api-gov.securitycenter.microsoft.us', resource: 'https://api-gov.securitycenter.microsoft.us', clouds: ['gcc_high'] },
  dod: { url: 'https://api-gov.securitycenter.microsoft.us', resource: 'https://api-gov.securitycenter.microsoft.us', clouds: ['dod'] },
};

/** The region used when an account sets none. */
const DEFAULT_MDE_REGION: Partial<Record<CloudName, MdeRegion>> = { commercial: 'general', gcc: 'gcc', gcc_high: 'gcc_high', dod: 'dod' };

const KNOWN: Record<Exclude<CloudName, 'custom'>, Omit<CloudEndpoints, 'mdeUrl' | 'mdeResource'>> = {
  commercial: { loginUrl: 'https://login.microsoftonline.com', graphUrl: 'https://graph.microsoft.com' },
  gcc: { loginUrl: 'https://login.microsoftonline.com', graphUrl: 'https://graph.microsoft.com' },
  gcc_high: { loginUrl: 'https://login.microsoftonline.us', graphUrl: 'https://graph.microsoft.us' },
  dod: { loginUrl: 'https://login.microsoftonline.us', graphUrl: 'https://dod-graph.microsoft.us' },
  china: { loginUrl: 'https://login.chinacloudapi.cn', graphUrl: 'https://microsoftgraph.chinacloudapi.cn' },
};

export function isCloudName(value: string): value is CloudName {
  return (CLOUD_NAMES as readonly string[]).includes(value);
}

export function isMdeRegion(value: string): value is MdeRegion {
  return (MDE_REGIONS as readonly string[]).includes(value);
}

/** Why a region cannot be used with a cloud, or undefined when it can. */
export function mdeRegionProblem(cloud: CloudName, region: MdeRegion): string | undefined {
  if (cloud === 'custom') return undefined;
  const allowed = MDE_REGIONS.filter((r) => MDE_HOSTS[r].clouds.includes(cloud));
  if (allowed.includes(region)) return undefined;
  return allowed.length
    ? `"${region}" is not a Defender for Endpoint region of cloud ${cloud}; use one of ${allowed.join(', ')}.`
    : `Cloud ${cloud} has no Defender for Endpoint API.`;
}

/**
 * Endpoints of a cloud; `custom` takes the account's own https URLs (sovereign or private
 * endpoints), and a custom Defender for Endpoint host is also its token resource. An explicit
 * mdeUrl on a known cloud replaces the host but keeps the region's resource.
 */
export function cloudEndpoints(cloud: CloudName, custom: Partial<CloudEndpoints> = {}, region?: MdeRegion): CloudEndpoints {
  if (cloud === 'custom') {
    const mdeUrl = custom.mdeUrl ? stripSlash(custom.mdeUrl) : undefined;
    return {
      loginUrl: stripSlash(custom.loginUrl ?? ''),
      graphUrl: stripSlash(custom.graphUrl ?? ''),
      mdeUrl,
      mdeResource: mdeUrl ? new URL(mdeUrl).origin : undefined,
    };
  }
  const chosen = region ?? DEFAULT_MDE_REGION[cloud];
  const host = chosen && !mdeRegionProblem(cloud, chosen) ? MDE_HOSTS[chosen] : undefined;
  if (!host) return { ...KNOWN[cloud] };
  return { ...KNOWN[cloud], mdeUrl: custom.mdeUrl ? stripSlash(custom.mdeUrl) : host.url, mdeResource: host.resource };
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The Defender portal of a cloud, for links to an alert or incident. */
export function defenderPortalUrl(cloud: CloudName): string {
  if (cloud === 'gcc_high') return 'https://security.microsoft.us';
  if (cloud === 'dod') return 'https://security.apps.mil';
  return 'https://security.microsoft.com';
}
