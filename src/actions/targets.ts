/**
 * What each alert action updates: the Graph collection, the permission it needs, the shape of an
 * id and the values Graph accepts. Enum members are those of Graph's v1.0 metadata
 * (microsoft.graph.security.alertStatus, incidentStatus, alertClassification, alertDetermination).
 */
export type TargetKind = 'alert' | 'incident';

export interface Target {
  kind: TargetKind;
  /** The alert_actions.conf stanza, also the launcher's name. */
  action: string;
  /** Path under the Graph base URL, without the id. */
  collectionPath: string;
  /** The application permission the PATCH and POST need. */
  permission: string;
  /** Read permission, named when telling apart "can read but not write". */
  readPermission: string;
  statuses: readonly string[];
  /** Ids Graph uses for this kind; anything else is not sent (it would land in the URL path). */
  idPattern: RegExp;
  idHint: string;
  /** Incidents carry customTags, which the incident action can add to. */
  supportsTags: boolean;
}

export const CLASSIFICATIONS = ['unknown', 'falsePositive', 'truePositive', 'informationalExpectedActivity'] as const;

/**
 * Which determinations the Defender portal offers under each classification ("unknown" fits any).
 * apt and securityPersonnel are older values Graph still accepts.
 */
export const DETERMINATIONS_BY_CLASSIFICATION: Record<string, readonly string[]> = {
  truePositive: ['multiStagedAttack', 'maliciousUserActivity', 'compromisedAccount', 'malware', 'phishing', 'unwantedSoftware', 'apt', 'other', 'unknown'],
  informationalExpectedActivity: ['securityTesting', 'lineOfBusinessApplication', 'confirmedActivity', 'securityPersonnel', 'other', 'unknown'],
  falsePositive: ['notMalicious', 'notEnoughDataToValidate', 'other', 'unknown'],
  unknown: ['unknown'],
};

export const DETERMINATIONS = [...new Set(Object.values(DETERMINATIONS_BY_CLASSIFICATION).flat())];

/**
 * The "Update alert" page of the Graph docs still lists the enum's earlier names; the metadata
 * (and the alert resource page) use the newer ones. Either spelling is accepted here.
 */
export const DETERMINATION_ALIASES: Record<string, string> = {
  compromisedUser: 'compromisedAccount',
  clean: 'notMalicious',
  insufficientData: 'notEnoughDataToValidate',
  confirmedUserActivity: 'confirmedActivity',
};

export const ALERT_TARGET: Target = {
  kind: 'alert',
  action: 'defender_update_alert',
  collectionPath: '/v1.0/security/alerts_v2',
  permission: 'SecurityAlert.ReadWrite.All',
  readPermission: 'SecurityAlert.Read.All',
  // unknown and unknownFutureValue are read-only markers, not states an analyst sets.
  statuses: ['new', 'inProgress', 'resolved'],
  // e.g. da637551227677560813_-961444813, ar…, fa…, caD…; never '/', '?', '%' or spaces.
  idPattern: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/,
  idHint: 'an alerts_v2 id such as da637551227677560813_-961444813 (field id of sourcetype ms:defender:alert)',
  supportsTags: false,
};

export const INCIDENT_TARGET: Target = {
  kind: 'incident',
  action: 'defender_update_incident',
  collectionPath: '/v1.0/security/incidents',
  permission: 'SecurityIncident.ReadWrite.All',
  readPermission: 'SecurityIncident.Read.All',
  // redirected is set by Defender when it merges incidents; awaitingAction is an evolvable member
  // Graph only accepts with Prefer: include-unknown-enum-members (which GraphClient sends).
  statuses: ['active', 'inProgress', 'resolved', 'awaitingAction'],
  idPattern: /^\d{1,19}$/,
  idHint: 'a numeric incident id (field id of sourcetype ms:defender:incident, or incidentId of an alert)',
  supportsTags: true,
};

export function targetByAction(action: string): Target | undefined {
  return [ALERT_TARGET, INCIDENT_TARGET].find((t) => t.action === action);
}
