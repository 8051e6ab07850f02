import type { Account } from '../config/account.js';
import { loadSettings } from '../config/settings.js';
import { HttpClient } from '../http/client.js';
import { DEFAULT_RETRY } from '../http/retry.js';
import { openAccountSession } from '../microsoft/accountSession.js';
import { TokenProvider } from '../microsoft/auth.js';
import { GraphClient } from '../microsoft/graph.js';
import { HttpError } from '../http/errors.js';
import { OF_WDATP } from '../microsoft/mdeDevices.js';
import type { ApiProbe, InputDefinition } from '../splunk/args.js';
import { redactSecret, type Logger } from '../splunk/log.js';
import type { InputConfig } from '../splunk/modinput.js';
import { SplunkRest } from '../splunk/rest.js';
import { permissionReport } from './permissions.js';
import type { ConnectionReport, PermissionReport, StepResult } from './report.js';

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
  const { account, http, tokens } = await openAccountSession(rest, config.params.account.trim(), settings, logger, {
    timeoutMs: TEST_TIMEOUT_MS,
    retry: { ...DEFAULT_RETRY, maxAttempts: 2, maxRetryAfterMs: 5_000 },
  });
  const steps: StepResult[] = [];
  let permissions: PermissionReport | undefined;
  try {
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
      if (probe.api === 'mde') {
        // Accounts without a Defender for Endpoint host (China) cannot use these inputs; their
        // validation says so.
        if (account.endpoints.mdeUrl) steps.push(await mdeProbe(http, tokens, account, probe));
        continue;
      }
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
    // The response actions' write permissions cannot be tested without acting on a device: they
    // are read from the token instead, and never make the account fail (the inputs work without).
    if (account.endpoints.mdeUrl && account.endpoints.mdeResource) permissions = await writePermissions(tokens, account.endpoints.mdeResource);
  } finally {
    await http.close();
  }
  return { account: account.name, ok: steps.every((s) => s.ok), steps, ...(permissions ? { permissions } : {}) };
}

/** The token for the Defender for Endpoint API (msal's cached one), read for its roles only. */
async function writePermissions(tokens: TokenProvider, resource: string): Promise<PermissionReport> {
  try {
    return permissionReport(await tokens.token(resource));
  } catch (error) {
    return { readable: false, message: `The write permissions of the response actions could not be read: no token for the Defender for Endpoint API (${(error as Error).message}).`, lines: [] };
  }
}

/** One `$top=1` call to the Defender for Endpoint API; its 404 "no recent devices" is a working answer. */
async function mdeProbe(http: HttpClient, tokens: TokenProvider, account: Account, probe: ApiProbe): Promise<StepResult> {
  const client = new GraphClient(http, tokens, account.endpoints.mdeUrl!, `${probe.permission} ${OF_WDATP}`, { service: 'The Defender for Endpoint API', resource: account.endpoints.mdeResource, headers: {} });
  const title = `${probe.permission}: GET ${probe.path}`;
  try {
    await client.get(client.url(probe.path, { $top: '1' }));
    return { title, ok: true, message: 'The Defender for Endpoint API answered.' };
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) return { title, ok: true, message: 'The Defender for Endpoint API answered (no devices yet).' };
    return { title, ok: false, message: (error as Error).message };
  }
}
