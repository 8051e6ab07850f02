import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { allSpecKeys, parseConf, specKeyMatcher, type Conf } from '../../tools/conf.js';
import { FOREIGN_SPECS } from '../../tools/foreignSpecs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Splunk 9.2's own .spec files, beside the repository (/work/shared next to /work/main). */
const SPLUNK_SPECS = resolve(ROOT, '../shared/splunk-data/spec-9.2');
const APP_ID = 'TA-defender-xdr';
const CUSTOM_CONFS = ['defender_xdr_account', 'defender_xdr_settings'];

const text = (relative: string): string => readFileSync(resolve(ROOT, relative), 'utf8');
const conf = (relative: string): Conf => parseConf(text(relative));

function stanza(parsed: Conf, name: string): Map<string, string> {
  const found = parsed.get(name);
  assert.ok(found, `stanza [${name}] is missing`);
  return found;
}

interface Manifest {
  schemaVersion: string;
  info: { title: string; id: { group: string | null; name: string; version: string }; license: { name: string; text: string } };
  supportedDeployments: string[];
  targetWorkloads: string[];
  platformRequirements: { splunk: Record<string, string> };
}

describe('parseConf', () => {
  it('reads stanzas, global keys, comments and continuations as splunkd does', () => {
    const parsed = parseConf(
      [
        'global = 1',
        '# a comment = not a key',
        '   # an indented comment',
        '[one]',
        'a = x # not a comment',
        'b=  spaced value  ',
        'search = index=main \\',
        '  | stats count',
        '[ two ]',
        'c = 1',
        '[one]',
        'a = last wins',
        'empty =',
        '* a spec bullet without an equals sign',
      ].join('\r\n'),
    );
    assert.deepEqual([...parsed.keys()], ['', 'one', 'two']);
    assert.equal(parsed.get('')?.get('global'), '1');
    assert.deepEqual(Object.fromEntries(parsed.get('one') ?? []), {
      a: 'last wins',
      b: 'spaced value',
      search: 'index=main \n  | stats count',
      empty: '',
    });
    assert.equal(parsed.get('two')?.get('c'), '1');
  });

  it('matches spec keys with <placeholders>', () => {
    const declared = specKeyMatcher(parseConf('[<spec>]\nEXTRACT-<class> = <regex>\nKV_MODE = json\n* Default: x = y\n').get('<spec>') ?? new Map());
    assert.equal(declared('EXTRACT-severity'), true);
    assert.equal(declared('KV_MODE'), true);
    assert.equal(declared('EXTRACT-'), false);
    assert.equal(declared('KV_MOD'), false);
    assert.equal(declared('* Default: x'), false);
  });
});

describe('app identity', () => {
  const app = conf('default/app.conf');
  const manifest = JSON.parse(text('app.manifest')) as Manifest;
  const pkg = JSON.parse(text('package.json')) as { version: string };

  it('has one version everywhere, in Major.Minor.Patch form', () => {
    const version = stanza(app, 'launcher').get('version');
    assert.match(version ?? '', /^\d+\.\d+\.\d+$/);
    assert.equal(stanza(app, 'id').get('version'), version);
    assert.equal(manifest.info.id.version, version);
    assert.equal(pkg.version, version);
  });

  it(`is packaged as ${APP_ID}`, () => {
    assert.equal(stanza(app, 'package').get('id'), APP_ID);
    assert.equal(stanza(app, 'id').get('name'), APP_ID);
    assert.equal(manifest.info.id.name, APP_ID);
    assert.match(APP_ID, /^[A-Za-z0-9._-]+$/);
  });

  it('installs unconfigured with a positive integer build', () => {
    const install = stanza(app, 'install');
    assert.match(install.get('build') ?? '', /^[1-9]\d*$/);
    assert.equal(install.get('is_configured'), 'false');
    assert.ok(stanza(app, 'ui').get('label'));
  });

  it('reloads every custom conf file without a restart', () => {
    const triggers = stanza(app, 'triggers');
    for (const file of CUSTOM_CONFS) assert.equal(triggers.get(`reload.${file}`), 'simple', file);
  });

  it('has an app.manifest of schema 2.0.0 with its license file', () => {
    assert.equal(manifest.schemaVersion, '2.0.0');
    assert.equal(manifest.info.id.group, null);
    assert.equal(manifest.info.license.name, 'Apache-2.0');
    assert.ok(existsSync(resolve(ROOT, manifest.info.license.text)), 'the license file named by app.manifest exists');
    assert.match(text('LICENSE'), /Apache License\s+Version 2\.0, January 2004/);
    assert.deepEqual(manifest.supportedDeployments, ['_standalone', '_distributed', '_search_head_clustering']);
    assert.deepEqual(manifest.targetWorkloads, ['_search_heads', '_forwarders']);
    assert.ok(manifest.platformRequirements.splunk.Enterprise);
  });

  it('uses only settings app.conf.spec declares', () => {
    assertDeclared(app, parseConf(readFileSync(resolve(SPLUNK_SPECS, 'app.conf.spec'), 'utf8')), 'app.conf');
  });
});

