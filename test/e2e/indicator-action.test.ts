/**
 * End to end: defender_submit_indicator's built bundle through its launcher, as sendmodalert runs
 * it, against the simulator's /api/indicators (upsert, the per-tenant cap).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { actionPayload, runActionProcess, writeResultsFile } from '../../tools/harness.js';
import { useStandIns } from '../helpers/standIns.js';

const ACTION = 'defender_submit_indicator';
const s = useStandIns({ built: `${ACTION}.sh` });
let home: string;

function reset(grant = true): void {
  s.graph.mde.devices.indicators.clear();
  s.graph.mde.devices.indicatorCap = 15_000;
  s.graph.mde.resetBudget();
  s.graph.requests.length = 0;
  if (grant) s.graph.grantRole(s.clientId, 'Ti.ReadWrite');
  else s.graph.revokeRole(s.clientId, 'Ti.ReadWrite');
  home = mkdtempSync(path.join(s.workDir, 'splunk-'));
  mkdirSync(path.join(home, 'var', 'log', 'splunk'), { recursive: true });
}

async function run(configuration: Record<string, string>, rows: Record<string, string | string[]>[]) {
  const file = writeResultsFile(s.workDir, rows);
  const r = await runActionProcess(ACTION, actionPayload(s, ACTION, { account: 'prod', requests_per_minute: '100', indicator_action: 'Block', title: 'Seen in notable', description: 'Submitted from Splunk ES', ...configuration }, file), { env: { SPLUNK_HOME: home } });
  assert.ok(!r.stderr.includes(s.clientSecret) && !r.stderr.includes(s.sessionKey), 'a secret leaked');
  return r;
}
const posts = () => s.graph.requests.filter((r) => r.method === 'POST' && r.path === '/api/indicators');

describe('defender_submit_indicator', () => {
  test('hash, IP, domain and URL by shape; expiry and title; a repeat updates the same indicators', async () => {
    reset();
    const rows = [
      { indicator: 'A94A8FE5CCB19BA61C4C0873D391E987982FBBD3' },
      { indicator: ['198.51.100.23', 'evil.example.com'] },
      { indicator: 'https://evil.example.com/payload.exe' },
      { indicator: '198.51.100.23' },
    ];
    const first = await run({ indicator_action: 'Block', expiration_days: '7' }, rows);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(posts().length, 4, 'the repeated IP is submitted once');
    const stored = [...s.graph.mde.devices.indicators.values()];
    assert.deepEqual(stored.map((i) => i.indicatorType).sort(), ['DomainName', 'FileSha1', 'IpAddress', 'Url']);
    assert.ok(stored.every((i) => i.action === 'Block' && i.title === 'Seen in notable' && i.description === 'Submitted from Splunk ES'));
    const expires = Date.parse(stored[0]!.expirationTime!);
    assert.ok(Math.abs(expires - (Date.now() + 7 * 86_400_000)) < 120_000, 'expires in 7 days');
    assert.equal(stored.find((i) => i.indicatorType === 'FileSha1')!.indicatorValue, 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3');
    assert.match(first.stderr, /INFO defender_submit_indicator finished: 4 submitted, 0 not submitted/);
    const audit = readFileSync(path.join(home, 'var', 'log', 'splunk', `${ACTION}_modalert.log`), 'utf8').trimEnd().split('\n');
    assert.equal(audit.length, 5, 'one audit line per result and value');
    const again = await run({ indicator_action: 'Audit' }, rows);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(s.graph.mde.devices.indicators.size, 4, 'upserted, not duplicated');
    assert.ok([...s.graph.mde.devices.indicators.values()].every((i) => i.action === 'Audit' && i.generateAlert), 'Audit raises alerts');
  });

  test('refused before any call: private and reserved IPs, ranges, a value that is not the chosen hash, unknown action', async () => {
    reset();
    const r = await run({ indicator_type: 'FileSha1' }, [{ indicator: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Indicator refused: "e3b0c4.*" is not a SHA-1 \(40 hex digits\)/);
    const ips = await run({}, [{ indicator: ['10.1.2.3', '192.168.0.0/16', '127.0.0.1', 'fe80::1', '203.0.113.9'] }]);
    assert.equal(ips.code, 1);
    assert.match(ips.stderr, /10\.1\.2\.3 is a private, loopback, link-local or reserved address/);
    assert.match(ips.stderr, /"192\.168\.0\.0\/16" is a range \(CIDR\)/);
    assert.match(ips.stderr, /127\.0\.0\.1 is a private/);
    assert.match(ips.stderr, /fe80::1 is a private/);
    assert.equal(posts().length, 1, 'only the public address');
    s.graph.requests.length = 0;
    const bad = await run({ indicator_action: 'Quarantine' }, [{ indicator: '203.0.113.9' }]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /indicator_action: "Quarantine" is not one of Allowed, Audit, Warn, Block, BlockAndRemediate.*nothing was sent to Defender|nothing was sent to Defender.*indicator_action: "Quarantine"/);
    assert.equal(s.graph.requests.filter((x) => x.path.startsWith('/api/')).length, 0);
  });

  test('the tenant cap and a missing permission are reported per indicator and by name', async () => {
    reset();
    s.graph.mde.devices.indicatorCap = 1;
    const capped = await run({}, [{ indicator: '203.0.113.1' }, { indicator: '203.0.113.2' }]);
    assert.equal(capped.code, 1);
    assert.match(capped.stderr, /ERROR Indicator invalid: Defender refused the indicator: The maximum number of indicators \(1\)/);
    reset(false);
    const forbidden = await run({}, [{ indicator: '203.0.113.1' }, { indicator: '203.0.113.2' }]);
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /ERROR Indicator forbidden: .*Grant the application permission Ti\.ReadWrite \(or Ti\.ReadWrite\.All\)/);
    assert.equal(posts().length, 1, 'stops after the first refusal');
  });

  test('a Retry-After longer than the run can wait: not waited for, the rest not sent, each reported throttled; a later run submits each once', async () => {
    reset();
    s.graph.faults.push({ match: /^\/api\/indicators/, fault: { kind: 'status', status: 429, retryAfter: '900' }, times: 1 });
    const rows = [{ indicator: '203.0.113.1' }, { indicator: '203.0.113.2' }, { indicator: 'evil.example.com' }];
    const r = await run({}, rows);
    s.graph.faults = [];
    assert.equal(r.code, 1);
    assert.equal(posts().length, 1, 'one refused POST, no retry, nothing after it');
    assert.match(r.stderr, /WARN Indicator throttled: still throttled after retries \(Defender asked to wait 900 s\)/);
    assert.equal(r.stderr.match(/WARN Indicator throttled: not sent: Defender throttled the app until \S+, past this run's time budget/g)?.length, 2, r.stderr);
    assert.ok(Number(/ finished: .*duration_ms=(\d+)/.exec(r.stderr)?.[1] ?? Infinity) < 60_000, 'the 900 s were not waited for, nor the 60 s retry cap');
    const again = await run({}, rows);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(s.graph.mde.devices.indicators.size, 3, 'each indicator once');
  });
});
