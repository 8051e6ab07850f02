/**
 * Unit tests of the search-time test tool (test/helpers/searchtime): JSON extraction, props
 * layering, FIELDALIAS, EVAL language, LOOKUP, REPORT/EXTRACT, eventtypes, tags and lint.
 * Each test builds a small app in a temporary directory.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  SearchTimeError,
  evalExpression,
  evaluate,
  extractJson,
  lintApp,
  loadApp,
  matchesSearch,
  parseCsv,
  parseEval,
  type Fields,
  type SearchTimeApp,
  type Value,
} from '../helpers/searchtime/index.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Writes files (paths relative to the app dir, e.g. 'default/props.conf') and loads the app. */
function app(files: Record<string, string>): SearchTimeApp {
  const dir = mkdtempSync(join(tmpdir(), 'searchtime-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return loadApp(dir);
}

const ST = 'ms:defender:alert';
const props = (body: string, extra: Record<string, string> = {}): SearchTimeApp =>
  app({ 'default/props.conf': `[${ST}]\nKV_MODE = json\n${body}\n`, ...extra });
const run = (a: SearchTimeApp, doc: unknown, more: { source?: string; host?: string } = {}) =>
  evaluate(a, { sourcetype: ST, raw: typeof doc === 'string' ? doc : JSON.stringify(doc), ...more });
const get = (fields: Fields, name: string): string[] | undefined => fields.get(name);
const fieldsOf = (o: Record<string, string | string[]>): Fields =>
  new Map(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
const ev = (expr: string, f: Record<string, string | string[]> = {}): Value => evalExpression(expr, fieldsOf(f));
const throwsST = (fn: () => unknown, re: RegExp): void => assert.throws(fn, (e: unknown) => e instanceof SearchTimeError && re.test(e.message));

describe('extractJson (KV_MODE = json)', () => {
  it('joins nested keys with dots and arrays with {} into multi-value fields in document order', () => {
    const f = extractJson(
      JSON.stringify({
        id: 'da1',
        '@odata.type': '#x',
        imageFile: { sha1: 'abc', size: 10 },
        mitreTechniques: ['T1059', 'T1059.001', 'T1059'],
        evidence: [{ deviceDnsName: 'a.contoso.com', roles: ['x'] }, { userAccount: { accountName: 'bob' } }, { deviceDnsName: 'b' }],
        alerts: [{ evidence: [{ userAccount: { accountName: 'u1' } }, { userAccount: { accountName: 'u2' } }] }, { evidence: [{ userAccount: { accountName: 'u3' } }] }],
        matrix: [[1, 2], [3], []],
      }),
    );
    assert.deepEqual(get(f, 'id'), ['da1']);
    assert.deepEqual(get(f, '@odata.type'), ['#x']);
    assert.deepEqual(get(f, 'imageFile.sha1'), ['abc']);
    assert.deepEqual(get(f, 'mitreTechniques{}'), ['T1059', 'T1059.001', 'T1059']);
    assert.deepEqual(get(f, 'evidence{}.deviceDnsName'), ['a.contoso.com', 'b']);
    assert.deepEqual(get(f, 'evidence{}.roles{}'), ['x']);
    assert.deepEqual(get(f, 'evidence{}.userAccount.accountName'), ['bob']);
    assert.deepEqual(get(f, 'alerts{}.evidence{}.userAccount.accountName'), ['u1', 'u2', 'u3']);
    assert.deepEqual(get(f, 'matrix{}{}'), ['1', '2', '3']);
  });

  it('renders scalars as Splunk shows them; null is the string "null"; empty containers give no field', () => {
    const f = extractJson('{"n":1.50,"e":1e3,"big":12345678901234567890,"t":true,"f":false,"z":null,"s":"a\\"b\\u00e9\\n","empty":"","a":[],"o":{},"arr":[null,"x"]}');
    assert.deepEqual(Object.fromEntries(f), {
      n: ['1.50'], e: ['1e3'], big: ['12345678901234567890'], t: ['true'], f: ['false'], z: ['null'],
      s: ['a"bé\n'], empty: [''], 'arr{}': ['null', 'x'],
    });
  });

  it('keeps repeated keys as multiple values and rejects invalid JSON or non-objects', () => {
    assert.deepEqual(get(extractJson('{"a":1,"a":2}'), 'a'), ['1', '2']);
    throwsST(() => extractJson('{"a":1,}'), /not valid JSON/);
    throwsST(() => extractJson('{"a":1} x'), /trailing text/);
    throwsST(() => extractJson('[1,2]'), /not an object/);
  });
});

describe('props layering and extraction limits', () => {
  it('applies only the sourcetype stanza and matching source:: stanzas, source overriding sourcetype', () => {
    const a = app({
      'default/props.conf': [
        `[${ST}]`, 'KV_MODE = json', 'EVAL-who = "sourcetype"', 'EVAL-st = "yes"',
        '[other]', 'EVAL-other = "no"',
        '[source::...defender*.log]', 'EVAL-who = "source pattern"',
        '[source::/x/*/y]', 'EVAL-star = "1"',
      ].join('\n'),
    });
    const doc = { a: 1 };
    let f = run(a, doc).fields;
    assert.deepEqual([get(f, 'who'), get(f, 'st'), get(f, 'other')], [['sourcetype'], ['yes'], undefined]);
    f = run(a, doc, { source: '/var/log/sub/defender-xdr.log' }).fields;
    assert.deepEqual(get(f, 'who'), ['source pattern']);
    assert.deepEqual(get(run(a, doc, { source: '/x/z/y' }).fields, 'star'), ['1']);
    assert.equal(get(run(a, doc, { source: '/x/z/w/y' }).fields, 'star'), undefined, '* does not cross /');
  });

  it('sets the default fields and honours KV_MODE = none; the default KV_MODE (auto) throws', () => {
    const f = evaluate(app({ 'default/props.conf': `[${ST}]\nKV_MODE = none\n` }), { sourcetype: ST, raw: '{"a":1}', host: 'h', source: 's', index: 'i' }).fields;
    assert.deepEqual(Object.fromEntries(f), { _raw: ['{"a":1}'], sourcetype: [ST], source: ['s'], host: ['h'], index: ['i'] });
    throwsST(() => run(app({ 'default/props.conf': `[${ST}]\n` }), { a: 1 }), /KV_MODE = auto is not modelled/);
  });

  it('throws when an event exceeds the limits.conf extraction limits (Splunk defaults when unset)', () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i]));
    throwsST(() => run(props(''), many), /\[kv\] limit = 100/);
    throwsST(() => run(props(''), { s: 'x'.repeat(6000) }), /extraction_cutoff = 5000/);
    const raised = props('', { 'default/limits.conf': '[spath]\nextraction_cutoff = 1000000\n[kv]\nmaxchars = 1000000\nlimit = 0\nmaxcols = 1000\n' });
    assert.equal(get(run(raised, many).fields, 'k100')?.[0], '100');
    assert.equal(get(run(raised, { s: 'x'.repeat(6000) }).fields, 's')?.[0].length, 6000);
  });
});

