import { loadAccount, loadSecret } from '../config/account.js';
import { loadSettings } from '../config/settings.js';
import { HttpClient } from '../http/client.js';
import { DEFAULT_RETRY } from '../http/retry.js';
import { TokenProvider } from '../microsoft/auth.js';
import { GraphClient } from '../microsoft/graph.js';
import type { InputDefinition } from '../splunk/args.js';
import { redactSecret, type Logger } from '../splunk/log.js';
import type { InputConfig } from '../splunk/modinput.js';
import { SplunkRest } from '../splunk/rest.js';
import type { ConnectionReport, StepResult } from './report.js';

/** An admin is waiting on the page: a short timeout and one retry, not a poll's patience. */
const TEST_TIMEOUT_MS = 15_000;

/**
 * Tests an account as the inputs would use it (same settings, proxy, CA file and secret):
 * acquires a token, then makes one cheap call ($top=1) per API an input of the app reads.
 * Configuration problems (missing account or secret) throw; Microsoft's answers are reported.
 */
export async function testConnection(config: InputConfig, inputs: readonly InputDefinition[], logger: Logger): Promise<ConnectionReport> {
  const rest = new SplunkRest(config.serverUri, config.sessionKey);
  const settings = await loadSettings(rest);
  redactSecret(settings.proxy?.password);
  const account = await loadAccount(rest, config.params.account.trim());
  const secret = await loadSecret(rest, account);
  redactSecret(secret);
  const http = new HttpClient({
    logger,
    proxy: settings.proxy,
    caFile: account.caFile,
    timeoutMs: TEST_TIMEOUT_MS,
    retry: { ...DEFAULT_RETRY, maxAttempts: 2, maxRetryAfterMs: 5_000 },
  });
  const steps: StepResult[] = [];
  try {
    const tokens = new TokenProvider({ ...account, secret, loginUrl: account.endpoints.loginUrl }, http, logger);
    const tokenStep = `Token from Entra ID (${account.endpoints.loginUrl})`;
    try {
      await tokens.token(account.endpoints.graphUrl);
      steps.push({ title: tokenStep, ok: true, message: `Client ${account.clientId} signed in to tenant ${account.tenantId}.` });
    } catch (error) {
      steps.push({ title: tokenStep, ok: false, message: (error as Error).message });
      return { account: account.name, ok: false, steps };
    }
    // Several inputs may read the same API: probe each path once.
    const probes = new Map(inputs.flatMap((d) => (d.probe ? [[d.probe.path, d.probe] as const] : [])));
    for (const probe of probes.values()) {
      const graph = new GraphClient(http, tokens, account.endpoints.graphUrl, probe.permission);
      const title = `${probe.permission}: ${probe.body ? 'POST' : 'GET'} ${probe.path}`;
      try {
        if (probe.body) await graph.post(graph.url(probe.path), probe.body);
        else await graph.get(graph.url(probe.path, { $top: '1' }));
        steps.push({ title, ok: true, message: 'Microsoft Graph answered.' });
      } catch (error) {
        steps.push({ title, ok: false, message: (error as Error).message });
      }
    }
  } finally {
    await http.close();
  }
  return { account: account.name, ok: steps.every((s) => s.ok), steps };
}
