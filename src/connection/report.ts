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

export interface ConnectionReport {
  account: string;
  ok: boolean;
  steps: StepResult[];
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