describe('FIELDALIAS', () => {
  const a = props(
    [
      'FIELDALIAS-a = "evidence{}.deviceDnsName" AS dest severity AS sev',
      'FIELDALIAS-b = dest AS dest2 missing AS title',
      'FIELDALIAS-c = id ASNEW vendor id ASNEW new_id',
    ].join('\n'),
  );
  const f = run(a, { id: 'x', vendor: 'keep', title: 'gone', severity: 'high', evidence: [{ deviceDnsName: 'h1' }, { deviceDnsName: 'h2' }] }).fields;

  it('copies values (multi-value too), reading only extracted fields', () => {
    assert.deepEqual(get(f, 'dest'), ['h1', 'h2']);
    assert.deepEqual(get(f, 'sev'), ['high']);
    assert.equal(get(f, 'dest2'), undefined, 'aliases do not see each other');
  });
  it('AS removes the target when the source is missing; ASNEW never overwrites', () => {
    assert.equal(get(f, 'title'), undefined);
    assert.deepEqual(get(f, 'vendor'), ['keep']);
    assert.deepEqual(get(f, 'new_id'), ['x']);
  });
  it('rejects two aliases onto one field and malformed aliases', () => {
    throwsST(() => run(props('FIELDALIAS-a = x AS user\nFIELDALIAS-b = y AS user'), {}), /both alias onto 'user'/);
    throwsST(() => run(props('FIELDALIAS-a = x user'), {}), /AS\|ASNEW/);
  });
});

