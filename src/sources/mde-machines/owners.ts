import { HttpError } from '../../http/errors.js';
import { PermissionError, type GraphClient, type GraphList } from '../../microsoft/graph.js';
import { errorMessage, type Machine } from '../../microsoft/mdeDevices.js';
import type { Logger } from '../../splunk/log.js';

/** A user of GET /api/machines/{id}/logonusers (Microsoft's User entity). */
export interface LogonUser {
  id?: string;
  accountName?: string;
  accountDomain?: string;
  lastSeen?: string;
  isOnlyNetworkUser?: boolean;
}

/** Per device: its `lastSeen` when its logon users were last read, and the owner found then. */
export interface OwnerEntry {
  seen: string | null;
  owner?: string;
  /** When the logon users were read (ISO). */
  at: string;
}

export interface OwnerCheckpoint {
  owners: Record<string, OwnerEntry>;
}

export const isOwnerCheckpoint = (v: unknown): v is OwnerCheckpoint =>
  typeof v === 'object' && v !== null && typeof (v as OwnerCheckpoint).owners === 'object' && (v as OwnerCheckpoint).owners !== null && !Array.isArray((v as OwnerCheckpoint).owners);

/**
 * The device's owner: the most recent interactive logon user (network-only logons, such as a
 * file share access, are not owners unless nobody else logged on), as `domain\account`.
 */
export function ownerOf(users: LogonUser[]): string | undefined {
  const named = users.filter((u) => u.id || u.accountName);
  const interactive = named.filter((u) => u.isOnlyNetworkUser !== true);
  const pool = interactive.length ? interactive : named;
  const latest = [...pool].sort((a, b) => (Date.parse(b.lastSeen ?? '') || 0) - (Date.parse(a.lastSeen ?? '') || 0))[0];
  if (!latest) return undefined;
  return latest.id ?? (latest.accountDomain ? `${latest.accountDomain}\\${latest.accountName}` : latest.accountName);
}

/**
 * Reads the logon users of devices that are new or changed (a new `lastSeen`: a new full device
 * report) since they were last read, at most `cap` per poll, through the input's Defender for
 * Endpoint client (the app's shared 100/min, 1,500/h budget paces them). The others keep the owner
 * found earlier; a device over the cap stays "changed" and is read at a later poll, new devices and
 * those read longest ago first within each page.
 */
export class OwnerTracker {
  readonly stats = { owner_lookups: 0, owner_lookup_failures: 0, owners_known: 0 };
  private readonly next: Record<string, OwnerEntry> = {};
  private stopped = false;

  constructor(
    private readonly previous: OwnerCheckpoint | undefined,
    private readonly cap: number,
    private readonly client: GraphClient,
    private readonly logger: Logger,
    private readonly nowIso: string,
  ) {}

  /** The owner of each device of a page (read now or carried), by machine id. */
  async ownersFor(page: Machine[]): Promise<Map<string, string>> {
    const before = this.previous?.owners ?? {};
    const changed = page.filter((m) => before[m.id]?.seen !== (m.lastSeen ?? null));
    const order = (m: Machine) => before[m.id]?.at ?? '';
    changed.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    const read = new Set<string>();
    for (const m of changed) {
      if (this.stopped || this.stats.owner_lookups >= this.cap) break;
      this.stats.owner_lookups++;
      try {
        const users = await this.client.get<GraphList<LogonUser>>(this.client.url(`/api/machines/${encodeURIComponent(m.id)}/logonusers`));
        this.next[m.id] = { seen: m.lastSeen ?? null, owner: ownerOf(users.value ?? []), at: this.nowIso };
        read.add(m.id);
      } catch (error) {
        this.stats.owner_lookup_failures++;
        if (error instanceof PermissionError) {
          // Every further call would be refused the same way; the inventory itself is unaffected.
          this.stopped = true;
          this.logger.warn(`Device owners not read: ${error.message}`, { permission: 'User.Read.All' });
        } else if (error instanceof HttpError && error.status === 404) {
          this.next[m.id] = { seen: m.lastSeen ?? null, at: this.nowIso };
          read.add(m.id);
        } else {
          this.logger.warn('Cannot read the logon users of a device; its last known owner is kept and it is read again at the next poll', { machine_id: m.id, error: errorMessage(error) });
        }
      }
    }
    const owners = new Map<string, string>();
    for (const m of page) {
      if (!read.has(m.id) && before[m.id]) this.next[m.id] = before[m.id]!;
      const owner = this.next[m.id]?.owner;
      if (owner) owners.set(m.id, owner);
    }
    this.stats.owners_known += owners.size;
    return owners;
  }

  /** What the checkpoint keeps: the devices of this snapshot only (the others have left the inventory). */
  state(): OwnerCheckpoint {
    return { owners: this.next };
  }
}
