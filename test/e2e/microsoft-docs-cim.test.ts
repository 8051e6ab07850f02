/**
 * Golden tests over Microsoft's own documented example documents (test/fixtures/microsoft-docs,
 * sources in its SOURCES file): the simulator serves each document exactly as written, the built
 * input collects it through its launcher as splunkd runs it, and the event it writes goes through
 * the shipped search-time knowledge (the search-time model of test/helpers/searchtime). Each event
 * must then carry every field that the CIM datasets its tags select require, with an allowed
 * value, unless the absence table of docs/cim-microsoft-examples.md names that document shape,
 * data model and field; every row of that table must still be needed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  APP_DIR, ROOT, parseStream, provisionAccount, runConfigXml, runInputProcess, startStandIns, type StandIns,
} from '../../tools/harness.js';
import { evaluate, loadApp, type SearchTimeApp, type SearchTimeResult } from '../helpers/searchtime/index.js';

const CORPUS = path.join(ROOT, 'test', 'fixtures', 'microsoft-docs');
const DOC_PAGE = path.join(ROOT, 'docs', 'cim-microsoft-examples.md');
const MODELS = path.join(ROOT, 'test', 'helpers', 'cim-models');
/** Before every documented date, so that the first poll's window holds every document. */
const START_DATE = '2020-01-01T00:00:00Z';

type Kind = 'graph-alerts' | 'graph-incidents' | 'mde-alerts';
const KINDS: Record<Kind, { scheme: string; sourcetype: string }> = {
  'graph-alerts': { scheme: 'defender_xdr_alerts', sourcetype: 'ms:defender:alert' },
  'graph-incidents': { scheme: 'defender_xdr_incidents', sourcetype: 'ms:defender:incident' },
  'mde-alerts': { scheme: 'defender_endpoint_alerts', sourcetype: 'ms:defender:endpoint:alert' },
};

interface Entry {
  file: string;
  kind: Kind;
  shape: string;
  document: Record<string, unknown>;
}

interface Collected extends SearchTimeResult {
  data: string;
}

/** The rows of a markdown table (`| a | b |`), header and separator left out. */
function tableRows(lines: string[]): string[][] {
  return lines
    .filter((l) => l.startsWith('| ') && !/^\| -/.test(l))
    .slice(1)
    .map((l) => l.slice(1, -1).split(' | ').map((c) => c.trim()));
}

function readCorpus(): Entry[] {
  const rows = tableRows(readFileSync(path.join(CORPUS, 'SOURCES'), 'utf8').split('\n'));
  return rows.map(([file, shape]) => {
    const kind = file!.split('/')[0] as Kind;
    assert.ok(kind in KINDS, `SOURCES: ${file} is in no known folder`);
    return { file: file!, kind, shape: shape!, document: JSON.parse(readFileSync(path.join(CORPUS, file!), 'utf8')) as Record<string, unknown> };
  });
}

