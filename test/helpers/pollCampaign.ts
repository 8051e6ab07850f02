/**
 * TEST TOOL — what the polling inputs' fault campaigns share (test/faults/campaign.test.ts, one
 * process per poll; test/faults/resident.test.ts, the resident collector): the inputs under test
 * and their API in the simulator, the faults drawn, the churn while pages are read, and the count
 * of what was emitted against what the simulator holds.
 */
import type { Fault } from '../../tools/simulator/graph.js';
import type { StandIns } from '../../tools/harness.js';
import { picker } from './faultSchedule.js';

/** What a campaign needs of one input and its API in the simulator. */
export interface Target {
  scheme: string;
  /** Largest page the input reads: the most a kill can repeat. */
  page: number;
  path: RegExp;
  reset(): void;
  /** Items last updated over the past 6 hours (a backlog), or, `recent`, within the last 30 s (new arrivals). */
  add(n: number, recent?: boolean): { id: string }[];
  update(id: string): void;
  /** `id@version` of an emitted event, and of every item the simulator holds. */
  versionOf(data: Record<string, unknown>): string;
  held(): string[];
  onListPage(hook: (() => void) | undefined): void;
}

const arrival = (recent = false) => (recent ? { at: new Date(), spreadMs: 30_000 } : { at: new Date(Date.now() - 120_000), spreadMs: 6 * 3_600_000 });

/** The schemes of pollTargets, by index (known before the stand-ins start: test names). */
export const POLL_SCHEMES = ['defender_xdr_alerts', 'defender_endpoint_alerts'] as const;

/** The Graph alerts input [0] and the Defender for Endpoint alerts input [1] (windows without $count, client-side rate limit). */
export const pollTargets = (s: StandIns): Target[] => [
  {
    scheme: POLL_SCHEMES[0],
    page: 1000,
    path: /alerts_v2/,
    reset: () => s.graph.alerts.clear(),
    add: (n, recent) => s.graph.addAlerts(n, arrival(recent)),
    update: (id) => void s.graph.updateAlert(id),
    versionOf: (d) => `${d.id}@${d.lastUpdateDateTime}`,
    held: () => [...s.graph.alerts.values()].map((a) => `${a.id}@${a.lastUpdateDateTime}`),
    onListPage: (hook) => (s.graph.onListPage = hook),
  },
  {
    scheme: POLL_SCHEMES[1],
    page: 2000,
    path: /^\/api\/alerts/,
    reset: () => {
      s.graph.mde.alerts.clear();
      s.graph.mde.resetBudget();
    },
    add: (n, recent) => s.graph.mde.addAlerts(n, arrival(recent)),
    update: (id) => void s.graph.mde.updateAlert(id),
    versionOf: (d) => `${d.id}@${d.lastUpdateTime}`,
    held: () => [...s.graph.mde.alerts.values()].map((a) => `${a.id}@${a.lastUpdateTime}`),
    onListPage: (hook) => (s.graph.mde.onListPage = hook),
  },
];

/**
 * Queues 3 to 6 one-shot faults on the target's list and on the token endpoint: throttling (429
 * with Retry-After in seconds, as a date, or in the body), 5xx, resets, truncated bodies, answers
 * slower than a 2 s request_timeout. Returns how many.
 */
export function queueFaults(s: StandIns, target: Target, random: () => number): number {
  const pick = picker(random);
  const kinds: (() => Fault)[] = [
    () => ({ kind: 'status', status: 429, retryAfter: '1' }),
    () => ({ kind: 'status', status: 429, retryAfter: new Date(Date.now() + 1000).toUTCString() }),
    () => ({ kind: 'status', status: 429, retryAfter: '1', bodyRetryText: true }),
    () => ({ kind: 'status', status: pick([500, 502, 503, 504]) }),
    () => ({ kind: 'reset' }),
    () => ({ kind: 'truncate' }),
    () => ({ kind: 'delay', ms: 2500 }), // beyond request_timeout = 2 s
  ];
  let queued = 0;
  // The bound is drawn again at each turn (as the campaign always did: seeds replay the same faults).
  for (let i = 0; i < 3 + Math.floor(random() * 4); i++) {
    s.graph.faults.push({ match: pick([target.path, target.path, /oauth2/]), fault: pick(kinds)(), times: 1 });
    queued++;
  }
  return queued;
}

/** While pages are read, items change (5 at a time) and tokens expire mid-backlog (the next call gets a 401). */
export function churnWhilePaged(s: StandIns, target: Target, items: { id: string }[], random: () => number): void {
  const pick = picker(random);
  target.onListPage(() => {
    if (random() < 0.3) for (let i = 0; i < 5; i++) target.update(pick(items).id);
    if (random() < 0.15) s.graph.expireTokens();
  });
}

/** Versions held but never emitted, and how many emissions were repeats. */
export function coverage(emitted: readonly string[], held: readonly string[]): { missing: string[]; duplicates: number } {
  const seen = new Set(emitted);
  return { missing: held.filter((version) => !seen.has(version)), duplicates: emitted.length - seen.size };
}
