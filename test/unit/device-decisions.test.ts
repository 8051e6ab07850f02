/**
 * The rules that make the response actions safe to repeat, and the indicator checks made before
 * any call, without a process or a simulator.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide } from '../../src/actions/device/run.js';
import { parseDeviceRequest } from '../../src/actions/device/request.js';
import { classify } from '../../src/actions/indicator/request.js';
import type { MachineAction } from '../../src/microsoft/mdeDevices.js';

const request = (action: string) => parseDeviceRequest({ account: 'prod', action, comment: 'c' });
let n = 0;
const act = (type: string, status: string, minutesAgo: number): MachineAction => ({
  id: `a${++n}`, type, status, machineId: 'm', creationDateTimeUtc: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
});

test('isolate: sent when never isolated or released since; not while one is pending; not again after it succeeded', () => {
  assert.deepEqual(decide(request('isolate'), []), { send: true });
  assert.deepEqual(decide(request('isolate'), [act('Unisolate', 'Succeeded', 1), act('Isolate', 'Succeeded', 10)]), { send: true });
  assert.equal((decide(request('isolate'), [act('Isolate', 'Pending', 1)]) as { outcome: string }).outcome, 'already_pending');
  assert.equal((decide(request('isolate'), [act('Isolate', 'InProgress', 1)]) as { outcome: string }).outcome, 'already_pending');
  assert.equal((decide(request('isolate'), [act('Isolate', 'Succeeded', 1), act('Unisolate', 'Succeeded', 5)]) as { outcome: string }).outcome, 'already_done');
  // A failed or cancelled isolation is tried again.
  assert.deepEqual(decide(request('isolate'), [act('Isolate', 'Failed', 1)]), { send: true });
  assert.deepEqual(decide(request('isolate'), [act('Isolate', 'Cancelled', 1)]), { send: true });
});

test('release: held back while an isolation is pending, so the two cannot complete out of order', () => {
  assert.equal((decide(request('release'), [act('Isolate', 'Pending', 1)]) as { outcome: string }).outcome, 'conflict');
  assert.deepEqual(decide(request('release'), [act('Isolate', 'Succeeded', 1)]), { send: true });
  assert.equal((decide(request('release'), [act('Unisolate', 'Succeeded', 1), act('Isolate', 'Succeeded', 9)]) as { outcome: string }).outcome, 'already_done');
});

test('one-shot actions: only a pending or running one of the same kind stops a new one', () => {
  assert.deepEqual(decide(request('av_scan'), [act('RunAntiVirusScan', 'Succeeded', 1)]), { send: true });
  assert.equal((decide(request('av_scan'), [act('RunAntiVirusScan', 'InProgress', 1)]) as { outcome: string }).outcome, 'already_pending');
  assert.deepEqual(decide(request('collect_package'), [act('RunAntiVirusScan', 'Pending', 1)]), { send: true });
});

test('indicators: types by shape; private, reserved and ranged addresses refused', () => {
  assert.deepEqual(classify('8.8.8.8', 'auto'), { type: 'IpAddress', value: '8.8.8.8' });
  assert.deepEqual(classify('2001:4860:4860::8888', 'auto'), { type: 'IpAddress', value: '2001:4860:4860::8888' });
  assert.deepEqual(classify('Evil.Example.com', 'auto'), { type: 'DomainName', value: 'evil.example.com' });
  assert.equal((classify('D41D8CD98F00B204E9800998ECF8427E', 'auto') as { type: string }).type, 'FileMd5');
  assert.equal((classify('https://x.example/a?b=1', 'auto') as { type: string }).type, 'Url');
  for (const address of ['10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '127.0.0.1', '169.254.1.1', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', 'fd00::1', 'fe80::1']) {
    assert.ok('problem' in classify(address, 'auto'), address);
  }
  assert.ok(!('problem' in classify('172.32.0.1', 'auto')), 'just outside 172.16.0.0/12');
  assert.match((classify('10.0.0.0/8', 'IpAddress') as { problem: string }).problem, /range \(CIDR\)/);
  assert.match((classify('ftp://x.example/', 'Url') as { problem: string }).problem, /not an http\(s\) URL/);
});