/** `shape|model|field` of every row of the doc page's table of fields that can be absent. */
function readAbsenceTable(): Set<string> {
  const text = readFileSync(DOC_PAGE, 'utf8');
  const start = text.indexOf('\n## Fields that can be absent');
  assert.ok(start >= 0, `${DOC_PAGE} has no "## Fields that can be absent" section`);
  const end = text.indexOf('\n## ', start + 1);
  const rows = tableRows(text.slice(start, end < 0 ? undefined : end).split('\n'));
  assert.ok(rows.length > 0, 'the absence table is empty');
  // A row may name several shapes, models and fields (comma-separated); each combination is one exception.
  const list = (cell: string) => cell.replace(/`/g, '').split(/,\s*/).filter(Boolean);
  const out = new Set<string>();
  for (const [shapes, models, fields] of rows) for (const shape of list(shapes!)) for (const model of list(models!)) for (const name of list(fields!)) out.add(`${shape}|${model}|${name}`);
  return out;
}

interface Dataset {
  model: string;
  tags: string[][];
  fields: { name: string; type: string; expected_values?: string[] }[];
  child_dataset?: Dataset[];
  name: string;
}

/** Required fields (with their allowed values) of every dataset of every model the event's tags select; a child adds to its parent's. */
function requiredFields(tags: readonly string[]): Map<string, { model: string; allowed?: string[] }> {
  const out = new Map<string, { model: string; allowed?: string[] }>();
  for (const file of ['Alerts.json', 'Malware.json', 'Ticket_Management.json']) {
    const model = JSON.parse(readFileSync(path.join(MODELS, file), 'utf8')) as { model_name: string; objects: Dataset[] };
    const visit = (dataset: Dataset) => {
      if (!dataset.tags.some((set) => set.every((t) => tags.includes(t)))) return;
      for (const f of dataset.fields) if (f.type === 'required') out.set(`${model.model_name}|${f.name}`, { model: model.model_name, allowed: f.expected_values });
      for (const child of dataset.child_dataset ?? []) visit(child);
    };
    model.objects.forEach(visit);
  }
  return out;
}

/** The corpus in runs whose documents have distinct ids (the simulator stores items by id). */
function batches(entries: Entry[]): Entry[][] {
  const out: Entry[][] = [];
  for (const entry of entries) {
    const batch = out.find((b) => b[0]!.kind === entry.kind && !b.some((e) => e.document.id === entry.document.id));
    if (batch) batch.push(entry);
    else out.push([entry]);
  }
  return out;
}

const corpus = readCorpus();
const absence = readAbsenceTable();
const usedAbsences = new Set<string>();
const collected = new Map<string, Collected>();
/** Two sets of stand-ins, each collecting every other batch: about 40 input runs take half as long. */
const LANES = 2;
const standIns: StandIns[] = [];
let app: SearchTimeApp;

/** Serves one batch on `s`, runs the input once, and records each document's event as search time sees it. */
async function collect(s: StandIns, batch: Entry[], name: string): Promise<void> {
  const { scheme, sourcetype } = KINDS[batch[0]!.kind];
  s.graph.alerts.clear();
  s.graph.incidents.clear();
  s.graph.mde.alerts.clear();
  const documents = batch.map((e) => e.document);
  if (batch[0]!.kind === 'mde-alerts') s.graph.mde.seedDocuments(documents);
  else s.graph.seedDocuments(batch[0]!.kind === 'graph-alerts' ? 'alerts' : 'incidents', documents);
  const checkpoints = mkdtempSync(path.join(s.workDir, 'cp-'));
  const result = await runInputProcess(scheme, [], runConfigXml(s, scheme, name, { account: 'prod', start_date: START_DATE }, checkpoints));
  assert.equal(result.code, 0, `${batch.map((e) => e.file).join(', ')}: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, /^(WARN|ERROR) /m, 'a documented example made the input warn');
  // The whole stdout must be a valid stream: parseStream throws on anything else.
  const events = parseStream(result.stdout);
  assert.equal(events.length, batch.length, `one event per document: ${batch.map((e) => e.file).join(', ')}`);
  for (const event of events) {
    assert.equal(event.sourcetype, sourcetype);
    const data = JSON.parse(event.data) as Record<string, unknown>;
    const entry = batch.find((e) => e.document.id === data.id);
    assert.ok(entry, `an event for an unknown id ${String(data.id)}`);
    collected.set(entry.file, { data: event.data, ...evaluate(app, { sourcetype, raw: event.data }) });
  }
}

before(async () => {
  assert.ok(existsSync(path.join(APP_DIR, 'bin', 'defender_xdr_alerts.js')), 'run npm run build first (npm test does)');
  app = loadApp(APP_DIR);
  for (let lane = 0; lane < LANES; lane++) {
    standIns.push(await startStandIns());
    provisionAccount(standIns[lane]!, 'prod');
  }
  const all = batches(corpus);
  await Promise.all(standIns.map(async (s, lane) => {
    for (let i = lane; i < all.length; i += LANES) await collect(s, all[i]!, `docs${i}`);
  }));
});
after(async () => Promise.all(standIns.map((s) => s.stop())));

const field = (file: string, name: string): string[] | undefined => collected.get(file)?.fields.get(name);

describe('Microsoft documented examples: collected whole, CIM at search time', () => {
  test('the corpus is what SOURCES lists, with every evidence type of the issue', () => {
    const files = (Object.keys(KINDS) as Kind[]).flatMap((kind) => readdirSync(path.join(CORPUS, kind)).map((f) => `${kind}/${f}`));
    assert.deepEqual(corpus.map((e) => e.file).sort(), files.sort(), 'SOURCES lists every document once');
    assert.ok(corpus.length >= 35, `${corpus.length} documents`);
    const evidenceShapes = corpus.filter((e) => /^alert\/\w+Evidence-only$/.test(e.shape));
    assert.ok(evidenceShapes.length >= 30, `${evidenceShapes.length} evidence types`);
    for (const e of evidenceShapes) {
      const type = e.shape.slice('alert/'.length, -'-only'.length);
      const evidence = e.document.evidence as Record<string, unknown>[];
      assert.equal(evidence.length, 1, e.file);
      assert.equal(evidence[0]!['@odata.type'], `#microsoft.graph.security.${type}`, e.file);
    }
  });

  for (const entry of corpus) {
    test(`${entry.file} (${entry.shape})`, () => {
      const result = collected.get(entry.file);
      assert.ok(result, 'no event was collected');
      assert.deepEqual(JSON.parse(result.data), entry.document, 'the event is the document as served');
      const required = requiredFields(result.tags);
      assert.ok(required.size > 0, `tags ${result.tags.join(',')} select no CIM dataset`);
      const missing: string[] = [];
      for (const [key, { model, allowed }] of required) {
        const name = key.split('|')[1]!;
        const values = (result.fields.get(name) ?? []).filter((v) => v !== '' && v !== 'null');
        if (values.length === 0) {
          const exception = `${entry.shape}|${model}|${name}`;
          if (absence.has(exception)) usedAbsences.add(exception);
          else missing.push(`${model}.${name}`);
          continue;
        }
        if (allowed) for (const v of values) assert.ok(allowed.includes(v), `${model}.${name} = "${v}" is not one of ${allowed.join(', ')}`);
      }
      assert.deepEqual(missing, [], 'required CIM fields missing, and not in the absence table of docs/cim-microsoft-examples.md');
    });
  }

  test('every row of the absence table is needed by some document', () => {
    assert.equal(collected.size, corpus.length);
    assert.deepEqual([...absence].filter((row) => !usedAbsences.has(row)), []);
  });
});