describe('custom conf files', () => {
  it('declares every shipped setting in its spec, stanza by stanza', () => {
    const spec = conf('README/defender_xdr_settings.conf.spec');
    for (const [name, settings] of conf('default/defender_xdr_settings.conf')) {
      if (name === '' && settings.size === 0) continue;
      const declared = specKeyMatcher(stanza(spec, name));
      for (const key of settings.keys()) assert.ok(declared(key), `[${name}] ${key} is not in defender_xdr_settings.conf.spec`);
    }
  });

  it('ships the expected defaults', () => {
    const settings = conf('default/defender_xdr_settings.conf');
    assert.deepEqual(Object.fromEntries(stanza(settings, 'proxy')), { proxy_enabled: 'false', proxy_url: '', proxy_username: '' });
    assert.deepEqual(Object.fromEntries(stanza(settings, 'logging')), { loglevel: 'INFO' });
    assert.deepEqual(Object.fromEntries(stanza(settings, 'collection')), { reread_window: '300', request_timeout: '60', max_retries: '6', resident: '0' });
  });

  it('keeps secrets and accounts out of default/', () => {
    assert.equal(existsSync(resolve(ROOT, 'default/defender_xdr_account.conf')), false);
    for (const file of readdirSync(resolve(ROOT, 'default')).filter((f) => f.endsWith('.conf'))) {
      for (const [name, settings] of conf(`default/${file}`)) {
        for (const key of settings.keys()) assert.doesNotMatch(key, /password|secret|private_key/i, `${file} [${name}] ${key}`);
      }
    }
  });

  it('documents the account settings', () => {
    const account = stanza(conf('README/defender_xdr_account.conf.spec'), '<name>');
    const keys = ['tenant_id', 'client_id', 'auth_type', 'cloud', 'login_url', 'graph_url', 'mde_url', 'mde_region', 'certificate_thumbprint', 'ca_file'];
    assert.deepEqual([...account.keys()].filter((k) => !k.startsWith('*')), keys);
    assert.equal(account.get('auth_type'), 'client_secret|certificate');
    assert.equal(account.get('cloud'), 'commercial|gcc|gcc_high|dod|china|custom');
    assert.equal(account.get('mde_region'), 'general|us|eu|uk|gcc|gcc_high|dod');
  });

  for (const file of readdirSync(resolve(ROOT, 'README')).filter((f) => f.endsWith('.conf.spec'))) {
    it(`${file}: every setting once per stanza, each with a description`, () => {
      for (const problem of specProblems(text(`README/${file}`), false)) assert.fail(`${file}: ${problem}`);
    });
  }

  for (const file of CUSTOM_CONFS) {
    it(`${file}.conf.spec gives every setting a default`, () => {
      for (const problem of specProblems(text(`README/${file}.conf.spec`), true)) assert.fail(`${file}.conf.spec: ${problem}`);
    });
  }
});

describe('props.conf', () => {
  const props = conf('default/props.conf');

  it('uses only settings props.conf.spec declares', () => {
    assertDeclared(props, parseConf(readFileSync(resolve(SPLUNK_SPECS, 'props.conf.spec'), 'utf8')), 'props.conf');
  });

  for (const sourcetype of ['ms:defender:alert', 'ms:defender:incident', 'ms:defender:advancedhunting', 'ms:defender:hunting']) {
    it(`[${sourcetype}] keeps each streamed JSON document as one event`, () => {
      const settings = stanza(props, sourcetype);
      assert.equal(settings.get('KV_MODE'), 'json');
      assert.equal(settings.get('SHOULD_LINEMERGE'), 'false');
      assert.equal(settings.get('TRUNCATE'), '0');
      assert.equal(settings.get('DATETIME_CONFIG'), 'NONE', 'the <time> of the stream must win');
      assert.equal(settings.has('INDEXED_EXTRACTIONS'), false);
      const breaker = new RegExp(settings.get('LINE_BREAKER') ?? '');
      assert.ok((new RegExp(`${breaker.source}|`).exec('')?.length ?? 0) >= 2, 'LINE_BREAKER needs a capturing group');
      assert.equal(breaker.test('{"a":1}\n{"b":2}\r\n'), false, 'LINE_BREAKER never splits a document');
    });
  }
});

describe('metadata/default.meta', () => {
  const meta = conf('metadata/default.meta');

  it('exports sourcetypes, but not the add-on settings', () => {
    assert.equal(stanza(meta, 'props').get('export'), 'system');
    for (const file of CUSTOM_CONFS) assert.notEqual(meta.get(file)?.get('export'), 'system', file);
  });

  it('lets only admins read or write stored secrets', () => {
    const passwords = stanza(meta, 'passwords');
    assert.equal(passwords.get('access'), 'read : [ admin, sc_admin ], write : [ admin, sc_admin ]');
    assert.notEqual(passwords.get('export'), 'system');
    assert.equal(stanza(meta, '').get('access'), 'read : [ * ], write : [ admin, sc_admin ]');
  });
});

