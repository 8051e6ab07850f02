/**
 * TEST TOOL — the stand-ins of an e2e file (Graph/Defender simulator + splunkd stand-in, from
 * tools/harness.ts) started once before its tests and stopped after them, with accounts
 * provisioned: the set-up most e2e files repeated word for word.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { APP_DIR, provisionAccount, startStandIns, type StandIns } from '../../tools/harness.js';

export interface StandInsOptions {
  /** A file under the built app's bin/ the tests run (e.g. `${SCHEME}.js`): missing, the file fails with the hint to build. */
  built?: string;
  /** Accounts provisioned with provisionAccount's defaults (the simulator's app and secret). */
  accounts?: string[];
  /**
   * More set-up on the started stand-ins, in the same hook: Node 20 runs a file's top-level before
   * hooks concurrently, so a second before() could not count on them being started.
   */
  setUp?: (s: StandIns) => void | Promise<void>;
}

/**
 * Registers the node:test before/after hooks (call at the top level of the test file) and returns
 * a view of the stand-ins that reads through to the ones the before hook started, so test bodies
 * keep writing `s.graph…`. Used before the hook ran or after the stop, it throws rather than hand
 * out undefined.
 */
export function useStandIns(options: StandInsOptions = {}): StandIns {
  const { built, accounts = ['prod'], setUp } = options;
  let current: StandIns | undefined;
  before(async () => {
    if (built) assert.ok(existsSync(path.join(APP_DIR, 'bin', built)), 'run npm run build first (npm test does)');
    current = await startStandIns();
    for (const name of accounts) provisionAccount(current, name);
    await setUp?.(current);
  });
  after(async () => {
    const started = current;
    current = undefined;
    await started?.stop();
  });
  return new Proxy({} as StandIns, {
    get(_, key) {
      if (!current) throw new Error(`stand-ins used outside their before/after hooks (reading ${String(key)})`);
      return Reflect.get(current, key);
    },
  });
}