describe('EVAL (calculated fields)', () => {
  it('evaluates every EVAL on the aliased fields, independently, and drops null results', () => {
    const a = props(
      [
        'FIELDALIAS-s = severity AS sev',
        'EVAL-severity = upper(severity)',
        'EVAL-copy = severity',
        'EVAL-from_alias = sev . "!"',
        'EVAL-title = null()',
        'EVAL-n = mvcount(\'evidence{}.x\')',
      ].join('\n'),
    );
    const f = run(a, { severity: 'high', title: 't', evidence: [{ x: 1 }, { x: 2 }] }).fields;
    assert.deepEqual(get(f, 'severity'), ['HIGH']);
    assert.deepEqual(get(f, 'copy'), ['high'], 'EVAL-copy sees the extracted severity, not EVAL-severity');
    assert.deepEqual(get(f, 'from_alias'), ['high!']);
    assert.equal(get(f, 'title'), undefined);
    assert.deepEqual(get(f, 'n'), ['2']);
  });

  it('throws with the key in the message when an expression is unsupported', () => {
    throwsST(() => run(props('EVAL-x = urldecode(a)'), { a: 'b' }), /EVAL-x.*urldecode\(\) is not supported/);
    throwsST(() => run(props('EVAL-x = a = "b"'), { a: 'b' }), /boolean cannot be assigned/);
  });
});

