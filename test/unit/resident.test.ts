/**
 * The resident collector's parts that need no process (docs/resident.md): its schedule, its CPU
 * accounting, the switch --scheme reads from the app's files, a single-instance run's
 * configuration and the shared event stream. test/e2e/resident.test.ts runs the collector.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { INPUTS } from '../../src/inputs/catalog.js';
import { CpuShare, nextPollAt } from '../../src/inputs/residentSchedule.js';
import { residentOnDisk } from '../../src/inputs/residentSwitch.js';
import { EventWriter } from '../../src/splunk/eventWriter.js';
import { parseRunConfig } from '../../src/splunk/modinput.js';
import { schemeXml } from '../../src/splunk/scheme.js';

test('schedule: seconds count from the end of the previous poll, -1 polls once, cron waits for its time', () => {
  const before = Date.now();
  assert.ok(nextPollAt('300', undefined)! >= before, 'a new stanza polls at once');
  assert.equal(nextPollAt('300', 1_000_000), 1_300_000);
  assert.equal(nextPollAt(undefined, 1_000_000), 1_060_000, "splunkd's default interval, 60 s");
  assert.ok(nextPollAt('-1', undefined)! >= before);
  assert.equal(nextPollAt('-1', 1_000_000), undefined, 'run once: never again');
  const end = Date.UTC(2026, 11, 3, 10, 2, 30);
  assert.equal(nextPollAt('*/15 * * * *', end), Date.UTC(2026, 11, 3, 10, 15, 0));
  assert.ok(nextPollAt('0 3 * * *', undefined)! > Date.now() + 1000 || new Date().getUTCHours() === 3, 'a cron stanza does not poll at start-up');
});

test('CPU share: polls running together split what the process used, and the parts add up', () => {
  const share = new CpuShare();
  const a = share.enter();
  const b = share.enter();
  const used = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const spin = (ms: number) => {
    const until = used() + ms;
    while (used() < until);
  };
  spin(40);
  const first = share.leave(a);
  spin(40);
  const second = share.leave(b);
  assert.ok(first >= 15 && first <= 35, `${first} ms: half of the first 40`);
  assert.ok(second >= first + 30, `${second} ms: the other half, and all of the next 40 alone`);
  assert.equal(share.leave(a), 0, 'a poll that left is charged nothing more');
});

test('--scheme asks for single-instance only when the app files say resident, local over default', () => {
  const app = mkdtempSync(path.join(tmpdir(), 'resident-app-'));
  mkdirSync(path.join(app, 'default'));
  mkdirSync(path.join(app, 'local'));
  assert.equal(residentOnDisk(app), false, 'no settings file');
  writeFileSync(path.join(app, 'default', 'defender_xdr_settings.conf'), '[collection]\nresident = 0\nmax_retries = 6\n');
  assert.equal(residentOnDisk(app), false);
  writeFileSync(path.join(app, 'local', 'defender_xdr_settings.conf'), '[proxy]\nresident = 1\n\n[collection]\r\n# resident = 1\nresident=true\n');
  assert.equal(residentOnDisk(app), true);
  writeFileSync(path.join(app, 'local', 'defender_xdr_settings.conf'), '[collection]\nresident = 0\n');
  assert.equal(residentOnDisk(app), false, 'local turns it off again');

  const capable = INPUTS.filter((d) => d.resident).map((d) => d.scheme).sort();
  assert.deepEqual(capable, ['defender_endpoint_alerts', 'defender_endpoint_machines', 'defender_endpoint_vulnerabilities', 'defender_xdr_alerts', 'defender_xdr_hunting', 'defender_xdr_incidents']);
  for (const def of INPUTS) {
    assert.match(schemeXml(def), /<use_single_instance>false<\/use_single_instance>/);
    assert.match(schemeXml(def, true), /<use_single_instance>true<\/use_single_instance>/);
  }
});

test('a single-instance run hands every stanza, each with its own parameters', () => {
  const config = parseRunConfig(`<input><server_host>hf01</server_host><server_uri>https://127.0.0.1:8089</server_uri><session_key>k</session_key><checkpoint_dir>/c</checkpoint_dir>
<configuration><stanza name="defender_xdr_alerts://a" app="TA-defender-xdr"><param name="account">t1</param><param name="interval">60</param></stanza>
<stanza name="defender_xdr_alerts://b b" app="search"><param name="account">t2</param><param name="interval">*/5 * * * *</param></stanza></configuration></input>`);
  assert.deepEqual(
    config.stanzas.map((s) => [s.stanza, s.name, s.params.account, s.params.interval]),
    [
      ['defender_xdr_alerts://a', 'a', 't1', '60'],
      ['defender_xdr_alerts://b b', 'b b', 't2', '*/5 * * * *'],
    ],
  );
  assert.equal(config.sessionKey, 'k');
});

test('stanza writers share one <stream>; nothing is written after it closes', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const root = new EventWriter(out, 's://a');
  const a = root.forStanza('s://a');
  const b = root.forStanza('s://b&c');
  await a.writeEvents([{ timeMs: 1000, data: 'one', sourcetype: 'st' }]);
  await b.writeEvents([{ timeMs: 2000, data: 'two', sourcetype: 'st' }]);
  await root.close();
  await assert.rejects(b.writeEvents([{ timeMs: 3000, data: 'late', sourcetype: 'st' }]), /closed/);
  assert.equal(text.match(/<stream>/g)?.length, 1);
  assert.ok(text.endsWith('</stream>'));
  assert.match(text, /<event stanza="s:\/\/a">.*<data>one<\/data><\/event><event stanza="s:\/\/b&amp;c">.*<data>two<\/data>/);
  assert.doesNotMatch(text, /late/);
});
