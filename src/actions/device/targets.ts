import { HttpError } from '../../http/errors.js';
import { RateBudgetExhaustedError } from '../../http/rateLimiter.js';
import { serverRequestedWaitMs } from '../../http/retry.js';
import type { GraphClient } from '../../microsoft/graph.js';
import { errorCode, errorMessage, type MachineAction } from '../../microsoft/mdeDevices.js';
import type { Logger } from '../../splunk/log.js';
import type { RateLimiter } from '../rateLimiter.js';
import type { ResultLink } from '../mde/modAction.js';
import type { DeviceRequest } from './request.js';

/** What became of one device (or, for action=cancel, one machine action) of the results. */
export type DeviceOutcome =
  | 'succeeded' | 'pending' | 'already_pending' | 'already_done' | 'conflict' | 'ended'
  | 'not_found' | 'ambiguous' | 'invalid' | 'forbidden' | 'throttled' | 'failed' | 'skipped' | 'skipped_cap';

/** Outcomes in which the device ends (or will end) as asked, without a duplicate request. */
export const OK_OUTCOMES: readonly DeviceOutcome[] = ['succeeded', 'pending', 'already_pending', 'already_done', 'skipped_cap'];
export const LEVEL: Record<DeviceOutcome, 'info' | 'warn' | 'error'> = {
  succeeded: 'info', pending: 'info', already_pending: 'info', already_done: 'info', conflict: 'warn', ended: 'warn', not_found: 'warn', ambiguous: 'warn',
  invalid: 'error', forbidden: 'error', throttled: 'warn', failed: 'error', skipped: 'warn', skipped_cap: 'warn',
};

/**
 * One device the results name (a value of the device field, with the SHA-1 for quarantine), or for
 * action=cancel one machine action id, and the results that named it.
 */
export interface Target {
  value: string;
  sha1?: string;
  links: ResultLink[];
  outcome?: DeviceOutcome;
  message?: string;
  machineId?: string;
  machineName?: string;
  action?: MachineAction;
}

export interface RunContext {
  request: DeviceRequest;
  reader: GraphClient;
  writer: GraphClient;
  pace: RateLimiter;
  deadlineMs: number;
  logger: Logger;
  /** Epoch ms before which Defender asked the app not to call again (a 429's Retry-After). */
  throttledUntilMs?: number;
}

/**
 * When Defender asked the app to wait past this run's time budget, nothing more is sent: this
 * target and the rest are reported `throttled`, not sent, with when to run the action again.
 * Returns true when it did so.
 */
export function throttledOut(ctx: RunContext, targets: Target[], index: number): boolean {
  const until = ctx.throttledUntilMs;
  if (until === undefined || until <= ctx.deadlineMs) return false;
  const after = new Date(until).toISOString();
  for (const rest of targets.slice(index)) {
    rest.outcome = 'throttled';
    rest.message = `not sent: Defender throttled the app until ${after} (Retry-After), past this run's time budget; run the action again after that`;
  }
  return true;
}

/**
 * Past the run's time budget (splunkd's maxtime is near): the rest are reported `skipped`, naming
 * `what` each one was. Returns true when it did so.
 */
export function outOfTime(ctx: RunContext, targets: Target[], index: number, what: string): boolean {
  if (Date.now() <= ctx.deadlineMs) return false;
  for (const rest of targets.slice(index)) {
    rest.outcome = 'skipped';
    rest.message = `time budget used up before this ${what}; lower max_devices or raise requests_per_minute`;
  }
  return true;
}

/** Every further call would be refused the same way: this target gets the outcome, the rest are skipped. */
export function abort(targets: Target[], index: number, t: Target, message: string, outcome: 'forbidden' | 'failed', step: string): void {
  t.outcome = outcome;
  t.message = `${step}: ${message}`;
  for (const rest of targets.slice(index + 1)) {
    rest.outcome = 'skipped';
    rest.message = `not tried: the run stopped at ${t.value} (${outcome})`;
  }
}

/** The outcome of a call Defender refused or could not answer. */
export function failed(ctx: RunContext, t: Target, step: string, error: unknown): void {
  const code = errorCode(error);
  if (code === 'ActiveRequestAlreadyExists') {
    t.outcome = 'already_pending';
    t.message = `Defender answered that a ${ctx.request.spec.type} action is already in progress on this machine; not sent again`;
    return;
  }
  if (error instanceof HttpError && error.status === 404) {
    t.outcome = 'not_found';
    t.message = `${step}: ${errorMessage(error)}`;
  } else if (error instanceof HttpError && error.status === 400) {
    t.outcome = 'invalid';
    t.message = `Defender refused the ${step}: ${errorMessage(error)}`;
  } else if (error instanceof RateBudgetExhaustedError) {
    // Nothing was sent: the app's own count of its calls says Defender would refuse it.
    ctx.throttledUntilMs = Math.max(ctx.throttledUntilMs ?? 0, error.untilMs);
    t.outcome = 'throttled';
    t.message = `not sent: the app's Defender for Endpoint call budget (100 a minute, 1,500 an hour, shared with the defender_endpoint_alerts input) has no room until ${new Date(error.untilMs).toISOString()}, past this run's time budget; run the action again after that`;
  } else if (error instanceof HttpError && error.status === 429) {
    const wait = serverRequestedWaitMs({ kind: 'response', status: 429, retryAfter: error.headers['retry-after'], bodyText: error.bodyText }, Date.now()) ?? 10_000;
    const until = Date.now() + wait;
    ctx.throttledUntilMs = Math.max(ctx.throttledUntilMs ?? 0, until);
    ctx.pace.pause(Math.min(wait, 60_000));
    t.outcome = 'throttled';
    // A 429 means Defender did not take the request: nothing was created, a later run sends it once.
    t.message = until > ctx.deadlineMs
      ? `not done: Defender throttled the app at the ${step} step and asked to wait ${Math.round(wait / 1000)} s (until ${new Date(until).toISOString()}), past this run's time budget; run the action again after that`
      : `still throttled after retries at the ${step} step; run the action again later`;
  } else {
    t.outcome = 'failed';
    t.message = `${step} failed: ${errorMessage(error)}`;
  }
}