describe('eval language', () => {
  it('parses literals, quoted field names, precedence and rejects bad syntax', () => {
    assert.equal(ev('1 + 2 * 3'), 7);
    assert.equal(ev('(1 + 2) * 3'), 9);
    assert.equal(ev('-2 * 3 - 1'), -7);
    assert.equal(ev('"a\\"b" . "\\d"'), 'a"b\\d');
    assert.equal(ev("'a{}.b' . x", { 'a{}.b': 'p', x: 'q' }), 'pq');
    assert.equal(ev('a.b', { a: '1', b: '2' }), '12', 'a bare dot is concatenation');
    assert.deepEqual(parseEval('NOT a = 1 OR b'), { k: 'bin', op: 'OR', l: { k: 'not', e: { k: 'bin', op: '=', l: { k: 'field', name: 'a' }, r: { k: 'num', v: 1 } } }, r: { k: 'field', name: 'b' } });
    for (const bad of ['a && b', 'if(a, true, false)', 'x = ', 'f(', 'a{}.b', 'a = b = c', '"open']) throwsST(() => parseEval(bad), /eval/);
  });

  it('does arithmetic with numeric-looking strings and returns null on non-numbers or /0', () => {
    assert.equal(ev('n + 1', { n: '41' }), 42);
    assert.equal(ev('n * 2', { n: 'x' }), null);
    assert.equal(ev('7 % 3'), 1);
    assert.equal(ev('1 / 0'), null);
    assert.equal(ev('"a" + "b"'), 'ab');
    assert.equal(ev('missing + 1'), null);
  });

  it('concatenates with . and yields null when a side is null', () => {
    assert.equal(ev('"v" . 1.5 . s', { s: 'x' }), 'v1.5x');
    assert.equal(ev('"v" . missing'), null);
  });

  it('compares numerically when both sides are numeric, else as case-sensitive strings; null compares to null', () => {
    assert.equal(ev('n > 9', { n: '10' }), true);
    assert.equal(ev('n = 5', { n: '5.0' }), true);
    assert.equal(ev('s < "b"', { s: 'a' }), true);
    assert.equal(ev('s == "High"', { s: 'high' }), false);
    assert.equal(ev('s != "x"', { s: 'y' }), true);
    assert.equal(ev('missing != "x"'), null);
    assert.equal(ev('s LIKE "hi%"', { s: 'high' }), true);
    assert.equal(ev('s LIKE "h_"', { s: 'high' }), false);
  });

  it('uses three-valued logic for AND/OR/NOT/XOR and rejects non-boolean operands', () => {
    assert.equal(ev('true() AND missing = 1'), null);
    assert.equal(ev('false() AND missing = 1'), false);
    assert.equal(ev('true() OR missing = 1'), true);
    assert.equal(ev('NOT missing = 1'), null);
    assert.equal(ev('true() XOR false()'), true);
    throwsST(() => ev('"a" AND true()'), /boolean condition/);
  });

  it('throws when a multivalue field reaches a single-value position', () => {
    const mv = { m: ['a', 'b'] };
    throwsST(() => ev('m = "a"', mv), /multivalue/);
    throwsST(() => ev('m . "x"', mv), /multivalue/);
    throwsST(() => ev('lower(m)', mv), /multivalue/);
    throwsST(() => ev('match(m, "a")', mv), /multivalue/);
    throwsST(() => ev('nullif(m, "a")', mv), /multivalue/);
  });

  it('rejects unknown functions, internal fields and wrong arity', () => {
    throwsST(() => ev('json_extract(a, "b")'), /json_extract\(\) is not supported/);
    throwsST(() => ev('IF(true(), 1, 2)'), /IF\(\) is not supported/);
    throwsST(() => ev('_time + 1'), /_time is a Splunk internal field/);
    throwsST(() => ev('if(true(), 1)'), /wrong number of arguments/);
    throwsST(() => ev('case(true(), 1, false())'), /pairs/);
  });

  describe('functions', () => {
    it('coalesce, if, case, in, nullif, isnull, isnotnull (lazy branches; null condition = false)', () => {
      assert.equal(ev('coalesce(missing, "", "b")'), '');
      assert.deepEqual(ev('coalesce(missing, m)', { m: ['a', 'b'] }), { mv: ['a', 'b'] });
      assert.equal(ev('coalesce(nullif(x, "null"), y)', { x: 'null', y: 'fallback' }), 'fallback');
      assert.equal(ev('if(s = "a", "yes", "no")', { s: 'a' }), 'yes');
      assert.equal(ev('if(missing = "a", "yes", "no")'), 'no');
      assert.equal(ev('if(mvcount(m) > 1, "many", lower(m))', { m: ['A', 'B'] }), 'many');
      throwsST(() => ev('if("a", 1, 2)'), /boolean condition/);
      assert.equal(ev('case(s = "low", 1, s = "high", 3, true(), 0)', { s: 'high' }), 3);
      assert.equal(ev('case(s = "low", 1)', { s: 'high' }), null);
      assert.equal(ev('in(s, "a", "b")', { s: 'b' }), true);
      assert.equal(ev('in(s, "a", "b")', { s: 'B' }), false);
      assert.equal(ev('nullif(s, "x")', { s: 'y' }), 'y');
      assert.equal(ev('isnull(missing)'), true);
      assert.equal(ev('isnull(s)', { s: 'null' }), false, 'the string "null" is not null');
      assert.equal(ev('isnotnull(m)', { m: ['a', 'b'] }), true);
    });

    it('lower, upper, len, trim, ltrim, rtrim, substr, tostring, tonumber', () => {
      assert.equal(ev('lower("AbC") . upper("x")'), 'abcX');
      assert.equal(ev('len("héllo")'), 5);
      assert.equal(ev('trim("  a \t")'), 'a');
      assert.equal(ev('trim("xxaxx", "x")'), 'a');
      assert.equal(ev('ltrim("  a ") . "|" . rtrim(" a  ")'), 'a |' + ' a');
      assert.equal(ev('substr("string", 2, 3)'), 'tri');
      assert.equal(ev('substr("string", -3)'), 'ing');
      throwsST(() => ev('substr("s", 0)'), /1-based/);
      assert.equal(ev('tostring(5)'), '5');
      assert.equal(ev('tostring(1 = 1)'), 'True');
      throwsST(() => ev('tostring(5, "hex")'), /format/);
      assert.equal(ev('tonumber("0x")'), null);
      assert.equal(ev('tonumber(" 12 ") + 1'), 13);
      assert.equal(ev('tonumber("ff", 16)'), 255);
    });

    it('match and replace use regexes (PCRE subset) with \\1 back-references', () => {
      assert.equal(ev('match(s, "^T\\d+(\\.\\d+)?$")', { s: 'T1059.001' }), true);
      assert.equal(ev('match(s, "(?i)^high$")', { s: 'HIGH' }), true);
      assert.equal(ev('replace(s, "(\\w+)@(\\w+)", "\\2/\\1$")', { s: 'bob@contoso x@y' }), 'contoso/bob$ y/x$');
      assert.equal(ev('replace(missing, "a", "b")'), null);
      throwsST(() => ev('match(s, "\\Aabc")', { s: 'abc' }), /PCRE escape/);
      throwsST(() => ev('match(s, "a++")', { s: 'a' }), /possessive/);
    });

    it('split, mvappend, mvdedup, mvindex, mvcount, mvjoin, mvfind', () => {
      assert.deepEqual(ev('split("a,,b", ",")'), { mv: ['a', '', 'b'] });
      assert.equal(ev('split("a", ",")'), 'a');
      assert.deepEqual(ev('mvappend("x", m, missing, 3)', { m: ['a', 'b'] }), { mv: ['x', 'a', 'b', '3'] });
      assert.equal(ev('mvappend(missing)'), null);
      assert.deepEqual(ev('mvdedup(m)', { m: ['a', 'b', 'a'] }), { mv: ['a', 'b'] });
      const m = { m: ['a', 'b', 'c'] };
      assert.equal(ev('mvindex(m, 0)', m), 'a');
      assert.equal(ev('mvindex(m, -1)', m), 'c');
      assert.deepEqual(ev('mvindex(m, 1, 5)', m), { mv: ['b', 'c'] });
      assert.equal(ev('mvindex(m, 3)', m), null);
      assert.equal(ev('mvindex(s, 0)', { s: 'only' }), 'only');
      assert.equal(ev('mvcount(m)', m), 3);
      assert.equal(ev('mvcount(s)', { s: 'x' }), 1);
      assert.equal(ev('mvcount(missing)'), null);
      assert.equal(ev('mvjoin(m, ";")', m), 'a;b;c');
      assert.equal(ev('mvfind(m, "^[bc]$")', m), 1);
      assert.equal(ev('mvfind(m, "z")', m), null);
    });

    it('mvfilter binds its one field per value; mvmap maps each value', () => {
      const f = { 'e{}.n': ['h1', 'null', 'H2'], other: 'x' };
      assert.deepEqual(ev("mvfilter('e{}.n' != \"null\")", f), { mv: ['h1', 'H2'] });
      assert.equal(ev("mvfilter(match('e{}.n', \"^h\"))", f), 'h1');
      assert.equal(ev('mvfilter(missing = "x")'), null);
      throwsST(() => ev("mvfilter('e{}.n' = other)", f), /exactly one field/);
      assert.deepEqual(ev("mvmap('e{}.n', lower('e{}.n') . other)", f), { mv: ['h1x', 'nullx', 'h2x'] });
      throwsST(() => ev('mvmap(split("a", ","), 1)'), /must be a field/);
    });

    it('spath reads leaf paths of a JSON string', () => {
      const f = { j: '{"a":{"b":[{"c":1},{"c":2}]},"d":"x"}' };
      assert.deepEqual(ev('spath(j, "a.b{}.c")', f), { mv: ['1', '2'] });
      assert.equal(ev('spath(j, "d")', f), 'x');
      assert.equal(ev('spath(j, "zz")', f), null);
      assert.equal(ev('spath(s, "a")', { s: 'not json' }), null);
      throwsST(() => ev('spath(j, "a")', f), /object/);
      throwsST(() => ev('spath(j, "a.b{1}.c")', f), /indexed/);
    });
  });
});

