import { connectionTestDefinition } from '../connection/definition.js';
import { parseReportMessage, type ConnectionReport } from '../connection/report.js';
import { endpoint, rest, RestError } from './api.js';

/**
 * Asks splunkd to create a connection-test stanza: splunkd runs the input's --validate-arguments,
 * which tests the account and always refuses with the report. A failure before the test (no such
 * account, no stored secret) comes back as a plain message and becomes a one-step report.
 */
export async function testConnection(account: string): Promise<ConnectionReport> {
  const name = `test_${Date.now().toString(36)}`;
  const scheme = connectionTestDefinition.scheme;
  try {
    await rest.create(endpoint('data/inputs', scheme), { name, account });
  } catch (error) {
    const message = (error as Error).message;
    const report = error instanceof RestError ? parseReportMessage(message) : undefined;
    return report ?? { account, ok: false, steps: [{ title: 'Checking the account', ok: false, message }] };
  }
  // Only an input without our validation (an old bundle) gets here: leave nothing behind.
  await rest.remove(endpoint('data/inputs', scheme, name)).catch(() => undefined);
  return { account, ok: false, steps: [{ title: 'Checking the account', ok: false, message: 'splunkd accepted the test stanza without running the test: is the add-on fully installed (bin/defender_xdr_connection_test.*)?' }] };
}
