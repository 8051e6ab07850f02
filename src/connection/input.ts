import { INPUTS } from '../inputs/catalog.js';
import type { PollContext, PollSummary } from '../sources/pollContext.js';
import type { Logger } from '../splunk/log.js';
import type { InputConfig } from '../splunk/modinput.js';
import { testConnection } from './probe.js';
import { reportMessage } from './report.js';

/** `--validate-arguments` of the connection test: always refuses, with the report as the reason. */
export async function checkConnection(config: InputConfig, logger: Logger): Promise<string> {
  const report = await testConnection(config, INPUTS, logger);
  logger.info('Connection test', { account: report.account, ok: report.ok, failed: report.steps.filter((s) => !s.ok).length, permissions_missing: report.permissions?.lines.filter((l) => !l.granted).length });
  return reportMessage(report);
}

/** A stanza of the test scheme can only come from a hand edit; it collects nothing. */
export async function idlePoll(ctx: PollContext): Promise<PollSummary> {
  ctx.logger.warn('This stanza only exists for the configuration page\'s connection test and collects nothing; delete it from inputs.conf.');
  return { emitted: 0, pages: 0, skipped_duplicates: 0, repaged: 0, high_water_mark: '' };
}