describe('LOOKUP', () => {
  const csv = 'severity,severity_id,label\nhigh,4,"High, very"\nmedium,3,Medium\nlow,2,\n';
  const base = (lookupLines: string, transforms = '[sev]\nfilename = sev.csv\n', extra = ''): SearchTimeApp =>
    app({
      'default/props.conf': `[${ST}]\nKV_MODE = json\n${lookupLines}\n${extra}`,
      'default/transforms.conf': transforms,
      'lookups/sev.csv': csv,
    });

  it('parses CSV with quotes, commas and short rows', () => {
    const t = parseCsv('\ufeffa,b\r\n"x, ""y""",1\r\nz\r\n', 't.csv');
    assert.deepEqual(t, { file: 't.csv', header: ['a', 'b'], rows: [['x, "y"', '1'], ['z', '']] });
    throwsST(() => parseCsv('a\n"x', 't.csv'), /unterminated/);
  });

  it('matches exactly (case-sensitive by default) and maps fields with AS', () => {
    const a = base('LOOKUP-sev = sev severity AS sev_in OUTPUT severity_id AS sid label');
    let f = run(a, { sev_in: 'high' }).fields;
    assert.deepEqual([get(f, 'sid'), get(f, 'label')], [['4'], ['High, very']]);
    f = run(a, { sev_in: 'HIGH', sid: 'old' }).fields;
    assert.equal(get(f, 'sid'), undefined, 'OUTPUT clears the output field when nothing matches');
    f = run(a, { sev_in: 'low', label: 'old' }).fields;
    assert.equal(get(f, 'label'), undefined, 'empty cells are not output');
    f = run(a, { other: 1, sid: 'kept' }).fields;
    assert.deepEqual(get(f, 'sid'), ['kept'], 'events without the match field are left alone');
  });

  it('supports case_sensitive_match = false, OUTPUTNEW and outputs every other column without OUTPUT', () => {
    const a = base('LOOKUP-a = sev severity OUTPUTNEW severity_id label', '[sev]\nfilename = sev.csv\ncase_sensitive_match = false\n');
    const f = run(a, { severity: 'HIGH', label: 'mine' }).fields;
    assert.deepEqual([get(f, 'severity_id'), get(f, 'label')], [['4'], ['mine']]);
    const all = run(base('LOOKUP-a = sev severity'), { severity: 'medium' }).fields;
    assert.deepEqual([get(all, 'severity_id'), get(all, 'label')], [['3'], ['Medium']]);
  });

  it('looks multi-value inputs up value by value, de-duplicating outputs', () => {
    const a = base('LOOKUP-a = sev severity AS "alerts{}.severity" OUTPUT severity_id AS ids');
    const f = run(a, { alerts: [{ severity: 'low' }, { severity: 'nope' }, { severity: 'high' }, { severity: 'low' }] }).fields;
    assert.deepEqual(get(f, 'ids'), ['2', '4']);
  });

  it('implements WILDCARD match_type in file order with max_matches, and min_matches/default_match', () => {
    const files = {
      'default/props.conf': `[${ST}]\nKV_MODE = json\nLOOKUP-a = det detectionSource OUTPUT category\nLOOKUP-b = det2 detectionSource OUTPUT category AS all\n`,
      'default/transforms.conf':
        '[det]\nfilename = det.csv\nmatch_type = WILDCARD(detectionSource)\nmax_matches = 1\nmin_matches = 1\ndefault_match = other\n' +
        '[det2]\nfilename = det.csv\nmatch_type = WILDCARD(detectionSource)\n',
      'lookups/det.csv': 'detectionSource,category\nmicrosoftDefenderFor*,mdx\nmicrosoft*,ms\n*,any\n',
    };
    const a = app(files);
    let f = run(a, { detectionSource: 'microsoftDefenderForEndpoint' }).fields;
    assert.deepEqual([get(f, 'category'), get(f, 'all')], [['mdx'], ['mdx', 'ms', 'any']]);
    f = run(a, { detectionSource: 'antivirus' }).fields;
    assert.deepEqual(get(f, 'category'), ['any']);
    const noStar = app({ ...files, 'lookups/det.csv': 'detectionSource,category\nmicrosoft*,ms\n' });
    assert.deepEqual(get(run(noStar, { detectionSource: 'antivirus' }).fields, 'category'), ['other']);
  });

  it('throws on chained lookups, unknown stanzas, missing files and unsupported settings', () => {
    throwsST(() => run(base('LOOKUP-a = sev severity OUTPUT label\nLOOKUP-b = sev severity AS label'), { severity: 'high' }), /chained/);
    throwsST(() => run(base('LOOKUP-a = nope severity'), { severity: 'high' }), /no stanza \[nope\]/);
    throwsST(() => run(base('LOOKUP-a = sev severity', '[sev]\nfilename = gone.csv\n'), { severity: 'high' }), /gone.csv does not exist/);
    throwsST(() => run(base('LOOKUP-a = sev severity', '[sev]\nfilename = sev.csv\nmatch_type = CIDR(severity)\n'), { severity: 'high' }), /CIDR/);
    throwsST(() => run(base('LOOKUP-a = sev severity OUTPUT nocol'), { severity: 'high' }), /no column 'nocol'/);
  });
});

