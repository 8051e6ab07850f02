import type { Settings } from '../config/settings.js';
import type { EventWriter } from '../splunk/eventWriter.js';
import type { Logger } from '../splunk/log.js';
import type { SplunkRest } from '../splunk/rest.js';

/** What every run gets; sources never touch stdin, stdout or splunkd's session themselves. */
export interface RunContext {
  /** Full stanza name, `scheme://name`. */
  stanza: string;
  params: Record<string, string>;
  checkpointDir: string;
  settings: Settings;
  writer: EventWriter;
  logger: Logger;
  /** The poll's start, epoch ms: the closed upper bound of what it reads. */
  nowMs: number;
}

/** An Entra account with its HTTP client and token provider. */
export type { AccountSession } from '../microsoft/accountSession.js';
import type { AccountSession } from '../microsoft/accountSession.js';

/** Everything a Graph/Defender API source needs for one poll. */
export interface PollContext extends RunContext, AccountSession {}

/** A streaming input reads its own secret through `rest`; the Entra account is optional. */
export interface StreamingContext extends RunContext {
  rest: SplunkRest;
  session?: AccountSession;
}

export interface PollSummary {
  emitted: number;
  pages: number;
  skipped_duplicates: number;
  repaged: number;
  high_water_mark: string;
  [extra: string]: string | number;
}
