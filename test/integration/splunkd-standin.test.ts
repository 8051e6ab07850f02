import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import splunkjs from 'splunk-sdk';
import { Agent, request } from 'undici';
import { SplunkdStandIn } from '../../tools/simulator/splunkd.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';

const APP = 'TA-defender-xdr';
const KEY = 'session-key-123';
const NS = `/servicesNS/nobody/${APP}`;

// ---------------------------------------------------------------- the parts of splunk-sdk 2.x these tests drive

interface SdkEntity {
  name: string;
  qualifiedPath: string;
  properties(): Record<string, unknown>;
  acl(): Record<string, unknown>;
  fetch(): Promise<SdkEntity>;
  update(props: Record<string, string>): Promise<SdkEntity>;
  remove(): Promise<unknown>;
}
interface SdkCollection {
  fetch(): Promise<this>;
  list(): SdkEntity[];
  item(name: string): SdkEntity | null;
  paging(): { total: number; perPage: number; offset: number };
}
interface SdkPasswords extends SdkCollection {
  create(params: Record<string, string>): Promise<SdkEntity>;
}
interface SdkConfFile extends SdkCollection {
  create(stanza: string, values: Record<string, string>): Promise<SdkEntity>;
}
interface SdkService {
  get(path: string, params: Record<string, string>): Promise<SdkReply>;
  storagePasswords(): SdkPasswords;
  configurations(ns: { owner: string; app: string }): { fetch(): Promise<{ item(name: string): SdkConfFile | null }> };
}
/** What splunk-sdk resolves with, and rejects with on HTTP >= 400. */
interface SdkReply {
  status: number;
  data: { entry?: { name: string; content: Record<string, unknown>; acl: Record<string, unknown> }[]; messages?: { type: string; text: string }[] };
}

function sdkService(standIn: SplunkdStandIn, sessionKey = KEY): SdkService {
  const url = new URL(standIn.serverUri);
  const service = new splunkjs.Service({ scheme: url.protocol.replace(':', ''), host: url.hostname, port: url.port, sessionKey, owner: 'nobody', app: APP });
  return service as unknown as SdkService;
}

async function started(t: TestContext, tls?: { key: string; cert: string }): Promise<SplunkdStandIn> {
  const standIn = new SplunkdStandIn({ sessionKey: KEY, tls });
  await standIn.start();
  t.after(() => standIn.stop());
  return standIn;
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: () => Record<string, unknown> & { entry: Record<string, unknown>[]; messages: { type: string; text: string }[] };
}

