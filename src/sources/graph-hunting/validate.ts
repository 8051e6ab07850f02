import { loadSettings } from '../../config/settings.js';
import { DEFAULT_RETRY } from '../../http/retry.js';
import { openAccountSession } from '../../microsoft/accountSession.js';
import { GraphClient, PermissionError } from '../../microsoft/graph.js';
import { HUNTING_PERMISSION, HuntingClient, HuntingQueryError } from '../../microsoft/hunting.js';
import { redactSecret, type Logger } from '../../splunk/log.js';
import type { InputConfig } from '../../splunk/modinput.js';
import { SplunkRest } from '../../splunk/rest.js';
import { INGESTION_COLUMN, leadingTable, windowedQuery, windowTimespan } from './query.js';

/** An admin is waiting on the page: short waits. */
const VALIDATION_TIMEOUT_MS = 30_000;

/**
 * `--validate-arguments`: runs the query once over the last minute of ingestion, so a query
 * Microsoft refuses (KQL error, missing permission) is refused when the input is saved, and one
 * whose results drop the IngestionTime column (which places each row in one window) too.
 * Microsoft being busy or unreachable does not block saving: the runs report it.
 */
export async function checkHunting(config: InputConfig, logger: Logger): Promise<string | undefined> {
  const query = config.params.query.trim();
  const table = leadingTable(query);
  if (!table) return 'Query (query): it must start with a table name.';
  const rest = new SplunkRest(config.serverUri, config.sessionKey);
  const settings = await loadSettings(rest);
  redactSecret(settings.proxy?.password);
  const { account, http, tokens } = await openAccountSession(rest, config.params.account.trim(), settings, logger, {
    timeoutMs: VALIDATION_TIMEOUT_MS,
    retry: { ...DEFAULT_RETRY, maxAttempts: 2, maxRetryAfterMs: 5_000 },
  });
  try {
    const graph = new GraphClient(http, tokens, account.endpoints.graphUrl, HUNTING_PERMISSION);
    const client = new HuntingClient(graph, { logger, maxWaitMs: 0 });
    const now = Date.now();
    const window = { afterMs: now - 60_000, toMs: now, timestampFloorMs: now - 120_000 };
    const result = await client.run(windowedQuery(query, table, window), windowTimespan(window, now));
    if (!result.schema.some((c) => c.name === INGESTION_COLUMN)) {
      return `Query (query): its results drop the ${INGESTION_COLUMN} column the input adds after the table (it places each row in exactly one run). Keep it, e.g. | project DeviceName, FileName, Timestamp, ${INGESTION_COLUMN}.`;
    }
    return undefined;
  } catch (error) {
    if (error instanceof HuntingQueryError) return `Microsoft refused the query: ${error.message}`;
    if (error instanceof PermissionError) return error.message;
    logger.warn('The query could not be tried while saving the input; the runs will report what Microsoft answers', { error: (error as Error).message });
    return undefined;
  } finally {
    await http.close();
  }
}
