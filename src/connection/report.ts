/**
 * The connection test's result travels from the input's `--validate-arguments` run to the
 * configuration page as splunkd's validation error message: a marker, then JSON. Shared by both
 * sides so the format has one definition. Free of Node.js imports (the page bundles it).
 */
export interface StepResult {
  /** What was tried, e.g. "Token from Entra ID" or "Alerts (/v1.0/security/alerts_v2)". */
  title: string;
  ok: boolean;
  /** Plain words: what worked, or what failed and what to do. */
  message: string;
}

/** One response action and the application permission it needs, as read from the token's `roles` claim. */
export interface PermissionLine {
  /** What the permission allows, e.g. "defender_device_action action=isolate, release". */
  feature: string;
  /** The permission(s) that allow it; any one of them is enough. */
  permission: string;
  granted: boolean;
  /** Plain words: granted, or what to add and what is blocked without it. */
  message: string;
}

/**
 * The write permissions of the response actions cannot be tested without acting on a device:
 * they are read from the app-only token's `roles` claim instead. `readable` is false when the
 * token is not a JWT (nothing is guessed then).
 */
export interface PermissionReport {
  readable: boolean;
  message: string;
  lines: PermissionLine[];
}

export interface ConnectionReport {
  account: string;
  ok: boolean;
  steps: StepResult[];
  /** Present for accounts with a Defender for Endpoint host; never changes `ok` (the inputs work without them). */
  permissions?: PermissionReport;
}

export const REPORT_MARKER = 'TA-defender-xdr connection test: ';

export function reportMessage(report: ConnectionReport): string {
  return REPORT_MARKER + JSON.stringify(report);
}

/**
 * Finds the report in an error text that splunkd may have wrapped with its own words; undefined
 * when the text holds none (e.g. the account does not exist: validation failed before the test).
 */
export function parseReportMessage(text: string): ConnectionReport | undefined {
  const at = text.indexOf(REPORT_MARKER);
  const end = text.lastIndexOf('}');
  if (at < 0 || end < at) return undefined;
  try {
    const parsed = JSON.parse(text.slice(at + REPORT_MARKER.length, end + 1)) as ConnectionReport;
    return typeof parsed.ok === 'boolean' && Array.isArray(parsed.steps) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
