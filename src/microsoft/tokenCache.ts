import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../splunk/log.js';

/**
 * Access tokens kept between polls (issue 19): each poll is a new process, and a quiet poll spent
 * most of its own work loading msal-node and asking Entra ID for a token it had asked for a minute
 * before. One file per account and resource under `$SPLUNK_HOME/var/run/TA-defender-xdr/tokens/`
 * (folder 0700, files 0600, written whole through a temporary file and a rename), encrypted with
 * AES-256-GCM under a key derived (HKDF-SHA256) from the account's secret, with the tenant, client,
 * login URL and resource as HKDF info and GCM associated data: a token is never on disk in clear,
 * whoever can read the file can already get a token with the secret, and a changed secret makes the
 * entry unreadable, which is a miss. Any failure is a miss: the caller fetches a fresh token.
 */
export interface CachedToken {
  token: string;
  /** Epoch ms. */
  expiresOnMs: number;
  /**
   * How far this host's clock ran ahead of Entra's when the token was fetched (ms, from the token
   * response's Date header): a poll served from the cache makes no request to learn it before it
   * closes its window (src/sources/windowedPoll.ts).
   */
  skewMs?: number;
}

export interface TokenCacheIdentity {
  /** The account stanza: two accounts of one app keep separate entries. */
  account: string;
  tenantId: string;
  clientId: string;
  loginUrl: string;
  /** Client secret, or the certificate's PEM with its private key: the key material. */
  secret: string;
}

/** A token is used from the cache only with more than this left (msal refreshes within 5 minutes of expiry too). */
export const MIN_REMAINING_MS = 5 * 60_000;
const MAGIC = Buffer.from('TDXT1');
const SALT = 16;
const IV = 12;
const TAG = 16;
/** Far more than any token: a larger file is not ours. */
const MAX_FILE = 64 * 1024;

/** The folder, per Splunk installation (never a shared /tmp): none without SPLUNK_HOME. */
export function tokenCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const home = env.SPLUNK_HOME?.trim();
  return home ? path.join(home, 'var', 'run', 'TA-defender-xdr', 'tokens') : undefined;
}

export class TokenCache {
  private ready: boolean | undefined;

  constructor(
    private readonly dir: string,
    private readonly identity: TokenCacheIdentity,
    private readonly logger?: Logger,
  ) {}

  /** The token for `resource`, if one is kept with more than MIN_REMAINING_MS left; undefined otherwise. */
  read(resource: string, nowMs = Date.now()): CachedToken | undefined {
    if (!this.usable()) return undefined;
    const file = this.fileFor(resource);
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.miss('unreadable', code);
      return undefined;
    }
    try {
      const entry = this.open(resource, data);
      if (entry.expiresOnMs - nowMs <= MIN_REMAINING_MS) return this.miss('expiring');
      return entry;
    } catch (error) {
      // Another secret, another identity, a cut or edited file: all the same to the caller.
      return this.miss('undecryptable', (error as Error).name);
    }
  }

  write(resource: string, entry: CachedToken): void {
    if (!this.usable()) return;
    const file = this.fileFor(resource);
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(temporary, this.seal(resource, entry), { mode: 0o600, flag: 'wx' });
      renameSync(temporary, file);
    } catch (error) {
      this.logger?.debug('Token cache: not written', { reason: (error as NodeJS.ErrnoException).code ?? (error as Error).name });
      try {
        unlinkSync(temporary);
      } catch {
        // never created
      }
    }
  }

  /** Forgets the entry (an API rejected its token). */
  drop(resource: string): void {
    try {
      unlinkSync(this.fileFor(resource));
    } catch {
      // none kept
    }
  }

  private miss(reason: string, detail?: string): undefined {
    this.logger?.debug('Token cache: fetching a fresh token', { reason, detail });
    return undefined;
  }

  /** Named by a hash of who and what for: the folder's listing tells nothing about the accounts. */
  private fileFor(resource: string): string {
    const name = createHash('sha256').update(this.context(resource)).digest('hex').slice(0, 40);
    return path.join(this.dir, `${name}.token`);
  }

  private context(resource: string): string {
    const { account, tenantId, clientId, loginUrl } = this.identity;
    return ['TA-defender-xdr token cache v1', account, tenantId.toLowerCase(), clientId.toLowerCase(), loginUrl, resource].join('\n');
  }

  private key(resource: string, salt: Buffer): Buffer {
    return Buffer.from(hkdfSync('sha256', this.identity.secret, salt, this.context(resource), 32));
  }

  /** MAGIC | salt | iv | tag | AES-256-GCM(JSON). */
  private seal(resource: string, entry: CachedToken): Buffer {
    const salt = randomBytes(SALT);
    const iv = randomBytes(IV);
    const cipher = createCipheriv('aes-256-gcm', this.key(resource, salt), iv);
    cipher.setAAD(Buffer.from(this.context(resource)));
    const body = Buffer.concat([cipher.update(JSON.stringify(entry), 'utf8'), cipher.final()]);
    return Buffer.concat([MAGIC, salt, iv, cipher.getAuthTag(), body]);
  }

  private open(resource: string, data: Buffer): CachedToken {
    const head = MAGIC.length + SALT + IV + TAG;
    if (data.length <= head || data.length > MAX_FILE || !data.subarray(0, MAGIC.length).equals(MAGIC)) throw new TypeError('not a token cache file');
    let at = MAGIC.length;
    const salt = data.subarray(at, (at += SALT));
    const iv = data.subarray(at, (at += IV));
    const tag = data.subarray(at, (at += TAG));
    const decipher = createDecipheriv('aes-256-gcm', this.key(resource, salt), iv);
    decipher.setAAD(Buffer.from(this.context(resource)));
    decipher.setAuthTag(tag);
    const entry = JSON.parse(Buffer.concat([decipher.update(data.subarray(at)), decipher.final()]).toString('utf8')) as Partial<CachedToken>;
    if (typeof entry.token !== 'string' || !entry.token || typeof entry.expiresOnMs !== 'number' || !Number.isFinite(entry.expiresOnMs)) throw new TypeError('malformed entry');
    return { token: entry.token, expiresOnMs: entry.expiresOnMs, skewMs: typeof entry.skewMs === 'number' && Number.isFinite(entry.skewMs) ? entry.skewMs : undefined };
  }

  /**
   * The folder exists, is a folder (not a link) and, where modes mean something, is this user's
   * and closed to others (tightened if it is ours). Checked once per process.
   */
  private usable(): boolean {
    if (this.ready !== undefined) return this.ready;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const st = lstatSync(this.dir);
      if (!st.isDirectory()) throw new Error('not a folder');
      if (process.platform !== 'win32') {
        if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new Error('owned by another user');
        // Made by hand or by an older umask: ours, so closed.
        if ((st.mode & 0o077) !== 0) chmodSync(this.dir, 0o700);
      }
      this.ready = true;
    } catch (error) {
      this.logger?.debug('Token cache: folder not usable, tokens are not kept', { reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message });
      this.ready = false;
    }
    return this.ready;
  }
}
