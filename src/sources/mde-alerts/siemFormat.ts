/**
 * One Defender for Endpoint alert in the flat layout of the retired SIEM API, for content written
 * against it (ArcSight, QRadar, older Splunk searches). Field names follow Microsoft's migration
 * table (SIEM API property -> alerts API property); each is taken from the alerts API's equivalent.
 * Fields the table marks as having no equivalent (IocName, IocValue, CreatorIocName,
 * CreatorIocValue, AlertPart, FullId, Md5, InternalIPV4List, InternalIPV6List, ReportId,
 * ExternalId, IocUniqueId) and those the alerts API does not carry (Actor, DeviceCreatedMachineTags,
 * CloudCreatedMachineTags) are left out, as the SIEM API left empty fields out.
 */
/** Flat: strings and booleans only; lists are joined with LIST_SEPARATOR, as the SIEM API sent them. */
export interface SiemRecord {
  [field: string]: string | boolean | undefined;
}

export const LIST_SEPARATOR = ', ';

interface Evidence {
  entityType?: unknown;
  [property: string]: unknown;
}

/** A string or number from the API, else undefined: odd shapes never reach the flat record. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function evidenceOf(alert: Record<string, unknown>, entityType: string): Evidence[] {
  const all = Array.isArray(alert.evidence) ? alert.evidence : [];
  return all.filter((e): e is Evidence => typeof e === 'object' && e !== null && String((e as Evidence).entityType).toLowerCase() === entityType.toLowerCase());
}

function first(items: Evidence[], key: string): string | undefined {
  for (const item of items) {
    const value = text(item[key]);
    if (value !== undefined) return value;
  }
  return undefined;
}

const STOPPED = new Set(['blocked', 'prevented', 'remediated']);

/**
 * @param portalUrl the Defender portal of the account's cloud (links to the alert and incident).
 */
export function toSiemRecord(alert: Record<string, unknown>, portalUrl: string): SiemRecord {
  const files = evidenceOf(alert, 'File');
  const processes = evidenceOf(alert, 'Process');
  const users = evidenceOf(alert, 'User');
  // File evidence first, then the image of a process, as Microsoft's table says.
  const fileLike = [...files, ...processes];
  const id = text(alert.id);
  const incidentId = text(alert.incidentId);
  const host = text(alert.computerDnsName);
  const dot = host?.indexOf('.') ?? -1;
  const relatedUser = typeof alert.relatedUser === 'object' && alert.relatedUser !== null ? (alert.relatedUser as Record<string, unknown>) : {};
  const detection = first(fileLike, 'detectionStatus');
  const processDetection = first(processes, 'detectionStatus');
  const alertLink = id ? `${portalUrl}/alerts/${encodeURIComponent(id)}` : undefined;
  const incidentLink = incidentId ? `${portalUrl}/incidents/${encodeURIComponent(incidentId)}` : undefined;
  const sha1 = first(fileLike, 'sha1');
  const sha256 = first(fileLike, 'sha256');
  const logOnUsers = users
    .map((u) => [text(u.domainName), text(u.accountName)].filter(Boolean).join('\\'))
    .filter((name) => name !== '');
  const mitre = Array.isArray(alert.mitreTechniques) ? alert.mitreTechniques.map(text).filter((t): t is string => t !== undefined) : [];
  const record: SiemRecord = {
    AlertTime: text(alert.alertCreationTime),
    ComputerDnsName: host,
    AlertTitle: text(alert.title),
    Category: text(alert.category),
    Severity: text(alert.severity),
    AlertId: id,
    LinkToWDATP: alertLink,
    Sha1: sha1,
    FileName: first(fileLike, 'fileName'),
    FilePath: first(fileLike, 'filePath'),
    IPAddress: first(evidenceOf(alert, 'Ip'), 'ipAddress'),
    URL: first(evidenceOf(alert, 'Url'), 'url'),
    IoaDefinitionId: text(alert.detectorId),
    UserName: first(users, 'accountName') ?? text(relatedUser.userName),
    LastProcessedTimeUtc: text(alert.lastEventTime),
    ThreatCategory: mitre.length ? mitre.join(LIST_SEPARATOR) : undefined,
    ThreatFamilyName: text(alert.threatFamilyName),
    ThreatName: text(alert.threatName),
    RemediationAction: detection,
    RemediationIsSuccess: detection === undefined ? undefined : STOPPED.has(detection.toLowerCase()),
    Source: text(alert.detectionSource),
    Sha256: sha256,
    // Detected (not blocked) means the process ran.
    WasExecutingWhileDetected: processDetection === undefined ? undefined : !STOPPED.has(processDetection.toLowerCase()),
    UserDomain: first(users, 'domainName') ?? text(relatedUser.domainName),
    LogOnUsers: logOnUsers.length ? logOnUsers.join(LIST_SEPARATOR) : undefined,
    MachineDomain: host && dot > 0 ? host.slice(dot + 1) : undefined,
    MachineName: host ? (dot > 0 ? host.slice(0, dot) : host) : undefined,
    FileHash: sha1 ?? sha256,
    DeviceID: text(alert.machineId),
    MachineGroup: text(alert.rbacGroupName),
    Description: text(alert.description),
    CommandLine: first(processes, 'processCommandLine'),
    IncidentLinkToWDATP: incidentLink,
    LinkToMTP: alertLink,
    IncidentLinkToMTP: incidentLink,
  };
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
  return record;
}
