import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { inspectApp, inspectPackage, type InspectOptions } from '../../tools/inspect.js';
import { bundledPackages, repositoryUrl, thirdPartyNotices, type MetafileLike } from '../../tools/notices.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const APP = 'TA-fake';
/** A metafile with no npm package: the notice cross-check runs and has nothing to demand. */
const NO_PACKAGES: MetafileLike = { inputs: { 'src/inputs/x.ts': {} } };

const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function write(app: string, rel: string, content: string | Buffer, mode = 0o644): void {
  const file = join(app, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  chmodSync(file, mode);
}

const crlf = (lines: string[]): string => lines.join('\r\n') + '\r\n';

/** A small app that passes every check: one input scheme, a sourcetype with CIM tagging, a nav and a view. */
function validApp(): string {
  const temp = mkdtempSync(join(tmpdir(), 'inspect-test-'));
  temps.push(temp);
  const app = join(temp, APP);
  const files: Record<string, string> = {
    'default/app.conf': [
      '[install]', 'build = 3', 'is_configured = false', '',
      '[launcher]', 'version = 1.2.3', 'author = Fake', 'description = A fake add-on.', '',
      '[package]', `id = ${APP}`, 'check_for_updates = false', '',
      '[ui]', 'is_visible = true', 'label = Fake Add-on', '',
    ].join('\n'),
    'default/inputs.conf': '[x]\ninterval = 300\ndisabled = true\n',
    'default/props.conf': '[fake:st]\nKV_MODE = json\nREPORT-fields = fake_fields\nLOOKUP-severity = fake_lookup sev OUTPUT severity\n',
    'default/transforms.conf': '[fake_fields]\nREGEX = sev=(\\w+)\nFORMAT = sev::$1\n\n[fake_lookup]\nfilename = fake.csv\n',
    'default/eventtypes.conf': '[fake_et]\nsearch = sourcetype="fake:st"\n',
    'default/tags.conf': '[eventtype=fake_et]\nalert = enabled\n',
    'default/fake_settings.conf': '[proxy]\nproxy_url =\nproxy_password =\n',
    'default/data/ui/nav/default.xml': '<nav search_view="search">\n  <view name="home" default="true" />\n  <collection label="More">\n    <view name="search" />\n  </collection>\n</nav>\n',
    'default/data/ui/views/home.xml': '<dashboard version="1.1">\n  <label>Home</label>\n</dashboard>\n',
    'README/inputs.conf.spec': '[x://<name>]\naccount = <string>\n* The account.\n',
    'README/fake_settings.conf.spec': '[proxy]\nproxy_url = <string>\n* The proxy.\nproxy_password = <string>\n* Never set here.\n',
    'lookups/fake.csv': 'sev,severity\nhigh,high\n',
    'metadata/default.meta': '[]\naccess = read : [ * ], write : [ admin ]\nexport = none\n\n[props]\nexport = system\n\n[eventtypes]\nexport = system\n\n[tags]\nexport = system\n',
    'app.manifest': JSON.stringify(
      {
        schemaVersion: '2.0.0',
        info: { title: 'Fake Add-on for Splunk', id: { group: null, name: APP, version: '1.2.3' }, license: { name: 'Apache-2.0', text: 'LICENSE', uri: null } },
      },
      null,
      2,
    ),
    'bin/x.js': '"use strict";\nconst key = /-----BEGIN (?:RSA )?PRIVATE KEY-----[\\s\\S]+?-----END/;\nconsole.log("10.0.0.1", key);\n',
    'LICENSE': 'Apache License\nVersion 2.0, January 2004\n',
    'THIRD-PARTY-NOTICES.txt': 'THIRD-PARTY SOFTWARE NOTICES\n\nNone.\n',
  };
  for (const [rel, content] of Object.entries(files)) write(app, rel, content);
  write(app, 'bin/x.sh', '#!/bin/sh\nexec node "$(dirname "$0")/x.js" "$@"\n', 0o755);
  write(app, 'bin/x.cmd', crlf(['@echo off', 'node "%~dp0x.js" %*']));
  return app;
}

/** A custom alert action as the add-on ships them: conf, spec, form, .sh and .cmd launchers. */
function addAlertAction(app: string, { spec = true, cmd = true, js = false } = {}): void {
  write(app, 'default/alert_actions.conf', '[fake_action]\nis_custom = 1\nlabel = Fake\npayload_format = json\nparam.account =\n');
  if (spec) write(app, 'README/alert_actions.conf.spec', '[fake_action]\nparam.account = <string>\n* The account.\n');
  write(app, 'default/data/ui/alerts/fake_action.html', '<form class="form-horizontal"></form>\n');
  write(app, 'bin/fake_action.sh', '#!/bin/sh\nexec node "$(dirname "$0")/lib/fake_action.js" "$@"\n', 0o755);
  if (cmd) write(app, 'bin/fake_action.cmd', crlf(['@echo off', 'node "%~dp0lib\\fake_action.js" %*']));
  if (js) write(app, 'bin/fake_action.js', '"use strict";\n');
}

function inspectAfter(change: (app: string) => void, options: InspectOptions = { metafile: NO_PACKAGES }): string[] {
  const app = validApp();
  change(app);
  return inspectApp(app, options).failures;
}

function assertFails(failures: string[], file: string, pattern?: RegExp): void {
  const found = failures.some((f) => f.startsWith(`${file}: `) && (!pattern || pattern.test(f)));
  assert.ok(found, `expected a failure for ${file}${pattern ? ` matching ${pattern}` : ''}; got:\n  ${failures.join('\n  ') || '(none)'}`);
}

describe('inspectApp', () => {
  it('passes a valid app with a custom alert action', () => {
    const app = validApp();
    addAlertAction(app);
    assert.deepEqual(inspectApp(app, { metafile: NO_PACKAGES }).failures, []);
  });

  it('passes a valid app, with no warnings, and reports its sizes', () => {
    const result = inspectApp(validApp(), { metafile: NO_PACKAGES });
    assert.deepEqual(result.failures, []);
    assert.deepEqual(result.warnings, []);
    assert.equal(result.report['app id'], APP);
    assert.equal(result.report['app version'], '1.2.3');
    assert.equal(typeof result.report['bin/x.js'], 'number');
    assert.equal(result.report['binaries'], 0);
  });

  const violations: { name: string; change: (app: string) => void; file: string; pattern?: RegExp }[] = [
    { name: 'a local/ folder', change: (app) => write(app, 'local/inputs.conf', '[x://a]\n'), file: 'local', pattern: /local\/ folder/ },
    { name: 'local.meta', change: (app) => write(app, 'metadata/local.meta', '[]\n'), file: 'metadata/local.meta' },
    { name: 'a hidden file', change: (app) => write(app, 'default/.DS_Store', 'x'), file: 'default/.DS_Store', pattern: /hidden/ },
    { name: 'a backup file', change: (app) => write(app, 'default/props.conf.bak', '[x]\n'), file: 'default/props.conf.bak', pattern: /backup/ },
    { name: 'an editor swap file', change: (app) => write(app, 'bin/x.js~', ''), file: 'bin/x.js~', pattern: /backup/ },
    { name: 'a space in a file name', change: (app) => write(app, 'lookups/my lookup.csv', 'a\n1\n'), file: 'lookups/my lookup.csv', pattern: /space/ },
    { name: 'a node_modules folder', change: (app) => write(app, 'bin/node_modules/a/index.js', ''), file: 'bin/node_modules', pattern: /node_modules/ },
    { name: 'a source map', change: (app) => write(app, 'bin/x.js.map', '{"version":3}'), file: 'bin/x.js.map', pattern: /source map/ },
    { name: 'a sourceMappingURL in a bundle', change: (app) => write(app, 'bin/x.js', 'x();\n//# sourceMappingURL=x.js.map\n'), file: 'bin/x.js', pattern: /source map/ },
    { name: 'the exec bit on a .conf', change: (app) => chmodSync(join(app, 'default/props.conf'), 0o755), file: 'default/props.conf', pattern: /executable/ },
    { name: 'a launcher without the exec bit', change: (app) => chmodSync(join(app, 'bin/x.sh'), 0o644), file: 'bin/x.sh', pattern: /not executable/ },
    { name: 'CRLF in a .sh launcher', change: (app) => write(app, 'bin/x.sh', '#!/bin/sh\r\nexec node x.js\r\n', 0o755), file: 'bin/x.sh', pattern: /CR/ },
    { name: 'a .sh launcher without #!', change: (app) => write(app, 'bin/x.sh', 'exec node x.js\n', 0o755), file: 'bin/x.sh', pattern: /#!/ },
    { name: 'LF in a .cmd launcher', change: (app) => write(app, 'bin/x.cmd', '@echo off\nnode x.js\n'), file: 'bin/x.cmd', pattern: /CRLF/ },
    { name: 'a custom conf without spec', change: (app) => write(app, 'default/other.conf', '[a]\nb = 1\n'), file: 'default/other.conf', pattern: /README\/other\.conf\.spec/ },
    { name: 'a setting its spec does not declare', change: (app) => write(app, 'default/fake_settings.conf', '[proxy]\nproxy_urll = x\n'), file: 'default/fake_settings.conf', pattern: /proxy_urll/ },
    { name: 'a typo line in a conf file', change: (app) => write(app, 'default/inputs.conf', '[x]\ninterval 300\n'), file: 'default/inputs.conf', pattern: /line 2/ },
    { name: 'an input scheme without spec', change: (app) => write(app, 'README/inputs.conf.spec', '[y://<name>]\naccount = <string>\n* The account.\n'), file: 'README/inputs.conf.spec', pattern: /\[x:\/\/<name>\]/ },
    { name: 'an input scheme without launchers', change: (app) => write(app, 'default/inputs.conf', '[x]\ninterval = 300\n\n[z]\ninterval = 60\n'), file: 'bin/z.sh', pattern: /launcher/ },
    { name: 'a manifest version unlike app.conf', change: (app) => write(app, 'app.manifest', readFileSync(join(app, 'app.manifest'), 'utf8').replace('1.2.3', '1.2.4')), file: 'app.manifest', pattern: /info\.id\.version/ },
    { name: 'a manifest that is not JSON', change: (app) => write(app, 'app.manifest', '{ "schemaVersion": '), file: 'app.manifest', pattern: /JSON/ },
    { name: 'a folder named unlike [package] id', change: (app) => write(app, 'default/app.conf', readFileSync(join(app, 'default/app.conf'), 'utf8').replace(`id = ${APP}`, 'id = TA-other')), file: 'default/app.conf', pattern: /folder name/ },
    { name: 'a build that is not a positive integer', change: (app) => write(app, 'default/app.conf', readFileSync(join(app, 'default/app.conf'), 'utf8').replace('build = 3', 'build = 0')), file: 'default/app.conf', pattern: /build/ },
    { name: 'a plaintext password in a conf file', change: (app) => write(app, 'default/fake_settings.conf', '[proxy]\nproxy_url =\nproxy_password = hunter2\n'), file: 'default/fake_settings.conf', pattern: /proxy_password.*credential/ },
    { name: 'a hard-coded IP address in a conf file', change: (app) => write(app, 'default/fake_settings.conf', '[proxy]\nproxy_url = http://10.1.2.3:8080\n'), file: 'default/fake_settings.conf', pattern: /10\.1\.2\.3/ },
    { name: 'a PEM private key in a file', change: (app) => write(app, 'lookups/key.pem', pemKey()), file: 'lookups/key.pem', pattern: /private key/ },
    { name: 'a PEM private key inside a bundle string', change: (app) => write(app, 'bin/x.js', `const k = ${JSON.stringify(pemKey())};\n`), file: 'bin/x.js', pattern: /private key/ },
    { name: 'a bearer token', change: (app) => write(app, 'README.md', 'curl -H "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"\n'), file: 'README.md', pattern: /bearer/ },
    { name: 'a build-machine path in a bundle', change: (app) => write(app, 'bin/x.js', 'require("/work/main/src/inputs/x.ts");\n'), file: 'bin/x.js', pattern: /\/work\// },
    { name: 'a props REPORT- without its transform', change: (app) => write(app, 'default/transforms.conf', '[fake_lookup]\nfilename = fake.csv\n'), file: 'default/props.conf', pattern: /fake_fields/ },
    { name: 'a lookup without its file', change: (app) => rmSync(join(app, 'lookups/fake.csv')), file: 'default/transforms.conf', pattern: /lookups\/fake\.csv/ },
    { name: 'tags of a missing eventtype', change: (app) => write(app, 'default/tags.conf', '[eventtype=nope]\nalert = enabled\n'), file: 'default/tags.conf', pattern: /nope/ },
    { name: 'a missing default.meta', change: (app) => rmSync(join(app, 'metadata/default.meta')), file: 'metadata/default.meta', pattern: /missing/ },
    { name: 'props not exported', change: (app) => write(app, 'metadata/default.meta', '[]\naccess = read : [ * ]\n\n[eventtypes]\nexport = system\n\n[tags]\nexport = system\n'), file: 'metadata/default.meta', pattern: /\[props\]/ },
    { name: 'exported passwords', change: (app) => write(app, 'metadata/default.meta', '[]\naccess = read : [ * ]\nexport = system\n'), file: 'metadata/default.meta', pattern: /passwords/ },
    { name: 'malformed view XML', change: (app) => write(app, 'default/data/ui/views/bad.xml', '<dashboard><label>Bad</dashboard>\n'), file: 'default/data/ui/views/bad.xml', pattern: /well-formed/ },
    { name: 'a nav naming a missing view', change: (app) => write(app, 'default/data/ui/nav/default.xml', '<nav>\n  <view name="home" default="true" />\n  <collection label="x"><view name="missing_view" /></collection>\n</nav>\n'), file: 'default/data/ui/nav/default.xml', pattern: /missing_view/ },
    { name: 'a JSON file that does not parse', change: (app) => write(app, 'appserver/static/config.json', '{"a": }'), file: 'appserver/static/config.json', pattern: /JSON/ },
    { name: 'no LICENSE', change: (app) => rmSync(join(app, 'LICENSE')), file: 'LICENSE', pattern: /missing/ },
    { name: 'no third-party notices', change: (app) => rmSync(join(app, 'THIRD-PARTY-NOTICES.txt')), file: 'THIRD-PARTY-NOTICES.txt', pattern: /missing/ },
    { name: 'an undeclared ELF binary', change: (app) => write(app, 'linux_x86_64/bin/node', elf(), 0o755), file: 'linux_x86_64/bin/node', pattern: /ELF binary not declared in the app's README\.md/ },
    { name: 'a custom alert action without spec', change: (app) => addAlertAction(app, { spec: false }), file: 'README/alert_actions.conf.spec', pattern: /\[fake_action\]/ },
    { name: 'a custom alert action with nothing to run on Windows', change: (app) => addAlertAction(app, { cmd: false }), file: 'default/alert_actions.conf [fake_action]', pattern: /bin\/fake_action\.cmd/ },
    { name: 'a custom alert action with a .js splunkd could pick instead of its launcher', change: (app) => addAlertAction(app, { js: true }), file: 'default/alert_actions.conf [fake_action]', pattern: /several scripts.*fake_action\.sh, bin\/fake_action\.js/ },
    { name: 'an undeclared PE binary', change: (app) => write(app, 'windows_x86_64/bin/node.exe', pe()), file: 'windows_x86_64/bin/node.exe', pattern: /PE binary/ },
  ];

  for (const { name, change, file, pattern } of violations) {
    it(`fails on ${name}, naming ${file}`, () => assertFails(inspectAfter(change), file, pattern));
  }

  it('accepts a bundled Node runtime declared in README.md', () => {
    const failures = inspectAfter((app) => {
      write(app, 'linux_x86_64/bin/node', elf(), 0o755);
      write(app, 'README.md', '# Fake\n\n## Binary File Declaration\n\n- `linux_x86_64/bin/node`: Node.js 22, MIT license.\n');
    });
    assert.deepEqual(failures, []);
  });

  it('requires the bundled Node runtime to be executable', () => {
    const failures = inspectAfter((app) => {
      write(app, 'linux_x86_64/bin/node', elf(), 0o644);
      write(app, 'README.md', '## Binary File Declaration\n\nlinux_x86_64/bin/node\n');
    });
    assertFails(failures, 'linux_x86_64/bin/node', /not executable/);
  });

  it('keeps false positives out: masked or placeholder secrets, loopback IPs, key-finding code, EVAL- names', () => {
    const failures = inspectAfter((app) => {
      write(app, 'default/fake_settings.conf', '[proxy]\nproxy_url = http://127.0.0.1:3128\nproxy_password = ******\n');
      write(app, 'default/props.conf', '[fake:st]\nKV_MODE = json\nREPORT-fields = fake_fields\nLOOKUP-severity = fake_lookup sev OUTPUT severity\nEVAL-token = coalesce(a, b)\n');
      write(app, 'bin/x.js', 'if (!/-----BEGIN PRIVATE KEY-----/.test(s)) throw new Error("no PEM private key (-----BEGIN PRIVATE KEY-----)");\nconst ip = "192.168.1.1";\n');
    });
    assert.deepEqual(failures, []);
  });

  it('warns (does not fail) when the manifest title and the label differ', () => {
    const app = validApp();
    write(app, 'default/app.conf', readFileSync(join(app, 'default/app.conf'), 'utf8').replace('label = Fake Add-on', 'label = Something Else'));
    const result = inspectApp(app, { metafile: NO_PACKAGES });
    assert.deepEqual(result.failures, []);
    assert.match(result.warnings.join('\n'), /^app\.manifest: info\.title/m);
  });

  it('cross-checks the notices with the bundled packages of the metafile', () => {
    const failures = inspectAfter(() => undefined, { metafile: { inputs: { 'node_modules/undici/index.js': {}, 'src/x.ts': {} } } });
    assertFails(failures, 'THIRD-PARTY-NOTICES.txt', /undici/);
  });

  it('fails a .tgz over the Splunk Cloud limit and warns over half of it', () => {
    assertFails(inspectAfter(() => undefined, { metafile: NO_PACKAGES, tgzBytes: 129 * 1024 * 1024 }), '(package)', /128\.0 MB/);
    const app = validApp();
    const result = inspectApp(app, { metafile: NO_PACKAGES, tgzBytes: 65 * 1024 * 1024 });
    assert.deepEqual(result.failures, []);
    assert.match(result.warnings.join('\n'), /\(package\)/);
  });
});

describe('inspectPackage', () => {
  it('inspects the one app folder of a .tgz and reports its size', async () => {
    const app = validApp();
    const file = join(dirname(app), `${APP}.tgz`);
    await tar.c({ gzip: true, file, cwd: dirname(app), portable: true }, [APP]);
    const result = await inspectPackage(file, { metafile: NO_PACKAGES });
    assert.deepEqual(result.failures, []);
    assert.equal(typeof result.report['tgz bytes'], 'number');
  });

  it('fails a .tgz with more than one top-level entry', async () => {
    const app = validApp();
    write(dirname(app), 'stray.txt', 'x');
    const file = join(dirname(app), `${APP}.tgz`);
    await tar.c({ gzip: true, file, cwd: dirname(app), portable: true }, [APP, 'stray.txt']);
    const result = await inspectPackage(file, { metafile: NO_PACKAGES });
    assertFails(result.failures, `${APP}.tgz`, /exactly one app folder/);
  });
});

describe('thirdPartyNotices', () => {
  const metafile: MetafileLike = {
    inputs: {
      'src/inputs/x.ts': {},
      'node_modules/undici/index.js': {},
      'node_modules/undici/lib/core/util.js': {},
      'node_modules/@azure/msal-node/dist/index.mjs': {},
      'node_modules/needle/node_modules/sax/lib/sax.js': {},
      '(disabled):node_modules/needle/lib/x.js': {},
    },
  };
  const pkg = (dir: string): { name: string; version: string } => JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { name: string; version: string };

  it('finds each package once, scoped and nested ones included, sorted by name', () => {
    assert.deepEqual(bundledPackages(metafile), [
      { name: '@azure/msal-node', dir: 'node_modules/@azure/msal-node' },
      { name: 'needle', dir: 'node_modules/needle' },
      { name: 'sax', dir: 'node_modules/needle/node_modules/sax' },
      { name: 'undici', dir: 'node_modules/undici' },
    ]);
  });

  it('names every package with its version, license, repository and full license text, in order', () => {
    const text = thirdPartyNotices(metafile, ROOT);
    const headings = ['node_modules/@azure/msal-node', 'node_modules/needle', 'node_modules/needle/node_modules/sax', 'node_modules/undici'].map((dir) => {
      const { name, version } = pkg(dir);
      const at = text.search(new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} ${version.replace(/\./g, '\\.')} \\(`, 'm'));
      assert.ok(at >= 0, `${name} ${version} has no heading`);
      return at;
    });
    assert.deepEqual([...headings].sort((a, b) => a - b), headings, 'sections are sorted by package name');
    assert.match(text, /^undici \S+ \(MIT\)\nhttps:\/\/github\.com\/nodejs\/undici$/m);
    const undiciLicense = readFileSync(join(ROOT, 'node_modules/undici/LICENSE'), 'utf8').replace(/\r\n?/g, '\n').trim();
    assert.ok(text.includes(undiciLicense.split('\n').map((l) => l.trimEnd()).join('\n')), 'the full undici LICENSE is included');
    const msalCopyright = readFileSync(join(ROOT, 'node_modules/@azure/msal-node/LICENSE'), 'utf8').split(/\r?\n/).find((l) => /copyright/i.test(l));
    assert.ok(msalCopyright && text.includes(msalCopyright.trim()), 'the msal-node copyright line is included');
    assert.ok(!text.includes('src/inputs'), 'own sources are not third-party');
    assert.match(text, /\n-{80}\n/);
  });

  it('is deterministic, whatever the order of the metafile inputs', () => {
    const reversed: MetafileLike = { inputs: Object.fromEntries(Object.entries(metafile.inputs).reverse()) };
    assert.equal(thirdPartyNotices(reversed, ROOT), thirdPartyNotices(metafile, ROOT));
  });

  it('falls back to the license field when a package ships no license file', () => {
    const root = mkdtempSync(join(tmpdir(), 'notices-test-'));
    temps.push(root);
    write(root, 'node_modules/@x/nolicense/package.json', JSON.stringify({ name: '@x/nolicense', version: '1.0.0', license: 'MIT', repository: 'x/nolicense' }));
    const text = thirdPartyNotices({ inputs: { 'node_modules/@x/nolicense/index.js': {} } }, root);
    assert.match(text, /^@x\/nolicense 1\.0\.0 \(MIT\)\nhttps:\/\/github\.com\/x\/nolicense$/m);
    assert.match(text, /MIT \(the package ships no license file\)/);
  });

  it('turns repository fields into https URLs', () => {
    assert.equal(repositoryUrl({ type: 'git', url: 'git+ssh://git@github.com/Brightspace/node-ecdsa-sig-formatter.git' }), 'https://github.com/Brightspace/node-ecdsa-sig-formatter');
    assert.equal(repositoryUrl('git@github.com:goinstant/buffer-equal-constant-time.git'), 'https://github.com/goinstant/buffer-equal-constant-time');
    assert.equal(repositoryUrl({ url: 'git://github.com/feross/safe-buffer.git' }), 'https://github.com/feross/safe-buffer');
    assert.equal(repositoryUrl('vercel/ms'), 'https://github.com/vercel/ms');
    assert.equal(repositoryUrl(undefined), undefined);
  });
});

describe('the built app', () => {
  const appDir = join(ROOT, 'dist', 'TA-defender-xdr');
  const metafilePath = join(ROOT, 'dist', 'metafile.json');
  /** The platform packages' staging folders (the generic app plus a Node runtime), when built. */
  const platformDirs = ['linux-x86_64', 'windows-x86_64'].map((p) => join(ROOT, 'dist', 'platforms', p, 'TA-defender-xdr')).filter((d) => existsSync(d));

  it('passes every check (THIRD-PARTY-NOTICES.txt may still be missing)', (t) => {
    if (!existsSync(join(appDir, 'default', 'app.conf'))) return t.skip('dist/TA-defender-xdr is not built (npm run build)');
    const metafile = existsSync(metafilePath) ? (JSON.parse(readFileSync(metafilePath, 'utf8')) as MetafileLike) : undefined;
    for (const dir of [appDir, ...platformDirs]) {
      const { failures } = inspectApp(dir, { metafile });
      // Until the build writes the notices, their absence is the one accepted failure.
      const unexpected = failures.filter((f) => !/^THIRD-PARTY-NOTICES\.txt: missing/.test(f));
      assert.deepEqual(unexpected, [], dir);
    }
  });
});

function pemKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The start of a 64-bit ELF executable header; the magic bytes are what counts. */
function elf(): Buffer {
  const buffer = Buffer.alloc(128);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(buffer);
  return buffer;
}

/** An MZ stub whose e_lfanew (at 0x3c) points at a "PE\0\0" signature. */
function pe(): Buffer {
  const buffer = Buffer.alloc(256);
  buffer.write('MZ', 0, 'latin1');
  buffer.writeUInt32LE(0x80, 0x3c);
  buffer.write('PE\0\0', 0x80, 'latin1');
  return buffer;
}
