import type { Account } from '../config/account.js';
import type { Settings } from '../config/settings.js';
import type { HttpClient } from '../http/client.js';
import type { TokenProvider } from '../microsoft/auth.js';
import type { EventWriter } from '../splunk/eventWriter.js';
import type { Logger } from '../splunk/log.js';

/** Everything a source needs for one poll; sources never touch stdin, stdout or splunkd themselves. */
export interface PollContext {
  /** Full stanza name, `scheme://name`. */
  stanza: string;
  params: Record<string, string>;
  checkpointDir: string;
  account: Account;
  settings: Settings;
  http: HttpClient;
  tokens: TokenProvider;
  writer: EventWriter;
  logger: Logger;
  /** The poll's start, epoch ms: the closed upper bound of what it reads. */
  nowMs: number;
}

export interface PollSummary {
  emitted: number;
  pages: number;
  skipped_duplicates: number;
  repaged: number;
  high_water_mark: string;
  [extra: string]: string | number;
}