describe('EXTRACT and REPORT', () => {
  it('EXTRACT takes named groups from _raw; reading a JSON field throws (it runs before KV_MODE)', () => {
    const f = run(props('EXTRACT-tenant = "tenantId":"(?<tenant_guid>[0-9a-f-]+)"'), { tenantId: 'ab-12' }).fields;
    assert.deepEqual(get(f, 'tenant_guid'), ['ab-12']);
    throwsST(() => run(props('EXTRACT-x = (?<y>.+) in tenantId'), { tenantId: 'a' }), /runs after EXTRACT\/REPORT/);
  });

  it('REPORT applies REGEX/FORMAT (repeating for $n field names) and rejects other transforms', () => {
    const a = props('REPORT-kv = kv, fixed', {
      'default/transforms.conf': '[kv]\nREGEX = (\\w+)=(\\w+)\nFORMAT = $1::$2\n[fixed]\nREGEX = id=(\\w+)\nFORMAT = first_id::$1 marker::yes\n',
    });
    const f = run(a, '{"m":"a=1 b=2 id=z"}').fields;
    assert.deepEqual([get(f, 'a'), get(f, 'b'), get(f, 'first_id'), get(f, 'marker')], [['1'], ['2'], ['z'], ['yes']]);
    throwsST(() => run(props('REPORT-d = d', { 'default/transforms.conf': '[d]\nDELIMS = ","\n' }), {}), /DELIMS is not supported/);
  });
});

