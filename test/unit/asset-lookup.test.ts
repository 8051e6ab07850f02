/**
 * The ES asset lookup: the shipped saved search that fills defender_xdr_assets, run by the SPL
 * model (test/helpers/splRun.ts) over device events whose fields come from the shipped search-time
 * knowledge (props.conf), as Splunk would run it each hour.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConf } from '../../tools/conf.js';
import { evaluate, loadApp } from '../helpers/searchtime/index.js';
import { expandMacros } from '../helpers/spl.js';
import { runSpl, type Row } from '../helpers/splRun.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const conf = (file: string) => parseConf(readFileSync(path.join(ROOT, 'default', file), 'utf8'));
const SEARCH_NAME = 'Defender XDR - Asset lookup from Defender for Endpoint devices';
const SOURCETYPE = 'ms:defender:endpoint:machine';
const NOW_S = Date.parse('2026-12-02T12:00:00Z') / 1000;
const app = loadApp(ROOT);

function machine(id: string, name: string | null, extra: Record<string, unknown> = {}) {
  return {
    id,
    computerDnsName: name,
    lastSeen: '2026-12-02T08:15:30.1234567Z',
    osPlatform: 'Windows11',
    version: '23H2',
    lastExternalIpAddress: '203.0.113.7',
    healthStatus: 'Active',
    deviceValue: 'Normal',
    rbacGroupName: 'Workstations',
    riskScore: 'Low',
    exposureLevel: 'Medium',
    machineTags: [],
    ipAddresses: [
      { ipAddress: '10.0.0.5', macAddress: '8CEC4B897E73', type: 'Ethernet', operationalStatus: 'Up' },
      { ipAddress: '127.0.0.1', macAddress: null, type: 'SoftwareLoopback', operationalStatus: 'Up' },
    ],
    ...extra,
  };
}

/** An event as the input writes it, with the fields Splunk extracts from it at search time. */
function row(device: object, pollTimeS: number): Row {
  const fields = evaluate(app, { sourcetype: SOURCETYPE, source: 'defender_endpoint_machines://inv', raw: JSON.stringify(device) }).fields;
  const out: Row = { _time: pollTimeS, sourcetype: SOURCETYPE };
  for (const [k, v] of fields) if (k !== '_raw') out[k] = v.length === 1 ? v[0]! : v;
  return out;
}

function runAssetSearch(rows: Row[]): Row[] {
  const saved = conf('savedsearches.conf').get(SEARCH_NAME);
  assert.ok(saved, 'the saved search is shipped');
  assert.equal(saved.get('enableSched'), '1');
  const spl = expandMacros(saved.get('search')!, conf('macros.conf')).text;
  const lookups: Record<string, Row[]> = {};
  runSpl(spl, [...rows].sort((a, b) => Number(b._time) - Number(a._time)), { nowS: NOW_S, lookups });
  assert.ok(lookups.defender_xdr_assets, 'the search writes defender_xdr_assets');
  return lookups.defender_xdr_assets;
}

test('one asset row per device from its latest poll, with ES asset fields, priority from value and role', () => {
  const hour = 3600;
  const rows = [
    // The same workstation polled twice: its address changed; the latest poll wins.
    row(machine('a1', 'ws0001.contoso.com', { ipAddresses: [{ ipAddress: '10.0.0.4', macAddress: '8CEC4B897E73', type: 'Ethernet' }] }), NOW_S - 2 * hour),
    row(machine('a1', 'ws0001.contoso.com'), NOW_S - hour),
    row(machine('dc', 'dc01.contoso.com', { osPlatform: 'WindowsServer2022', deviceValue: 'High', machineTags: ['DomainController', 'Tier0'], rbacGroupName: 'Servers' }), NOW_S - hour),
    row(machine('hv', 'cfo-laptop.contoso.com', { deviceValue: 'High' }), NOW_S - hour),
    row(machine('sv', 'srv0100.contoso.com', { osPlatform: 'WindowsServer2019', rbacGroupName: 'Servers' }), NOW_S - hour),
    row(machine('lo', 'kiosk7.contoso.com', { deviceValue: 'Low', healthStatus: 'Inactive' }), NOW_S - hour),
  ];
  const assets = runAssetSearch(rows);
  const byKey = new Map(assets.map((a) => [a._key, a]));
  assert.deepEqual([...byKey.keys()].sort(), ['a1', 'dc', 'hv', 'lo', 'sv']);
  const ws = byKey.get('a1')!;
  assert.equal(ws.ip, '10.0.0.5', 'latest poll; loopback left out');
  assert.equal(ws.mac, '8c:ec:4b:89:7e:73');
  assert.equal(ws.dns, 'ws0001.contoso.com');
  assert.equal(ws.nt_host, 'ws0001');
  assert.equal(ws.priority, 'medium');
  assert.equal(ws.bunit, 'Workstations');
  assert.equal(ws.category, 'os: Windows11|device_value: Normal|exposure: Medium|risk: Low');
  assert.equal(ws.is_expected, 'true');
  assert.equal(ws.last_seen, Date.parse('2026-12-02T08:15:30Z') / 1000);
  const dc = byKey.get('dc')!;
  assert.equal(dc.priority, 'critical');
  assert.equal(dc.category, 'os: WindowsServer2022|device_value: High|exposure: Medium|risk: Low|tag: DomainController|tag: Tier0');
  assert.equal(byKey.get('hv')!.priority, 'high');
  assert.equal(byKey.get('sv')!.priority, 'high');
  assert.equal(byKey.get('lo')!.priority, 'low');
  assert.equal(byKey.get('lo')!.is_expected, 'false');
  // Exactly the columns ES's asset framework reads, plus the id and when Defender last saw it.
  assert.deepEqual(Object.keys(ws), ['_key', 'dest_id', 'ip', 'mac', 'nt_host', 'dns', 'owner', 'priority', 'bunit', 'category', 'is_expected', 'requires_av', 'should_update', 'os', 'last_seen', 'lat', 'long', 'city', 'country']);
});