describe('what the issue found, on the documented examples', () => {
  test('alerts without productName get app from their service source', () => {
    for (const file of ['graph-alerts/list-alerts_v2.json', 'graph-alerts/get-alert.json']) {
      assert.equal(corpus.find((e) => e.file === file)?.document.productName, undefined);
      assert.deepEqual(field(file, 'app'), ['Microsoft Defender for Endpoint'], file);
    }
    assert.deepEqual(field('graph-alerts/incident-embedded-alert-current.json', 'app'), ['Microsoft Defender for Endpoint']);
  });

  test('the documented alert has dest, src, user and file fields from its device, process and file evidence', () => {
    const file = 'graph-alerts/get-alert.json';
    assert.deepEqual(field(file, 'dest'), ['tempDns']);
    assert.deepEqual(field(file, 'dest_type'), ['endpoint']);
    assert.deepEqual(field(file, 'src'), ['tempDns']);
    assert.deepEqual(field(file, 'user'), ['SYSTEM']);
    assert.deepEqual(field(file, 'file_name'), ['MsSense.exe']);
    assert.deepEqual(field(file, 'file_path'), ['C:\\Program Files\\temp']);
    assert.deepEqual(field(file, 'file_hash'), ['8963a19fb992ad9a76576c5638fd68292cffb9aaac29eb8285f9abf6196a7dec']);
  });

  test('without a device, dest comes from the evidence there is, and dest_type says what it is', () => {
    const cases: [string, string, string][] = [
      ['graph-alerts/evidence-processEvidence.json', '73e7e2de709dff64ef64b1d0c30e67fab63279db', 'endpoint'],
      ['graph-alerts/evidence-analyzedMessageEvidence.json', 'String', 'mailbox'],
      ['graph-alerts/evidence-azureResourceEvidence.json', 'String', 'cloud resource'],
      ['graph-alerts/evidence-cloudApplicationEvidence.json', 'String', 'application or group'],
    ];
    for (const [file, dest, type] of cases) {
      assert.deepEqual(field(file, 'dest'), [dest], file);
      assert.deepEqual(field(file, 'dest_type'), [type], file);
    }
    assert.deepEqual(field('graph-alerts/evidence-processEvidence.json', 'user'), ['SYSTEM']);
    assert.deepEqual(field('graph-alerts/evidence-analyzedMessageEvidence.json', 'src'), ['String'], 'senderIp');
  });

  test("an incident whose alerts is one object keeps every field the array form gives", () => {
    const array = collected.get('graph-incidents/list-incidents-expand-alerts.json')!;
    const object = collected.get('graph-incidents/alerts-as-object.json')!;
    assert.deepEqual(object.tags, array.tags);
    assert.deepEqual(object.eventtypes, array.eventtypes);
    for (const name of cimFieldNames(array)) assert.deepEqual(object.fields.get(name), array.fields.get(name), name);
    assert.deepEqual(object.fields.get('dest'), ['tempDns']);
  });

  test('bad input: an unknown evidence type or nulls in the evidence array lose nothing derivable', () => {
    const good = collected.get('graph-alerts/get-alert.json')!;
    for (const file of ['graph-alerts/bad-unknown-evidence-type.json', 'graph-alerts/bad-evidence-null.json']) {
      const bad = collected.get(file)!;
      assert.deepEqual(bad.tags, good.tags, file);
      for (const name of cimFieldNames(good)) assert.deepEqual(bad.fields.get(name), good.fields.get(name), `${file}: ${name}`);
      for (const name of ['dest', 'src', 'user', 'file_hash', 'file_name', 'file_path']) assert.ok(!(bad.fields.get(name) ?? []).includes('null'), `${file}: ${name} holds "null"`);
    }
  });
});

/** The fields search time made (not JSON paths of the document): the CIM and SIEM names. */
function cimFieldNames(result: SearchTimeResult): string[] {
  return [...result.fields.keys()].filter((name) => !name.includes('.') && !name.includes('{') && !/^(_raw|eventtype|tag|sourcetype)$/.test(name) && !name.startsWith('tag::'));
}