describe('eventtypes (matchesSearch)', () => {
  const f = fieldsOf({
    _raw: '{"title":"Suspicious PowerShell command line","detectionSource":"antivirus"}',
    sourcetype: ST,
    severity: 'High',
    'alerts{}.id': ['da1', 'da2'],
    'evidence{}.x': ['a', 'b'],
    empty: '',
  });
  const m = (s: string): boolean => matchesSearch(s, f);

  it('matches field terms case-insensitively with wildcards, quoted names, exists and multi-value any-match', () => {
    assert.ok(m(`sourcetype=${ST} severity=high`));
    assert.ok(m('severity="HIGH"'));
    assert.ok(m('severity=h*'));
    assert.ok(!m('severity=low'));
    assert.ok(m('"alerts{}.id"=*'));
    assert.ok(m('alerts{}.id=da2'));
    assert.ok(!m('missing=*'));
    assert.ok(m('empty=*'));
    assert.ok(m('severity!=low'));
    assert.ok(!m('missing!=low'), '!= needs the field');
    assert.ok(m('NOT missing=low'));
    throwsST(() => m('evidence{}.x!=a'), /multivalue/);
  });

  it('combines with implicit AND, AND, OR, NOT and parentheses; OR binds tighter than AND', () => {
    assert.ok(m('severity=low OR severity=high'));
    assert.ok(m('severity=high AND (missing=* OR "alerts{}.id"=da1)'));
    assert.ok(!m('NOT severity=high'));
    assert.ok(m('severity=low OR severity=high sourcetype=ms:*'), 'a OR b c = (a OR b) AND c');
    assert.ok(!m('severity=high missing=* OR severity=low'));
  });

  it('matches free text against _raw on term boundaries, case-insensitively', () => {
    assert.ok(m('powershell'));
    assert.ok(m('"powershell command"'));
    assert.ok(m('power*'));
    assert.ok(!m('power'));
    assert.ok(m('antivirus severity=high'));
  });

  it('throws on unsupported syntax', () => {
    for (const s of ['severity=high | stats count', 'a=b [search x]', '`macro`', 'x>5', 'TERM(abc)', 'a=1 or b=2', 'eventtype=x', 'tag=alert', 'x = 1', 'x=', '(a=1', 'a=1 OR', 'NOT', 'sourcetype::x']) {
      throwsST(() => m(s), /search/);
    }
  });
});

describe('eventtypes and tags in evaluate', () => {
  const files = {
    'default/props.conf': `[${ST}]\nKV_MODE = json\nEVAL-vendor_product = "Microsoft Defender XDR"\nLOOKUP-c = cat category OUTPUT dm\n`,
    'default/transforms.conf': '[cat]\nfilename = cat.csv\n',
    'lookups/cat.csv': 'category,dm\nMalware,malware\n',
    'default/eventtypes.conf': [
      '[ms_defender_alert]', `search = sourcetype=${ST}`,
      '[ms_defender_malware]', 'search = sourcetype=ms:defender:* dm=malware',
      '[ms_defender_off]', `search = sourcetype=${ST}`, 'disabled = 1',
    ].join('\n'),
    'default/tags.conf': [
      '[eventtype=ms_defender_alert]', 'alert = enabled', 'old = disabled',
      '[eventtype=ms_defender_malware]', 'malware = enabled', 'attack = enabled',
      '[eventtype=ms_defender_off]', 'never = enabled',
      '[vendor_product=Microsoft%20Defender%20XDR]', 'microsoft = enabled',
    ].join('\n'),
  };

  it('matches eventtypes after lookups and derives tags, eventtype, tag and tag::<field> fields', () => {
    const r = run(app(files), { category: 'Malware' });
    assert.deepEqual(r.eventtypes, ['ms_defender_alert', 'ms_defender_malware']);
    assert.deepEqual(r.tags, ['alert', 'attack', 'malware', 'microsoft']);
    assert.deepEqual(get(r.fields, 'eventtype'), r.eventtypes);
    assert.deepEqual(get(r.fields, 'tag'), r.tags);
    assert.deepEqual(get(r.fields, 'tag::eventtype'), ['alert', 'attack', 'malware']);
    assert.deepEqual(get(r.fields, 'tag::vendor_product'), ['microsoft']);
    const plain = run(app(files), { category: 'Other' });
    assert.deepEqual([plain.eventtypes, plain.tags], [['ms_defender_alert'], ['alert', 'microsoft']]);
  });

  it('throws when tags.conf refers to an unknown eventtype or a tag state is invalid', () => {
    throwsST(() => run(app({ ...files, 'default/tags.conf': '[eventtype=nope]\nalert = enabled\n' }), {}), /eventtype 'nope' is not defined/);
    throwsST(() => run(app({ ...files, 'default/tags.conf': '[eventtype=ms_defender_alert]\nalert = on\n' }), {}), /enabled or disabled/);
  });
});

