import { createHash } from 'node:crypto';
import type { Settings } from '../config/settings.js';
import { buildAccountSession, readAccount, type AccountSession, type AccountSessionOptions } from '../microsoft/accountSession.js';
import type { Logger } from '../splunk/log.js';
import type { SplunkRest } from '../splunk/rest.js';
import type { SessionSource } from './runInput.js';

interface Kept {
  /** A digest of everything the session was built from: the account, its secret, the settings it uses. */
  fingerprint: string;
  session: AccountSession;
  users: number;
  stale: boolean;
}

/**
 * The resident collector's account sessions: an account's HTTP client (its TLS context and
 * kept-alive connections) and its tokens live across polls. Every poll still reads the account and
 * its secret from splunkd, as a per-process poll does, and gets a new session when either, or the
 * settings the session uses, changed; the old one closes once its last poll ends.
 */
export class ResidentSessions implements SessionSource {
  private readonly kept = new Map<string, Kept>();

  constructor(private readonly logger: Logger) {}

  async open(rest: SplunkRest, name: string, settings: Settings, _pollLogger: Logger, options: AccountSessionOptions): Promise<{ session: AccountSession; release: () => Promise<void> }> {
    const { account, secret } = await readAccount(rest, name, options);
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([account, secret, settings.proxy ?? null, settings.requestTimeoutSeconds, settings.maxRetries, options.tokenCache ?? null]))
      .digest('hex');
    const key = `${name}\n${options.tokenCache ? 'kept' : 'none'}`;
    let kept = this.kept.get(key);
    if (kept?.fingerprint !== fingerprint) {
      if (kept) this.retire(key, kept);
      // The session's own lines (HTTP, tokens) name the account, not the stanza: it serves several.
      kept = { fingerprint, session: buildAccountSession(account, secret, settings, this.logger, options), users: 0, stale: false };
      this.kept.set(key, kept);
    }
    const current = kept;
    current.users++;
    return {
      session: current.session,
      release: async () => {
        current.users--;
        if (current.stale && current.users === 0) await current.session.http.close();
      },
    };
  }

  /** Closes every session (the process is stopping); a poll still running keeps its own until it ends. */
  async closeAll(): Promise<void> {
    const kept = [...this.kept.values()];
    this.kept.clear();
    for (const k of kept) k.stale = true;
    await Promise.all(kept.filter((k) => k.users === 0).map((k) => k.session.http.close()));
  }

  private retire(key: string, kept: Kept): void {
    kept.stale = true;
    this.kept.delete(key);
    if (kept.users === 0) void kept.session.http.close();
  }
}