/** Every key of `parsed` must be declared by the Splunk spec (any stanza, placeholders allowed). */
function assertDeclared(parsed: Conf, spec: Conf, label: string): void {
  const declared = specKeyMatcher(allSpecKeys(spec), { barePlaceholders: label === 'tags.conf' || label === 'restmap.conf' });
  for (const [name, settings] of parsed) {
    for (const key of settings.keys()) assert.ok(declared(key), `${label} [${name}] ${key} is not in the Splunk 9.2 spec`);
  }
}

/** Checks a .spec file line by line: settings unique per stanza, each followed by `*` description lines (and a `* Default:` one). */
function specProblems(spec: string, needDefault: boolean): string[] {
  const problems: string[] = [];
  let stanzaName = '';
  let seen = new Set<string>();
  let open: { key: string; described: boolean; defaulted: boolean } | undefined;
  const close = (): void => {
    if (open && !open.described) problems.push(`[${stanzaName}] ${open.key} has no description`);
    if (open && needDefault && !open.defaulted) problems.push(`[${stanzaName}] ${open.key} has no "* Default:" line`);
    open = undefined;
  };
  for (const line of spec.split(/\r?\n/)) {
    const stanzaMatch = /^\[(.*)\]\s*$/.exec(line);
    const setting = /^([A-Za-z_][\w.:<>-]*)\s*=/.exec(line);
    if (stanzaMatch) {
      close();
      stanzaName = stanzaMatch[1];
      seen = new Set();
    } else if (setting) {
      close();
      if (seen.has(setting[1])) problems.push(`[${stanzaName}] ${setting[1]} is declared twice`);
      seen.add(setting[1]);
      open = { key: setting[1], described: false, defaulted: false };
    } else if (open && line.startsWith('*')) {
      if (line.startsWith('* Default:')) open.defaulted = true;
      else open.described = true;
    }
  }
  close();
  return problems;
}

describe('every shipped conf file', () => {
  // authorize.conf and searchbnf.conf (the hunting command's) have no Splunk spec in the reference data yet.
  const files = readdirSync(resolve(ROOT, 'default')).filter((f) => f.endsWith('.conf') && !['authorize.conf', 'searchbnf.conf'].includes(f));

  for (const file of files) {
    it(`${file}: settings declared by Splunk's or our spec, no key twice in a stanza`, () => {
      // Our README spec extends Splunk's (e.g. the param.* keys of custom alert actions).
      const specPaths = [resolve(SPLUNK_SPECS, `${file}.spec`), resolve(ROOT, 'README', `${file}.spec`)].filter((p) => existsSync(p));
      assert.ok(specPaths.length, `no spec for ${file}`);
      // Settings of other apps' inputs the app configures (ES's identity_manager) are declared by their spec.
      const foreign = FOREIGN_SPECS[file] ?? '';
      assertDeclared(conf(`default/${file}`), parseConf([...specPaths.map((p) => readFileSync(p, 'utf8')), foreign].join('\n')), file);
      // parseConf keeps the last of two equal keys, as splunkd does; a repeat is always a mistake.
      let stanzaName = '';
      const seen = new Set<string>();
      for (const line of text(`default/${file}`).split(/\r?\n/)) {
        const header = /^\s*\[(.*)\]\s*$/.exec(line);
        if (header) {
          stanzaName = header[1];
          seen.clear();
          continue;
        }
        const key = /^\s*([^#=\s][^=]*?)\s*=/.exec(line)?.[1];
        if (!key) continue;
        assert.ok(!seen.has(key), `[${stanzaName}] ${key} appears twice in ${file}`);
        seen.add(key);
      }
    });
  }

  it('tags refer to defined eventtypes, and LOOKUP-/REPORT- to defined transforms with their files', () => {
    const eventtypes = conf('default/eventtypes.conf');
    for (const name of conf('default/tags.conf').keys()) {
      if (!name) continue;
      const eventtype = /^eventtype=(.+)$/.exec(name)?.[1];
      if (eventtype) assert.ok(eventtypes.has(eventtype), `tags.conf [${name}] has no eventtype`);
    }
    const transforms = conf('default/transforms.conf');
    for (const [sourcetype, settings] of conf('default/props.conf')) {
      for (const [key, value] of settings) {
        if (!/^(LOOKUP|REPORT|TRANSFORMS)-/.test(key)) continue;
        for (const target of key.startsWith('LOOKUP-') ? [value.split(/\s+/)[0]] : value.split(/\s*,\s*/)) {
          const t = transforms.get(target);
          assert.ok(t, `[${sourcetype}] ${key} refers to missing transforms stanza ${target}`);
          const filename = t.get('filename');
          if (filename) assert.ok(existsSync(resolve(ROOT, 'lookups', filename)), `lookups/${filename} is missing`);
        }
      }
    }
  });
});