describe('lintApp', () => {
  it('is empty for a consistent app', () => {
    const a = app({
      'default/props.conf': `[${ST}]\nKV_MODE = json\nFIELDALIAS-a = x AS y z AS zz k AS k0\nEVAL-z = lower(z)\nLOOKUP-l = t k OUTPUT v k AS k\n`,
      'default/transforms.conf': '[t]\nfilename = t.csv\n',
      'lookups/t.csv': 'k,v\n',
      'default/eventtypes.conf': '[e]\nsearch = y=*\n',
      'default/tags.conf': '[eventtype=e]\nalert = enabled\n',
    });
    assert.deepEqual(lintApp(a), []);
  });

  it('reports dangling references, ordering mistakes, repeated keys and unparsable searches', () => {
    const a = app({
      'default/props.conf': [
        `[${ST}]`, 'KV_MODE = json', 'EVAL-a = "x"', 'EVAL-b = a . "y"', 'EVAL-c = looked',
        'FIELDALIAS-f = b AS bb x AS u y AS u', 'EVAL-a = "again"',
        'LOOKUP-l = missing_t k', 'LOOKUP-m = t k OUTPUT v AS looked k AS kk', 'LOOKUP-n = t nocol',
        'LOOKUP-o = nofile k', 'LOOKUP-p = t k AS kk', 'REPORT-r = nope', 'EXTRACT-e = (?<x>\\Ax)',
      ].join('\n'),
      'default/transforms.conf': '[t]\nfilename = t.csv\ndefault_match = x\n[nofile]\nfilename = gone.csv\n',
      'lookups/t.csv': 'k,v\n',
      'default/eventtypes.conf': '[bad]\nsearch = a=1 | stats count\n[nosearch]\ndescription = x\n',
      'default/tags.conf': '[eventtype=ghost]\nalert = enabled\n[noequals]\nx = enabled\n',
    });
    const problems = lintApp(a).join('\n');
    for (const expected of [
      /props.conf \[ms:defender:alert\] EVAL-a is set more than once/,
      /EVAL-b: reads 'a', which EVAL-a computes/,
      /EVAL-c: reads 'looked', which LOOKUP-m outputs/,
      /FIELDALIAS-f: reads 'b', which EVAL-b computes/,
      /FIELDALIAS-f aliases twice onto 'u'/,
      /LOOKUP-l: .*no stanza \[missing_t\]/,
      /LOOKUP-m: .*default_match has no effect without min_matches/,
      /LOOKUP-n: lookups\/t.csv has no column 'nocol'/,
      /LOOKUP-o: lookups\/gone.csv does not exist/,
      /LOOKUP-p: reads 'kk', which LOOKUP-m outputs, but automatic lookups do not chain/,
      /transforms.conf \[nofile\]: lookups\/gone.csv does not exist/,
      /REPORT-r: .*no stanza \[nope\]/,
      /EXTRACT-e: .*PCRE escape/,
      /eventtypes.conf \[bad\]: .*pipe/,
      /eventtypes.conf \[nosearch\]: no search/,
      /tags.conf \[eventtype=ghost\]: eventtype 'ghost' is not defined/,
      /tags.conf \[noequals\]: a tags stanza must be/,
    ]) {
      assert.match(problems, expected);
    }
  });
});