test('owner: the one the input found for the device (its latest poll), else empty', () => {
  const rows = [
    row(machine('o1', 'o1.contoso.com', { owner: 'contoso\\alice' }), NOW_S - 7200),
    row(machine('o1', 'o1.contoso.com', { owner: 'contoso\\bob' }), NOW_S - 600),
    row(machine('o2', 'o2.contoso.com'), NOW_S - 600),
  ];
  const byKey = new Map(runAssetSearch(rows).map((a) => [a._key, a]));
  assert.equal(byKey.get('o1')!.owner, 'contoso\\bob');
  assert.equal(byKey.get('o2')!.owner, null);
});

test('geo fields from iplocation on the external address: located, country only, unknown and internal addresses left empty', () => {
  const rows = [
    row(machine('sea', 'sea.contoso.com', { lastExternalIpAddress: '203.0.113.7' }), NOW_S - 600),
    row(machine('de', 'de.contoso.com', { lastExternalIpAddress: '203.0.113.200' }), NOW_S - 600),
    row(machine('unk', 'unk.contoso.com', { lastExternalIpAddress: '198.51.100.9' }), NOW_S - 600),
    row(machine('lan', 'lan.contoso.com', { lastExternalIpAddress: '10.1.2.3' }), NOW_S - 600),
    row(machine('none', 'none.contoso.com', { lastExternalIpAddress: null }), NOW_S - 600),
  ];
  const byKey = new Map(runAssetSearch(rows).map((a) => [a._key, a]));
  const geo = (key: string) => { const a = byKey.get(key)!; return [a.lat, a.long, a.city, a.country]; };
  assert.deepEqual(geo('sea'), ['47.6062', '-122.3321', 'Seattle', 'United States']);
  assert.deepEqual(geo('de'), ['51.2993', '9.491', null, 'Germany'], 'an empty City is no city');
  for (const key of ['unk', 'lan', 'none']) assert.deepEqual(geo(key), [null, null, null, null], key);
  assert.ok(!Object.keys(byKey.get('sea')!).some((k) => k.startsWith('geo_')), 'the working fields are not in the lookup');
});

test('stale devices age out: not listed in the retention window, or not seen by Defender for 30 days', () => {
  const rows = [
    row(machine('fresh', 'fresh.contoso.com'), NOW_S - 600),
    // Last listed by Defender 3 days ago (offboarded or deleted since): outside earliest=-2d.
    row(machine('gone', 'gone.contoso.com'), NOW_S - 3 * 86_400),
    // Still listed, but Defender last saw it 40 days ago.
    row(machine('old', 'old.contoso.com', { lastSeen: '2026-10-23T10:00:00Z' }), NOW_S - 600),
  ];
  assert.deepEqual(runAssetSearch(rows).map((a) => a._key), ['fresh']);
});

test('the lookup is a KV store lookup over the shipped collection, registered for ES', () => {
  const lookup = conf('transforms.conf').get('defender_xdr_assets')!;
  assert.equal(lookup.get('external_type'), 'kvstore');
  const collection = conf('collections.conf').get(lookup.get('collection')!);
  assert.ok(collection, 'collections.conf has the collection');
  const listed = lookup.get('fields_list')!.split(/\s*,\s*/);
  for (const field of ['ip', 'mac', 'nt_host', 'dns', 'owner', 'priority', 'bunit', 'category', 'is_expected', 'requires_av', 'should_update']) {
    assert.ok(listed.includes(field), `fields_list has ${field}`);
    assert.ok(collection.has(`field.${field}`), `collection declares ${field}`);
  }
  const registration = conf('inputs.conf').get('identity_manager://defender_xdr_assets')!;
  assert.equal(registration.get('target'), 'asset');
  assert.equal(registration.get('url'), 'lookup://defender_xdr_assets');
});