/** A plain HTTP call, the way non-SDK code (undici) talks to splunkd. */
async function call(
  standIn: SplunkdStandIn,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  opts: { form?: Record<string, string>; auth?: string | null; outputMode?: string | null } = {},
): Promise<Answer> {
  const url = new URL(path, standIn.serverUri);
  const outputMode = opts.outputMode === undefined ? 'json' : opts.outputMode;
  if (outputMode !== null) url.searchParams.set('output_mode', outputMode);
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? `Splunk ${KEY}` : opts.auth;
  if (auth !== null) headers.authorization = auth;
  let body: string | undefined;
  if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  const res = await request(url, { method, headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, contentType: String(res.headers['content-type']), text, json: () => JSON.parse(text) };
}

const ACCOUNT = { tenant_id: '11111111-2222-3333-4444-555555555555', client_id: '66666666-7777-8888-9999-000000000000', cloud: 'commercial' };

// ---------------------------------------------------------------- splunk-sdk as the client

describe('splunkd stand-in through splunk-sdk', () => {
  it('serves a conf stanza with splunkd-shaped content and acl', async (t) => {
    const standIn = await started(t);
    standIn.setConfStanza(APP, 'defender_xdr_account', 'acct1', ACCOUNT);

    const reply = await sdkService(standIn).get('configs/conf-defender_xdr_account/acct1', {});

    assert.equal(reply.status, 200);
    const [entry] = reply.data.entry ?? [];
    assert.equal(entry.name, 'acct1');
    assert.deepEqual(entry.content, {
      ...ACCOUNT,
      disabled: false,
      'eai:acl': null,
      'eai:appName': APP,
      'eai:userName': 'nobody',
    });
    assert.equal(entry.acl.app, APP);
    assert.equal(entry.acl.sharing, 'app');
    const sent = standIn.requests.at(-1);
    assert.equal(sent?.path, `${NS}/configs/conf-defender_xdr_account/acct1`);
    assert.equal(sent?.query.get('output_mode'), 'json');
    assert.equal(sent?.authorized, true);
  });

  it('rejects with splunkd\'s 404 message for a missing stanza', async (t) => {
    const standIn = await started(t);
    await assert.rejects(sdkService(standIn).get('configs/conf-defender_xdr_account/nope', {}), (failure: SdkReply) => {
      assert.equal(failure.status, 404);
      assert.deepEqual(failure.data.messages, [{ type: 'ERROR', text: 'Could not find object id=nope' }]);
      return true;
    });
  });

  it('rejects with 401 for a wrong session key', async (t) => {
    const standIn = await started(t);
    await assert.rejects(sdkService(standIn, 'stale').get('configs/conf-defender_xdr_account/acct1', {}), (failure: SdkReply) => {
      assert.equal(failure.status, 401);
      assert.deepEqual(failure.data.messages, [{ type: 'WARN', text: 'call not properly authenticated' }]);
      return true;
    });
    assert.equal(standIn.requests.at(-1)?.authorized, false);
  });

  it('lists, fetches, creates, updates and removes storage passwords', async (t) => {
    const standIn = await started(t);
    standIn.setPassword(APP, APP, 'acct1', 's3cret');
    const passwords = await sdkService(standIn).storagePasswords().fetch();

    assert.deepEqual(passwords.list().map((p) => p.name), [`${APP}:acct1:`]);
    const stored = passwords.item(`${APP}:acct1:`);
    assert.ok(stored);
    assert.equal(stored.properties().clear_password, 's3cret');
    assert.equal(stored.properties().password, '********');
    assert.equal(stored.properties().realm, APP);
    assert.equal(stored.properties().username, 'acct1');
    assert.match(String(stored.properties().encr_password), /^\$7\$/);
    assert.equal(standIn.requests.at(-1)?.query.get('count'), '0');

    const created = await passwords.create({ name: '__proxy__', password: 'p@ss word', realm: APP });
    assert.equal(created.name, `${APP}:__proxy__:`);
    assert.equal(created.properties().clear_password, 'p@ss word');
    assert.equal(created.qualifiedPath, `${NS}/storage/passwords/${encodeURIComponent(`${APP}:__proxy__:`)}`);

    const updated = await created.update({ password: 'rotated' });
    assert.equal(updated.properties().clear_password, 'rotated');
    await updated.remove();

    const after = await sdkService(standIn).storagePasswords().fetch();
    assert.deepEqual(after.list().map((p) => p.name), [`${APP}:acct1:`]);
  });

  it('lists conf files and their stanzas through service.configurations()', async (t) => {
    const standIn = await started(t);
    standIn.setConfStanza(APP, 'defender_xdr_account', 'acct1', ACCOUNT);
    standIn.setConfStanza(APP, 'defender_xdr_account', 'acct2', { ...ACCOUNT, cloud: 'gcc' });

    const files = await sdkService(standIn).configurations({ owner: 'nobody', app: APP }).fetch();
    const accounts = await files.item('defender_xdr_account')?.fetch();

    assert.deepEqual(accounts?.list().map((s) => s.name), ['acct1', 'acct2']);
    assert.equal(accounts?.item('acct2')?.properties().cloud, 'gcc');
    assert.equal(accounts?.paging().total, 2);
  });

  it('creates and updates a stanza through the conf-file collection', async (t) => {
    const standIn = await started(t);
    standIn.setConfStanza(APP, 'defender_xdr_settings', 'logging', { loglevel: 'INFO' });
    const files = await sdkService(standIn).configurations({ owner: 'nobody', app: APP }).fetch();
    assert.equal(files.item('defender_xdr_account'), null);
    const settings = files.item('defender_xdr_settings');
    assert.ok(settings);

    const proxy = await settings.create('proxy', { proxy_enabled: '1', proxy_url: 'http://proxy.example:3128' });
    assert.equal(proxy.properties().proxy_url, 'http://proxy.example:3128');
    assert.equal(standIn.requests.at(-1)?.status, 201);
    const edited = await proxy.update({ proxy_enabled: '0' });
    assert.equal(edited.properties().proxy_enabled, '0');
    assert.equal(edited.properties().proxy_url, 'http://proxy.example:3128');
  });

  it('serves the app\'s shipped default/ conf files after loadConfDir', async (t) => {
    const standIn = await started(t);
    standIn.loadConfDir(APP, fileURLToPath(new URL('../../default', import.meta.url)));
    const reply = await sdkService(standIn).get('configs/conf-defender_xdr_settings/collection', {});
    assert.equal(reply.data.entry?.[0].content.reread_window, '300');
    const proxy = await sdkService(standIn).get('configs/conf-defender_xdr_settings/proxy', {});
    assert.equal(proxy.data.entry?.[0].content.proxy_enabled, 'false');
    assert.equal(proxy.data.entry?.[0].content.proxy_url, '');
  });

  it('speaks https when given a certificate (splunk-sdk skips verification for splunkd)', async (t) => {
    const standIn = await started(t, await makeLocalCertificate());
    assert.match(standIn.serverUri, /^https:\/\/127\.0\.0\.1:\d+$/);
    standIn.setConfStanza(APP, 'defender_xdr_account', 'acct1', ACCOUNT);
    const reply = await sdkService(standIn).get('configs/conf-defender_xdr_account/acct1', {});
    assert.equal(reply.data.entry?.[0].content.tenant_id, ACCOUNT.tenant_id);
  });
});

// ---------------------------------------------------------------- plain HTTP (undici)

describe('splunkd stand-in over plain HTTP', () => {
  it('answers 401 without the Splunk session header', async (t) => {
    const standIn = await started(t);
    for (const auth of [null, `Bearer ${KEY}`, 'Splunk wrong']) {
      const res = await call(standIn, 'GET', `${NS}/storage/passwords`, { auth });
      assert.equal(res.status, 401);
      assert.deepEqual(res.json(), { messages: [{ type: 'WARN', text: 'call not properly authenticated' }] });
    }
    assert.deepEqual(standIn.requests.map((r) => [r.authorized, r.status]), [[false, 401], [false, 401], [false, 401]]);
  });

  it('wraps entries in splunkd\'s envelope', async (t) => {
    const standIn = await started(t);
    standIn.setConfStanza(APP, 'defender_xdr_account', 'acct1', ACCOUNT);
    const res = await call(standIn, 'GET', `${NS}/configs/conf-defender_xdr_account`);
    assert.equal(res.status, 200);
    assert.match(res.contentType, /^application\/json/);
    const body = res.json();
    assert.equal(body.origin, `${standIn.serverUri}${NS}/configs/conf-defender_xdr_account`);
    assert.deepEqual(body.generator, { build: '1fff88043d5f', version: '9.2.0' });
    assert.deepEqual(body.paging, { total: 1, perPage: 30, offset: 0 });
    assert.deepEqual(body.messages, []);
    assert.match(String(body.updated), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    const [entry] = body.entry;
    assert.equal(entry.id, `${standIn.serverUri}${NS}/configs/conf-defender_xdr_account/acct1`);
    assert.equal(entry.author, 'nobody');
    assert.deepEqual((entry.links as Record<string, string>).alternate, `${NS}/configs/conf-defender_xdr_account/acct1`);
    assert.deepEqual(entry.acl, {
      app: APP,
      can_change_perms: true,
      can_list: true,
      can_share_app: true,
      can_share_global: true,
      can_share_user: true,
      can_write: true,
      modifiable: true,
      owner: 'nobody',
      perms: { read: ['*'], write: ['admin', 'sc_admin'] },
      removable: true,
      sharing: 'app',
    });
  });

  it('creates (201), refuses a duplicate (409), updates, deletes and then 404s a stanza', async (t) => {
    const standIn = await started(t);
    const collection = `${NS}/configs/conf-defender_xdr_account`;

    const created = await call(standIn, 'POST', collection, { form: { name: 'acct1', ...ACCOUNT } });
    assert.equal(created.status, 201);
    assert.equal(created.json().entry[0].name, 'acct1');
    assert.equal((created.json().entry[0].content as Record<string, unknown>).name, undefined);

    const duplicate = await call(standIn, 'POST', collection, { form: { name: 'acct1' } });
    assert.equal(duplicate.status, 409);
    assert.deepEqual(duplicate.json().messages, [{ type: 'ERROR', text: 'An object with name=acct1 already exists' }]);

    const updated = await call(standIn, 'POST', `${collection}/acct1`, { form: { cloud: 'gcc_high' } });
    assert.equal(updated.status, 200);
    assert.equal((updated.json().entry[0].content as Record<string, unknown>).cloud, 'gcc_high');
    assert.equal((updated.json().entry[0].content as Record<string, unknown>).tenant_id, ACCOUNT.tenant_id);

    const missingUpdate = await call(standIn, 'POST', `${collection}/ghost`, { form: { cloud: 'gcc' } });
    assert.equal(missingUpdate.status, 404);

    const deleted = await call(standIn, 'DELETE', `${collection}/acct1`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.json().entry, []);

    const gone = await call(standIn, 'GET', `${collection}/acct1`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.json().messages, [{ type: 'ERROR', text: 'Could not find object id=acct1' }]);
  });

  it('inherits [default] values and reports disabled as a boolean', async (t) => {
    const standIn = await started(t);
    standIn.setConfStanza(APP, 'defender_xdr_settings', 'default', { request_timeout: '60' });
    standIn.setConfStanza(APP, 'defender_xdr_settings', 'collection', { max_retries: '6', disabled: '1' });
    const res = await call(standIn, 'GET', `${NS}/configs/conf-defender_xdr_settings/collection`);
    const content = res.json().entry[0].content as Record<string, unknown>;
    assert.equal(content.request_timeout, '60');
    assert.equal(content.max_retries, '6');
    assert.equal(content.disabled, true);
  });

  it('escapes colons in credential names and finds them by every form splunkd accepts', async (t) => {
    const standIn = await started(t);
    standIn.setPassword(APP, 'realm:with:colons', 'user:x', 'pw1');
    const escaped = 'realm\\:with\\:colons:user\\:x:';

    const list = await call(standIn, 'GET', `${NS}/storage/passwords`);
    assert.deepEqual(list.json().entry.map((e) => e.name), [escaped]);
    assert.equal(list.json().entry[0].id, `${standIn.serverUri}${NS}/storage/passwords/${encodeURIComponent(escaped)}`);

    for (const id of [escaped, escaped.slice(0, -1), 'user\\:x']) {
      const one = await call(standIn, 'GET', `${NS}/storage/passwords/${encodeURIComponent(id)}`);
      assert.equal(one.status, 200, id);
      assert.deepEqual(
        { ...(one.json().entry[0].content as Record<string, unknown>), encr_password: undefined },
        { clear_password: 'pw1', 'eai:acl': null, encr_password: undefined, password: '********', realm: 'realm:with:colons', username: 'user:x' },
      );
    }
    const unescaped = await call(standIn, 'GET', `${NS}/storage/passwords/${encodeURIComponent('realm:with:colons:user:x:')}`);
    assert.equal(unescaped.status, 404);
  });

  it('creates, refuses duplicates and bad arguments, updates and deletes credentials', async (t) => {
    const standIn = await started(t);
    const collection = `${NS}/storage/passwords`;
    const entity = `${collection}/${encodeURIComponent(`${APP}:acct1:`)}`;

    const created = await call(standIn, 'POST', collection, { form: { name: 'acct1', password: 'one', realm: APP } });
    assert.equal(created.status, 201);
    assert.equal(created.json().entry[0].name, `${APP}:acct1:`);

    const duplicate = await call(standIn, 'POST', collection, { form: { name: 'acct1', password: 'two', realm: APP } });
    assert.equal(duplicate.status, 409);

    const badArg = await call(standIn, 'POST', entity, { form: { password: 'two', realm: 'other' } });
    assert.equal(badArg.status, 400);
    assert.deepEqual(badArg.json().messages, [{ type: 'ERROR', text: 'Argument "realm" is not supported by this handler.' }]);

    const updated = await call(standIn, 'POST', entity, { form: { password: 'two' } });
    assert.equal(updated.status, 200);
    assert.equal((updated.json().entry[0].content as Record<string, unknown>).clear_password, 'two');

    assert.equal((await call(standIn, 'DELETE', entity)).status, 200);
    assert.equal((await call(standIn, 'GET', entity)).status, 404);
    assert.equal((await call(standIn, 'DELETE', entity)).status, 404);
  });

  it('scopes objects to their app, as namespaces do', async (t) => {
    const standIn = await started(t);
    standIn.setConfStanza(APP, 'defender_xdr_account', 'acct1', ACCOUNT);
    standIn.setPassword(APP, APP, 'acct1', 's3cret');

    assert.equal((await call(standIn, 'GET', `/servicesNS/nobody/search/configs/conf-defender_xdr_account/acct1`)).status, 404);
    assert.deepEqual((await call(standIn, 'GET', '/servicesNS/nobody/search/storage/passwords')).json().entry, []);
    assert.equal((await call(standIn, 'GET', `/services/configs/conf-defender_xdr_account/acct1`)).status, 200);
    assert.equal((await call(standIn, 'GET', '/services/storage/passwords')).json().entry.length, 1);
    assert.equal((await call(standIn, 'GET', `/servicesNS/admin/${APP}/storage/passwords`)).json().entry.length, 1);

    // A write in a user's namespace is private to that user, as in splunkd.
    await call(standIn, 'POST', `/servicesNS/admin/${APP}/storage/passwords`, { form: { name: 'mine', password: 'x', realm: 'r' } });
    assert.equal((await call(standIn, 'GET', `${NS}/storage/passwords/${encodeURIComponent('r:mine:')}`)).status, 404);
    const own = await call(standIn, 'GET', `/servicesNS/admin/${APP}/storage/passwords/${encodeURIComponent('r:mine:')}`);
    assert.equal((own.json().entry[0].acl as Record<string, unknown>).sharing, 'user');
  });

  it('pages lists like splunkd: 30 by default, count=0 for all', async (t) => {
    const standIn = await started(t);
    for (let i = 0; i < 35; i++) standIn.setConfStanza(APP, 'defender_xdr_account', `acct${String(i).padStart(2, '0')}`, ACCOUNT);
    const firstPage = (await call(standIn, 'GET', `${NS}/configs/conf-defender_xdr_account`)).json();
    assert.equal(firstPage.entry.length, 30);
    assert.deepEqual(firstPage.paging, { total: 35, perPage: 30, offset: 0 });
    const all = (await call(standIn, 'GET', `${NS}/configs/conf-defender_xdr_account?count=0`)).json();
    assert.equal(all.entry.length, 35);
    const tail = (await call(standIn, 'GET', `${NS}/configs/conf-defender_xdr_account?count=10&offset=30`)).json();
    assert.deepEqual(tail.entry.map((e) => e.name), ['acct30', 'acct31', 'acct32', 'acct33', 'acct34']);
  });

  it('answers Atom XML when output_mode is not json', async (t) => {
    const standIn = await started(t);
    standIn.setPassword(APP, APP, 'acct1', 'a<b&c');
    const res = await call(standIn, 'GET', `${NS}/storage/passwords`, { outputMode: null });
    assert.equal(res.status, 200);
    assert.match(res.contentType, /^text\/xml/);
    assert.match(res.text, /<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom"/);
    assert.match(res.text, /<title>TA-defender-xdr:acct1:<\/title>/);
    assert.match(res.text, /<s:key name="clear_password">a&lt;b&amp;c<\/s:key>/);
    assert.match(res.text, /<s:key name="sharing">app<\/s:key>/);

    const missing = await call(standIn, 'GET', `${NS}/storage/passwords/nope`, { outputMode: null });
    assert.equal(missing.status, 404);
    assert.match(missing.text, /<msg type="ERROR">Could not find object id=nope<\/msg>/);
  });

  it('injects failures from failNext, then recovers', async (t) => {
    const standIn = await started(t);
    standIn.setPassword(APP, APP, 'acct1', 's3cret');
    standIn.failNext = [
      { match: /^GET .*\/storage\/passwords/, status: 503, times: 2 },
      { match: /conf-defender_xdr_account/, status: 0, times: 1 },
    ];

    assert.equal((await call(standIn, 'GET', `${NS}/storage/passwords`)).status, 503);
    assert.equal((await call(standIn, 'GET', `${NS}/storage/passwords`)).status, 503);
    assert.equal((await call(standIn, 'GET', `${NS}/storage/passwords`)).status, 200);
    await assert.rejects(call(standIn, 'GET', `${NS}/configs/conf-defender_xdr_account`));
    assert.equal((await call(standIn, 'GET', `${NS}/configs/conf-defender_xdr_account`)).status, 200);
    assert.deepEqual(standIn.failNext, []);
    assert.deepEqual(standIn.requests.map((r) => r.status), [503, 503, 200, 0, 200]);
  });

  it('stops even with keep-alive connections open', async () => {
    const standIn = new SplunkdStandIn({ sessionKey: KEY });
    await standIn.start();
    const dispatcher = new Agent({ keepAliveTimeout: 60_000 });
    const res = await request(`${standIn.serverUri}${NS}/storage/passwords?output_mode=json`, { headers: { authorization: `Splunk ${KEY}` }, dispatcher });
    await res.body.text();
    await standIn.stop();
    await dispatcher.close();
  });

  it('keeps only the content keys named by f, for writes too (the page never gets clear_password back)', async (t) => {
    const standIn = await started(t);
    const created = await call(standIn, 'POST', `${NS}/storage/passwords?f=username`, { form: { name: 'acct1', realm: APP, password: 'Canary~pw' } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.json().entry[0].content, { username: 'acct1' });
    assert.doesNotMatch(created.text, /Canary~pw/);
    const listed = await call(standIn, 'GET', `${NS}/storage/passwords?f=user*&f=realm`);
    assert.deepEqual(listed.json().entry[0].content, { realm: APP, username: 'acct1' });
    const full = await call(standIn, 'GET', `${NS}/storage/passwords`);
    assert.equal((full.json().entry[0].content as Record<string, unknown>).clear_password, 'Canary~pw');
  });
});

describe('splunkd stand-in: data/inputs/<scheme> of a registered modular input', () => {
  async function withScheme(t: TestContext) {
    const standIn = await started(t);
    const validated: string[] = [];
    standIn.setConfStanza(APP, 'inputs', 'demo_scheme', { interval: '300', disabled: 'true', start_by_shell: 'false' });
    standIn.registerModularInput({
      scheme: 'demo_scheme',
      args: [{ name: 'account', requiredOnCreate: true }, { name: 'filter', requiredOnCreate: false }],
      // Like a script: refuses account "bad" with an <error><message>, exit 1.
      validate: async (xml) => {
        validated.push(xml);
        return /<param name="account">bad<\/param>/.test(xml) ? { code: 1, stdout: '<error><message>Account &quot;bad&quot; does not exist.</message></error>' } : { code: 0, stdout: '' };
      },
    });
    return { standIn, validated, collection: `${NS}/data/inputs/demo_scheme` };
  }

  it('creates through external validation, over the scheme default stanza', async (t) => {
    const { standIn, validated, collection } = await withScheme(t);
    const created = await call(standIn, 'POST', collection, { form: { name: 'one', account: 'good', interval: '600', disabled: '0' } });
    assert.equal(created.status, 201);
    const content = created.json().entry[0].content as Record<string, unknown>;
    assert.equal(content.account, 'good');
    assert.equal(content.interval, '600');
    assert.equal(content.start_by_shell, 'false', 'from the scheme default stanza');
    assert.equal(content.disabled, false);
    assert.equal(validated.length, 1);
    assert.match(validated[0], /^<\?xml[\s\S]*<items><server_host>[\s\S]*<session_key>session-key-123<\/session_key>[\s\S]*<item name="one"><param name="account">good<\/param>/);
    const stanza = await call(standIn, 'GET', `${NS}/configs/conf-inputs/demo_scheme%3A%2F%2Fone`);
    assert.equal((stanza.json().entry[0].content as Record<string, unknown>).account, 'good', 'stored as inputs.conf [demo_scheme://one]');
  });

  it('refuses what splunkd refuses: the script\'s message, unknown or missing arguments, duplicates', async (t) => {
    const { standIn, collection } = await withScheme(t);
    const refused = await call(standIn, 'POST', collection, { form: { name: 'x', account: 'bad' } });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.json().messages, [{ type: 'ERROR', text: 'Account "bad" does not exist.' }]);
    assert.equal((await call(standIn, 'GET', collection)).json().entry.length, 0, 'nothing written');
    assert.deepEqual((await call(standIn, 'POST', collection, { form: { name: 'x', account: 'good', secret: 'no' } })).json().messages, [{ type: 'ERROR', text: 'Argument "secret" is not supported by this handler.' }]);
    assert.equal((await call(standIn, 'POST', collection, { form: { name: 'x' } })).status, 400);
    assert.equal((await call(standIn, 'POST', collection, { form: { name: 'x', account: 'good' } })).status, 201);
    assert.equal((await call(standIn, 'POST', collection, { form: { name: 'x', account: 'good' } })).status, 409);
  });

  it('edits (validating the merged parameters), disables, enables and deletes', async (t) => {
    const { standIn, validated, collection } = await withScheme(t);
    await call(standIn, 'POST', collection, { form: { name: 'one', account: 'good', filter: "severity eq 'high'" } });
    const edited = await call(standIn, 'POST', `${collection}/one`, { form: { interval: '900' } });
    assert.equal(edited.status, 200);
    // The edit is validated with the stored parameters plus the change, as splunkd passes them.
    assert.match(validated[1], /<param name="account">good<\/param>[\s\S]*<param name="filter">severity eq 'high'<\/param>[\s\S]*<param name="interval">900<\/param>/);
    assert.equal((await call(standIn, 'POST', `${collection}/one`, { form: { account: 'bad' } })).status, 400);
    assert.equal(((await call(standIn, 'GET', `${collection}/one`)).json().entry[0].content as Record<string, unknown>).account, 'good');
    const disabled = await call(standIn, 'POST', `${collection}/one/disable`, { form: {} });
    assert.equal((disabled.json().entry[0].content as Record<string, unknown>).disabled, true);
    const enabled = await call(standIn, 'POST', `${collection}/one/enable`, { form: {} });
    assert.equal((enabled.json().entry[0].content as Record<string, unknown>).disabled, false);
    assert.equal(validated.length, 3, 'enable and disable do not validate');
    assert.equal((await call(standIn, 'DELETE', `${collection}/one`)).status, 200);
    assert.equal((await call(standIn, 'GET', `${collection}/one`)).status, 404);
    assert.equal((await call(standIn, 'GET', `${NS}/data/inputs/unknown_scheme`)).status, 404);
  });
});
