/**
 * A stand-in for splunkd's management REST API: the endpoints the add-on uses (conf files and
 * storage/passwords), in splunkd's own wire format, so the production code can be driven through
 * the real `splunk-sdk` client (or plain HTTP) in tests and in `npm start`.
 *
 * What it models, and how:
 * - Auth: every request needs `Authorization: Splunk <sessionKey>`; otherwise 401 with splunkd's
 *   `call not properly authenticated` message.
 * - Namespaces: `/servicesNS/<owner>/<app>/…` and `/services/…`. Objects belong to an app and an owner
 *   with a sharing level: `app` (owner `nobody`), `user` (private to its owner) or `global`.
 *   A read sees objects of its app, global objects of other apps, and private objects of its owner;
 *   `-` is a wildcard, and `/services/…` reads behave as `/servicesNS/-/-/…`. Writes go to the
 *   namespace's app (owner `nobody` → app-level, another owner → private); writes through
 *   `/services/…` or a wildcard namespace land in app `system`, shared globally.
 * - Conf files merge as splunkd layers them: for each stanza, global, then app, then private values,
 *   on top of the file's `[default]` stanza. Content holds the values as strings plus splunkd's
 *   `disabled` (a JSON boolean), `eai:acl` (null), `eai:appName` and `eai:userName`.
 * - storage/passwords entries are named `<realm>:<username>:` with ':' escaped as '\:'; an entity can
 *   also be addressed as `<realm>:<username>` or, for a unique username, `<username>` (as splunkd allows).
 * - Lists page like splunkd: `count` defaults to 30 (0 = all), `offset`, and a plain `search` filter.
 * - `f` (repeatable, `*` wildcards) keeps only the matching content keys of each entry in the answer, for
 *   any method (the page writes secrets with `f=username`, so the answer does not echo clear_password).
 * - Output: JSON when `output_mode` starts with `json` (query string or POST body), otherwise a
 *   minimal Atom feed (`<feed>`/`<entry>`/`<s:dict>`), and errors as `<response><messages>`, as splunkd does.
 * - Statuses: 201 on create, 200 on read/update/delete (delete answers with the remaining list),
 *   404 `Could not find object id=<name>`, 409 `An object with name=<name> already exists`,
 *   400 `Argument "<arg>" is not supported by this handler.` for passwords.
 * - Modular inputs (`data/inputs/<scheme>`), for schemes registered with `registerModularInput` (splunkd
 *   learns them from `--scheme`): stanzas `<scheme>://<name>` of inputs.conf over the scheme's default
 *   stanza; list, read, create (`name` + args), edit, `enable`/`disable`, delete. Arguments the scheme
 *   does not declare (beyond splunkd's generic interval, index, host, source, sourcetype, disabled) are
 *   refused; create and edit run the scheme's external validation with splunkd's `<items>` XML
 *   (server_uri, session_key, the merged parameters) and refuse with the script's `<message>` (HTTP 400).
 * - Also `GET properties` (the conf files visible, used by `service.configurations()`) and `GET server/info`.
 * - `loadConfDir(app, dir)` loads an app's shipped `default/*.conf`, as splunkd would see them.
 *
 * - `search/jobs` (POST, oneshot) is answered by `search` when set (tools/simulator/search.ts).
 *
 * Failure injection: `failNext` holds one rule or a list; a rule whose `match` tests
 * `"<METHOD> <raw path>"` (e.g. /^GET .*storage\/passwords/) answers `status` for the next `times`
 * matching requests (before auth), with splunkd's error body or `body` if given; status 0 drops the connection.
 */
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { secretName } from '../../src/splunk/secretName.js';
import { parseConf } from '../conf.js';
import { PersistentEndpoint, type PersistentEndpointOptions } from './persistentEndpoint.js';
import type { SearchHeadStandIn } from './search.js';

export interface SplunkdStandInOptions {
  sessionKey: string;
  /** When given, serve https with this PEM key and certificate; otherwise plain http. */
  tls?: { key: string; cert: string };
}

export interface FailRule {
  /** Tested against `"<METHOD> <raw path>"`, e.g. `"GET /servicesNS/nobody/TA-defender-xdr/storage/passwords"`. */
  match: RegExp;
  /** HTTP status to answer; 0 destroys the connection instead (a network failure). */
  status: number;
  /** How many matching requests fail before the rule is used up. */
  times: number;
  /** Response body instead of splunkd's `{"messages":[…]}` error. */
  body?: string;
}

export interface ModularInputScheme {
  scheme: string;
  /** The scheme's arguments (`<endpoint><args>`), with required_on_create. */
  args: { name: string; requiredOnCreate: boolean }[];
  /** Runs the script with `--validate-arguments` and this XML on stdin (when use_external_validation). */
  validate?: (itemsXml: string) => Promise<{ code: number | null; stdout: string }>;
}

/** Arguments splunkd accepts on every data/inputs endpoint. */
const GENERIC_INPUT_ARGS = new Set(['interval', 'index', 'host', 'source', 'sourcetype', 'disabled']);

export interface RecordedRequest {
  method: string;
  /** The path as received (still percent-encoded). */
  path: string;
  query: URLSearchParams;
  /** The form-encoded body of a POST (empty otherwise). */
  form: URLSearchParams;
  authorized: boolean;
  /** The status answered; 0 when a failure rule dropped the connection. */
  status: number;
}

type Sharing = 'app' | 'user' | 'global';
type ContentValue = string | boolean | null;

interface Scope {
  app: string;
  owner: string;
  sharing: Sharing;
}

interface ConfLayer extends Scope {
  file: string;
  name: string;
  values: Record<string, string>;
  updated: Date;
}

interface Secret extends Scope {
  realm: string;
  username: string;
  password: string;
  updated: Date;
}

interface Namespace {
  owner: string; // '-' = any
  app: string; // '-' = any
  prefix: string; // as requested: '/services' or '/servicesNS/<owner>/<app>'
}

interface Message {
  type: 'ERROR' | 'WARN' | 'INFO';
  text: string;
}

interface FeedEntry {
  name: string;
  id: string;
  updated: string;
  links: Record<string, string>;
  author: string;
  acl: Record<string, unknown>;
  content: Record<string, ContentValue>;
}

interface Feed {
  title: string;
  /** Path of the collection in the requested namespace, e.g. /servicesNS/nobody/app/storage/passwords. */
  origin: string;
  links: Record<string, string>;
  entries: FeedEntry[];
  paging: { total: number; perPage: number; offset: number };
}

interface Reply {
  status: number;
  feed?: Feed;
  messages?: Message[];
}

interface Call {
  method: string;
  ns: Namespace;
  /** Decoded path segments after the namespace. */
  segments: string[];
  query: URLSearchParams;
  form: URLSearchParams;
}

const GENERATOR = { build: '1fff88043d5f', version: '9.2.0' };
const DEFAULT_PERMS = { read: ['*'], write: ['admin', 'sc_admin'] };
/** POST arguments that steer the response rather than describe the object. */
const CONTROL_ARGS = new Set(['output_mode', 'f']);

export class SplunkdStandIn {
  readonly requests: RecordedRequest[] = [];
  failNext?: FailRule | FailRule[];
  /** Answers `POST search/jobs` (oneshot) when set; see search.ts. */
  search?: SearchHeadStandIn;

  private readonly confLayers: ConfLayer[] = [];
  private readonly secrets: Secret[] = [];
  private readonly schemes = new Map<string, ModularInputScheme>();
  /** Users other than the admin session, by session key (see addUser). */
  private readonly users = new Map<string, { user: string; capabilities: Set<string> }>();
  private readonly persistent: PersistentEndpoint[] = [];
  private server?: Server;
  private uri?: string;

  constructor(private readonly opts: SplunkdStandInOptions) {}

  get serverUri(): string {
    if (!this.uri) throw new Error('SplunkdStandIn is not started');
    return this.uri;
  }

  async start(port = 0): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ messages: [{ type: 'ERROR', text: String(error) }] }));
      });
    };
    const server = this.opts.tls ? createHttpsServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, handler) : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const { port: bound } = server.address() as AddressInfo;
    this.uri = `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${bound}`;
    return this.uri;
  }

  /** A user who is not admin: a session with only these capabilities (no list_storage_passwords). */
  addUser(user: string, sessionKey: string, capabilities: string[]): void {
    this.users.set(sessionKey, { user, capabilities: new Set(capabilities) });
  }

  /** A restmap.conf persistent endpoint (see persistentEndpoint.ts). */
  registerPersistentEndpoint(options: PersistentEndpointOptions): PersistentEndpoint {
    const endpoint = new PersistentEndpoint(options);
    this.persistent.push(endpoint);
    return endpoint;
  }

  async stop(): Promise<void> {
    for (const endpoint of this.persistent) endpoint.stop();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections(); // keep-alive sockets of needle/undici would hold close() open
    await closed;
  }

  /** Sets (replaces) an app-level stanza of `<file>.conf` in `app`, as if shipped in the app. */
  setConfStanza(app: string, file: string, stanza: string, values: Record<string, string>): void {
    const scope: Scope = { app, owner: 'nobody', sharing: 'app' };
    const existing = this.confLayers.find((l) => l.file === file && l.name === stanza && sameScope(l, scope));
    if (existing) {
      existing.values = { ...values };
      existing.updated = new Date();
    } else {
      this.confLayers.push({ ...scope, file, name: stanza, values: { ...values }, updated: new Date() });
    }
  }

  /**
   * Loads every `<file>.conf` of an app directory (e.g. the built app's `default/`) as app-level
   * stanzas of `app`, as splunkd layers an app's shipped defaults. Keys before the first stanza
   * go to `[default]`, where splunkd puts them.
   */
  loadConfDir(app: string, dir: string): void {
    for (const fileName of readdirSync(dir).filter((f) => f.endsWith('.conf'))) {
      const file = fileName.slice(0, -'.conf'.length);
      for (const [stanza, values] of parseConf(readFileSync(join(dir, fileName), 'utf8'))) {
        if (stanza === '' && values.size === 0) continue;
        this.setConfStanza(app, file, stanza === '' ? 'default' : stanza, Object.fromEntries(values));
      }
    }
  }

  /** Sets (creates or replaces) an app-level credential in `app`. */
  setPassword(app: string, realm: string, username: string, password: string): void {
    const scope: Scope = { app, owner: 'nobody', sharing: 'app' };
    const existing = this.secrets.find((s) => s.realm === realm && s.username === username && sameScope(s, scope));
    if (existing) {
      existing.password = password;
      existing.updated = new Date();
    } else {
      this.secrets.push({ ...scope, realm, username, password, updated: new Date() });
    }
  }

  /** Makes `data/inputs/<scheme>` available, as splunkd does after running the script with `--scheme`. */
  registerModularInput(scheme: ModularInputScheme): void {
    this.schemes.set(scheme.scheme, scheme);
  }

  // ---------------------------------------------------------------- request handling

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = (req.method ?? 'GET').toUpperCase();
    const form = method === 'POST' ? new URLSearchParams(await readBody(req)) : new URLSearchParams();
    const authorized = req.headers.authorization === `Splunk ${this.opts.sessionKey}`;
    const record: RecordedRequest = { method, path: url.pathname, query: url.searchParams, form, authorized, status: 0 };
    this.requests.push(record);

    const json = (url.searchParams.get('output_mode') ?? form.get('output_mode') ?? '').startsWith('json');
    const rule = this.takeFailRule(`${method} ${url.pathname}`);
    if (rule) {
      record.status = rule.status;
      if (rule.status === 0) {
        req.socket.destroy();
        return;
      }
      if (rule.body !== undefined) send(res, rule.status, json ? 'application/json; charset=UTF-8' : 'text/xml; charset=UTF-8', rule.body);
      else this.reply(res, json, { status: rule.status, messages: [{ type: 'ERROR', text: `Injected failure (HTTP ${rule.status})` }] });
      return;
    }

    if (authorized && this.search && method === 'POST' && /^\/services(NS\/[^/]+\/[^/]+)?\/search\/jobs\/?$/.test(url.pathname)) {
      const answer = this.search.jobs(form);
      record.status = answer.status;
      if (answer.status !== 0) send(res, answer.status, 'application/json; charset=UTF-8', answer.body);
      return; // status 0: a search that never answers (the connection stays open until stop())
    }
    const user = this.users.get((req.headers.authorization ?? '').replace(/^Splunk /, ''));
    const parsedPath = parseNamespace(url.pathname);
    const endpoint = parsedPath && this.persistent.find((e) => parsedPath.segments.join('/') === e.options.match);
    if (endpoint && (authorized || user)) {
      const caller = user
        ? { ...user, authtoken: (req.headers.authorization ?? '').slice(7) }
        : { user: 'admin', authtoken: this.opts.sessionKey, capabilities: new Set([endpoint.options.capability]) };
      const answer = await endpoint.handle(caller, method, url.pathname, form, this.opts.sessionKey, this.serverUri, { app: parsedPath.ns.app ?? '', user: parsedPath.ns.owner ?? '' });
      record.status = answer.status;
      send(res, answer.status, 'application/json; charset=UTF-8', answer.body);
      return;
    }
    if (user && /\/storage\/passwords/.test(url.pathname)) {
      record.status = 403;
      this.reply(res, json, { status: 403, messages: [{ type: 'ERROR', text: `You (user=${user.user}) do not have permission to perform this operation (requires capability: list_storage_passwords OR admin_all_objects).` }] });
      return;
    }
    const reply = authorized || user
      ? await this.route(method, url, form)
      : { status: 401, messages: [{ type: 'WARN' as const, text: 'call not properly authenticated' }] };
    record.status = reply.status;
    const fields = [...url.searchParams.getAll('f'), ...form.getAll('f')];
    this.reply(res, json, fields.length > 0 && reply.feed ? { ...reply, feed: filterFields(reply.feed, fields) } : reply);
  }

  private takeFailRule(target: string): FailRule | undefined {
    const rules = this.failNext === undefined ? [] : Array.isArray(this.failNext) ? this.failNext : [this.failNext];
    const rule = rules.find((r) => r.times > 0 && r.match.test(target));
    if (!rule) return undefined;
    rule.times -= 1;
    const remaining = rules.filter((r) => r.times > 0);
    this.failNext = Array.isArray(this.failNext) ? remaining : remaining[0];
    return rule;
  }

  private reply(res: ServerResponse, json: boolean, reply: Reply): void {
    if (json) {
      const body = reply.feed ? this.feedJson(reply.feed) : { messages: reply.messages ?? [] };
      send(res, reply.status, 'application/json; charset=UTF-8', JSON.stringify(body));
    } else {
      send(res, reply.status, 'text/xml; charset=UTF-8', reply.feed ? this.feedAtom(reply.feed) : messagesAtom(reply.messages ?? []));
    }
  }

  private async route(method: string, url: URL, form: URLSearchParams): Promise<Reply> {
    const parsed = parseNamespace(url.pathname);
    if (!parsed) return notFound('Not Found');
    const call: Call = { method, ns: parsed.ns, segments: parsed.segments, query: url.searchParams, form };
    const [area, sub, name, action] = call.segments;
    if (area === 'configs' && sub?.startsWith('conf-') && sub.length > 5) return this.confRoute(call, sub.slice(5), name, action);
    if (area === 'storage' && sub === 'passwords' && action === undefined) return this.passwordsRoute(call, name);
    if (area === 'data' && sub === 'inputs' && name !== undefined && this.schemes.has(name)) {
      return this.inputsRoute(call, this.schemes.get(name)!, call.segments[3], call.segments[4], call.segments.length > 5);
    }
    if (area === 'properties' && sub === undefined && method === 'GET') return this.listConfFiles(call);
    if (area === 'server' && sub === 'info' && name === undefined && method === 'GET') return this.serverInfo(call);
    return notFound('Not Found');
  }

  // ---------------------------------------------------------------- configs/conf-<file>

  private confRoute(call: Call, file: string, name: string | undefined, action: string | undefined): Reply {
    const { method } = call;
    if (name === '_reload' && action === undefined) return { status: 200, feed: this.confFeed(call, file, []) };
    if (name === undefined) {
      if (method === 'GET') return this.listFeed(call, this.confFeed(call, file, this.confEntries(call.ns, file)));
      if (method === 'POST') return this.createStanza(call, file);
      return methodNotAllowed();
    }
    if (action === 'enable' || action === 'disable') {
      return method === 'POST' ? this.updateStanza(call, file, name, { disabled: action === 'disable' ? '1' : '0' }) : methodNotAllowed();
    }
    if (action !== undefined) return notFound('Not Found');
    if (method === 'GET') {
      const entry = this.confEntries(call.ns, file).find((e) => e.name === name);
      return entry ? { status: 200, feed: this.confFeed(call, file, [entry]) } : notFound(`Could not find object id=${name}`);
    }
    if (method === 'POST') {
      if (call.form.has('name')) return unsupportedArgument('name');
      return this.updateStanza(call, file, name, objectArgs(call.form));
    }
    if (method === 'DELETE') return this.deleteStanza(call, file, name);
    return methodNotAllowed();
  }

  private createStanza(call: Call, file: string): Reply {
    const name = call.form.get('name');
    if (!name) return badRequest('Missing argument: name');
    if (this.visibleLayers(call.ns, file).some((l) => l.name === name)) return conflict(name);
    const values = objectArgs(call.form);
    delete values.name;
    this.confLayers.push({ ...writeScope(call.ns), file, name, values, updated: new Date() });
    return { status: 201, feed: this.confFeed(call, file, this.confEntries(call.ns, file).filter((e) => e.name === name)) };
  }

  private updateStanza(call: Call, file: string, name: string, values: Record<string, string>): Reply {
    if (!this.visibleLayers(call.ns, file).some((l) => l.name === name)) return notFound(`Could not find object id=${name}`);
    const scope = writeScope(call.ns);
    const layer = this.confLayers.find((l) => l.file === file && l.name === name && sameScope(l, scope));
    if (layer) {
      Object.assign(layer.values, values);
      layer.updated = new Date();
    } else {
      // splunkd writes edits to the namespace's own layer (local/), over what other layers hold.
      this.confLayers.push({ ...scope, file, name, values: { ...values }, updated: new Date() });
    }
    return { status: 200, feed: this.confFeed(call, file, this.confEntries(call.ns, file).filter((e) => e.name === name)) };
  }

  private deleteStanza(call: Call, file: string, name: string): Reply {
    const doomed = this.visibleLayers(call.ns, file).filter((l) => l.name === name);
    if (doomed.length === 0) return notFound(`Could not find object id=${name}`);
    for (const layer of doomed) this.confLayers.splice(this.confLayers.indexOf(layer), 1);
    return this.listFeed(call, this.confFeed(call, file, this.confEntries(call.ns, file)));
  }

  private visibleLayers(ns: Namespace, file: string): ConfLayer[] {
    return this.confLayers.filter((l) => l.file === file && visible(ns, l)).sort((a, b) => rank(ns, a) - rank(ns, b));
  }

  /** The file's stanzas as splunkd shows them in `ns`: layers merged per stanza, over `[default]`. */
  private confEntries(ns: Namespace, file: string): FeedEntry[] {
    const merged = new Map<string, { values: Record<string, string>; top: ConfLayer }>();
    for (const layer of this.visibleLayers(ns, file)) {
      const seen = merged.get(layer.name);
      merged.set(layer.name, { values: { ...seen?.values, ...layer.values }, top: layer });
    }
    const defaults = merged.get('default')?.values ?? {};
    return [...merged.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([name, { values, top }]) => {
        const all = name === 'default' ? values : { ...defaults, ...values };
        const disabled = isTrue(all.disabled);
        const content = sortedKeys({ ...all, disabled, 'eai:acl': null, 'eai:appName': top.app, 'eai:userName': top.owner });
        const entry = this.entry(`configs/conf-${encodeURIComponent(file)}`, name, top, content);
        const self = entry.links.alternate;
        const toggle = disabled ? 'enable' : 'disable';
        entry.links = { ...entry.links, _reload: `${self}/_reload`, move: `${self}/move`, [toggle]: `${self}/${toggle}` };
        return entry;
      });
  }

  private confFeed(call: Call, file: string, entries: FeedEntry[]): Feed {
    return this.feed(call, `conf-${file}`, `configs/conf-${encodeURIComponent(file)}`, entries, { _acl: '_acl' });
  }

  private listConfFiles(call: Call): Reply {
    const files = [...new Set(this.confLayers.filter((l) => visible(call.ns, l)).map((l) => l.file))].sort(compare);
    const scope: Scope = { app: call.ns.app === '-' ? 'system' : call.ns.app, owner: 'nobody', sharing: 'app' };
    const entries = files.map((file) => this.entry('properties', file, scope, { 'eai:acl': null }));
    return this.listFeed(call, this.feed(call, 'properties', 'properties', entries, {}));
  }

  // ---------------------------------------------------------------- data/inputs/<scheme>

  private async inputsRoute(call: Call, def: ModularInputScheme, name: string | undefined, action: string | undefined, extra: boolean): Promise<Reply> {
    const { method } = call;
    if (extra) return notFound('Not Found');
    if (name === undefined || name === '_reload') {
      if (method === 'GET' || name === '_reload') return this.listFeed(call, this.inputFeed(call, def, this.inputEntries(call.ns, def)));
      if (method === 'POST') return this.createInput(call, def);
      return methodNotAllowed();
    }
    const stanza = `${def.scheme}://${name}`;
    const exists = this.visibleLayers(call.ns, 'inputs').some((l) => l.name === stanza);
    if (!exists) return notFound(`Could not find object id=${name}`);
    if (action === 'enable' || action === 'disable') {
      if (method !== 'POST') return methodNotAllowed();
      this.updateStanza(call, 'inputs', stanza, { disabled: action === 'disable' ? '1' : '0' });
      return { status: 200, feed: this.inputFeed(call, def, this.inputEntries(call.ns, def).filter((e) => e.name === name)) };
    }
    if (action !== undefined) return notFound('Not Found');
    if (method === 'GET') return { status: 200, feed: this.inputFeed(call, def, this.inputEntries(call.ns, def).filter((e) => e.name === name)) };
    if (method === 'DELETE') {
      for (const layer of this.visibleLayers(call.ns, 'inputs').filter((l) => l.name === stanza)) this.confLayers.splice(this.confLayers.indexOf(layer), 1);
      return this.listFeed(call, this.inputFeed(call, def, this.inputEntries(call.ns, def)));
    }
    if (method !== 'POST') return methodNotAllowed();
    const args = objectArgs(call.form);
    const refused = this.refuseInputArgs(def, args, false);
    if (refused) return refused;
    const current = this.inputEntries(call.ns, def).find((e) => e.name === name)!;
    const merged = { ...stringContent(current.content), ...args };
    const invalid = await this.externalValidation(def, name, merged);
    if (invalid) return invalid;
    this.updateStanza(call, 'inputs', stanza, args);
    return { status: 200, feed: this.inputFeed(call, def, this.inputEntries(call.ns, def).filter((e) => e.name === name)) };
  }

  private async createInput(call: Call, def: ModularInputScheme): Promise<Reply> {
    const args = objectArgs(call.form);
    const name = args.name;
    delete args.name;
    if (!name) return badRequest('Missing argument: name');
    const refused = this.refuseInputArgs(def, args, true);
    if (refused) return refused;
    const stanza = `${def.scheme}://${name}`;
    if (this.visibleLayers(call.ns, 'inputs').some((l) => l.name === stanza)) return conflict(name);
    const invalid = await this.externalValidation(def, name, args);
    if (invalid) return invalid;
    this.confLayers.push({ ...writeScope(call.ns), file: 'inputs', name: stanza, values: args, updated: new Date() });
    return { status: 201, feed: this.inputFeed(call, def, this.inputEntries(call.ns, def).filter((e) => e.name === name)) };
  }

  private refuseInputArgs(def: ModularInputScheme, args: Record<string, string>, creating: boolean): Reply | undefined {
    const declared = new Set(def.args.map((a) => a.name));
    const unsupported = Object.keys(args).find((k) => !declared.has(k) && !GENERIC_INPUT_ARGS.has(k));
    if (unsupported) return unsupportedArgument(unsupported);
    const missing = creating ? def.args.find((a) => a.requiredOnCreate && !args[a.name]) : undefined;
    return missing ? badRequest(`Missing argument: ${missing.name}`) : undefined;
  }

  /** splunkd's external validation: the script's `<error><message>` becomes the REST error. */
  private async externalValidation(def: ModularInputScheme, name: string, params: Record<string, string>): Promise<Reply | undefined> {
    if (!def.validate) return undefined;
    const esc = (v: string): string => xml(v);
    const paramXml = Object.entries(params)
      .filter(([k]) => !k.startsWith('eai:'))
      .map(([k, v]) => `<param name="${esc(k)}">${esc(v)}</param>`)
      .join('');
    const items = `<?xml version="1.0" encoding="UTF-8"?>\n<items><server_host>splunkd-standin</server_host><server_uri>${esc(this.serverUri)}</server_uri><session_key>${esc(this.opts.sessionKey)}</session_key><checkpoint_dir>/opt/splunk/var/lib/splunk/modinputs/${esc(def.scheme)}</checkpoint_dir><item name="${esc(name)}">${paramXml}</item></items>`;
    const { code, stdout } = await def.validate(items);
    if (code === 0) return undefined;
    const message = /<message>([\s\S]*?)<\/message>/.exec(stdout)?.[1];
    const text = message === undefined ? `External validation of ${def.scheme} failed (exit code ${code}).` : unxml(message);
    return badRequest(text);
  }

  /** The scheme's stanzas as data/inputs shows them: over `[default]` and the scheme's own default stanza. */
  private inputEntries(ns: Namespace, def: ModularInputScheme): FeedEntry[] {
    const layers = this.visibleLayers(ns, 'inputs');
    const merge = (stanza: string): Record<string, string> => Object.assign({}, ...layers.filter((l) => l.name === stanza).map((l) => l.values));
    const base = { ...merge('default'), ...merge(def.scheme) };
    const prefix = `${def.scheme}://`;
    const stanzas = [...new Set(layers.filter((l) => l.name.startsWith(prefix)).map((l) => l.name))].sort(compare);
    return stanzas.map((stanza) => {
      const name = stanza.slice(prefix.length);
      const values = { ...base, ...merge(stanza) };
      const top = layers.filter((l) => l.name === stanza).at(-1)!;
      const disabled = isTrue(values.disabled);
      const content = sortedKeys({ ...values, disabled, 'eai:acl': null, 'eai:appName': top.app, 'eai:userName': top.owner });
      const entry = this.entry(`data/inputs/${encodeURIComponent(def.scheme)}`, name, top, content);
      const self = entry.links.alternate;
      const toggle = disabled ? 'enable' : 'disable';
      entry.links = { ...entry.links, _reload: `${self}/_reload`, [toggle]: `${self}/${toggle}` };
      return entry;
    });
  }

  private inputFeed(call: Call, def: ModularInputScheme, entries: FeedEntry[]): Feed {
    return this.feed(call, def.scheme, `data/inputs/${encodeURIComponent(def.scheme)}`, entries, {});
  }

  // ---------------------------------------------------------------- storage/passwords

  private passwordsRoute(call: Call, name: string | undefined): Reply {
    const { method } = call;
    if (name === '_reload') return { status: 200, feed: this.passwordFeed(call, []) };
    if (name === undefined) {
      if (method === 'GET') return this.listFeed(call, this.passwordFeed(call, this.visibleSecrets(call.ns).map((s) => this.secretEntry(s))));
      if (method === 'POST') return this.createSecret(call);
      return methodNotAllowed();
    }
    const secret = this.findSecret(call.ns, name);
    if (!secret) return notFound(`Could not find object id=${name}`);
    if (method === 'GET') return { status: 200, feed: this.passwordFeed(call, [this.secretEntry(secret)]) };
    if (method === 'POST') return this.updateSecret(call, secret);
    if (method === 'DELETE') {
      this.secrets.splice(this.secrets.indexOf(secret), 1);
      return this.listFeed(call, this.passwordFeed(call, this.visibleSecrets(call.ns).map((s) => this.secretEntry(s))));
    }
    return methodNotAllowed();
  }

  private createSecret(call: Call): Reply {
    const args = objectArgs(call.form);
    const unsupported = Object.keys(args).find((k) => !['name', 'password', 'realm'].includes(k));
    if (unsupported) return unsupportedArgument(unsupported);
    if (!args.name) return badRequest('Missing argument: name');
    if (args.password === undefined) return badRequest('Missing argument: password');
    const realm = args.realm ?? '';
    const name = secretName(realm, args.name);
    if (this.visibleSecrets(call.ns).some((s) => secretName(s.realm, s.username) === name)) return conflict(name);
    const secret: Secret = { ...writeScope(call.ns), realm, username: args.name, password: args.password, updated: new Date() };
    this.secrets.push(secret);
    return { status: 201, feed: this.passwordFeed(call, [this.secretEntry(secret)]) };
  }

  private updateSecret(call: Call, secret: Secret): Reply {
    const args = objectArgs(call.form);
    const unsupported = Object.keys(args).find((k) => k !== 'password');
    if (unsupported) return unsupportedArgument(unsupported);
    if (args.password === undefined) return badRequest('Missing argument: password');
    secret.password = args.password;
    secret.updated = new Date();
    return { status: 200, feed: this.passwordFeed(call, [this.secretEntry(secret)]) };
  }

  private visibleSecrets(ns: Namespace): Secret[] {
    return this.secrets.filter((s) => visible(ns, s)).sort((a, b) => compare(secretName(a.realm, a.username), secretName(b.realm, b.username)));
  }

  /** Resolves `realm:user:`, `realm:user` or a bare `user` to the most specific visible credential. */
  private findSecret(ns: Namespace, id: string): Secret | undefined {
    const parts = splitEscaped(id);
    const matches = (s: Secret): boolean => {
      if (parts.length === 1) return s.username === parts[0];
      if (parts.length > 3 || (parts.length === 3 && parts[2] !== '')) return false;
      return s.realm === parts[0] && s.username === parts[1];
    };
    const candidates = this.secrets.filter((s) => visible(ns, s) && matches(s));
    // A bare username prefers the realm-less credential; otherwise the most specific layer wins.
    candidates.sort((a, b) => Number(a.realm === '') - Number(b.realm === '') || rank(ns, a) - rank(ns, b));
    return candidates.at(-1);
  }

  private secretEntry(secret: Secret): FeedEntry {
    const content: Record<string, ContentValue> = {
      clear_password: secret.password,
      'eai:acl': null,
      encr_password: `$7$${createHash('sha256').update(secret.password).digest('base64')}`,
      password: '********',
      realm: secret.realm,
      username: secret.username,
    };
    return this.entry('storage/passwords', secretName(secret.realm, secret.username), secret, content);
  }

  private passwordFeed(call: Call, entries: FeedEntry[]): Feed {
    return this.feed(call, 'passwords', 'storage/passwords', entries, {});
  }

  // ---------------------------------------------------------------- server/info

  private serverInfo(call: Call): Reply {
    const scope: Scope = { app: 'system', owner: 'nobody', sharing: 'global' };
    const content: Record<string, ContentValue> = {
      build: GENERATOR.build,
      version: GENERATOR.version,
      product_type: 'enterprise',
      serverName: 'splunkd-standin',
      server_roles: null,
      'eai:acl': null,
    };
    const feed = this.feed(call, 'server-info', 'server/info', [this.entry('server/info', 'server-info', scope, content)], {});
    return { status: 200, feed };
  }

  // ---------------------------------------------------------------- envelopes

  private entry(collection: string, name: string, scope: Scope, content: Record<string, ContentValue>): FeedEntry {
    const owner = scope.sharing === 'user' ? scope.owner : 'nobody';
    const path = `/servicesNS/${encodeURIComponent(owner)}/${encodeURIComponent(scope.app)}/${collection}/${encodeURIComponent(name)}`;
    return {
      name,
      id: `${this.serverUri}${path}`,
      updated: splunkTime(new Date()),
      links: { alternate: path, list: path, edit: path, remove: path },
      author: owner,
      acl: {
        app: scope.app,
        can_change_perms: true,
        can_list: true,
        can_share_app: true,
        can_share_global: true,
        can_share_user: true,
        can_write: true,
        modifiable: true,
        owner,
        perms: DEFAULT_PERMS,
        removable: true,
        sharing: scope.sharing,
      },
      content,
    };
  }

  private feed(call: Call, title: string, collection: string, entries: FeedEntry[], extraLinks: Record<string, string>): Feed {
    const base = `${call.ns.prefix}/${collection}`;
    const links: Record<string, string> = { create: `${base}/_new`, _reload: `${base}/_reload` };
    for (const [rel, suffix] of Object.entries(extraLinks)) links[rel] = `${base}/${suffix}`;
    return { title, origin: base, links, entries, paging: { total: entries.length, perPage: 30, offset: 0 } };
  }

  /** Applies splunkd's list arguments: `search` filter, then `offset`/`count` paging (count 30 by default, 0 = all). */
  private listFeed(call: Call, feed: Feed): Reply {
    const search = call.query.get('search')?.toLowerCase();
    const filtered = search ? feed.entries.filter((e) => matchesSearch(e, search)) : feed.entries;
    const count = intArg(call.query.get('count'), 30);
    const offset = intArg(call.query.get('offset'), 0);
    const page = filtered.slice(offset, count === 0 ? undefined : offset + count);
    return { status: 200, feed: { ...feed, entries: page, paging: { total: filtered.length, perPage: count, offset } } };
  }

  private feedJson(feed: Feed): Record<string, unknown> {
    return {
      links: feed.links,
      origin: `${this.serverUri}${feed.origin}`,
      updated: splunkTime(new Date()),
      generator: GENERATOR,
      entry: feed.entries,
      paging: feed.paging,
      messages: [],
    };
  }

  private feedAtom(feed: Feed): string {
    const links = Object.entries(feed.links).map(([rel, href]) => `  <link href="${xml(href)}" rel="${xml(rel)}"/>`);
    const entries = feed.entries.map((e) => entryAtom(e));
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">',
      `  <title>${xml(feed.title)}</title>`,
      `  <id>${xml(this.serverUri + feed.origin)}</id>`,
      `  <updated>${splunkTime(new Date())}</updated>`,
      `  <generator build="${GENERATOR.build}" version="${GENERATOR.version}"/>`,
      '  <author><name>Splunk</name></author>',
      ...links,
      `  <opensearch:totalResults>${feed.paging.total}</opensearch:totalResults>`,
      `  <opensearch:itemsPerPage>${feed.paging.perPage}</opensearch:itemsPerPage>`,
      `  <opensearch:startIndex>${feed.paging.offset}</opensearch:startIndex>`,
      '  <s:messages/>',
      ...entries,
      '</feed>',
      '',
    ].join('\n');
  }
}

// ------------------------------------------------------------------ helpers

/** Splits `/services/…` or `/servicesNS/<owner>/<app>/…` into the namespace and decoded segments. */
function parseNamespace(pathname: string): { ns: Namespace; segments: string[] } | undefined {
  const raw = pathname.split('/').filter((s, i) => i > 0 && s !== '');
  let decoded: string[];
  try {
    decoded = raw.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
  if (decoded[0] === 'services') return { ns: { owner: '-', app: '-', prefix: '/services' }, segments: decoded.slice(1) };
  if (decoded[0] === 'servicesNS' && decoded.length >= 3) {
    const prefix = `/servicesNS/${raw[1]}/${raw[2]}`;
    return { ns: { owner: decoded[1], app: decoded[2], prefix }, segments: decoded.slice(3) };
  }
  return undefined;
}

function visible(ns: Namespace, scope: Scope): boolean {
  const appOk = ns.app === '-' || scope.app === ns.app || scope.sharing === 'global';
  const ownerOk = scope.sharing !== 'user' || ns.owner === '-' || scope.owner === ns.owner;
  return appOk && ownerOk;
}

/** Layer precedence within a namespace: global from elsewhere < app-level < private. */
function rank(ns: Namespace, scope: Scope): number {
  const inApp = ns.app === '-' || scope.app === ns.app;
  if (scope.sharing === 'user') return 3;
  return inApp ? 2 : 1;
}

function writeScope(ns: Namespace): Scope {
  if (ns.app === '-' || ns.owner === '-') return { app: 'system', owner: 'nobody', sharing: 'global' };
  return { app: ns.app, owner: ns.owner, sharing: ns.owner === 'nobody' ? 'app' : 'user' };
}

function sameScope(a: Scope, b: Scope): boolean {
  return a.app === b.app && a.owner === b.owner && a.sharing === b.sharing;
}


/** Splits at ':' not preceded by '\', unescaping '\:'. */
function splitEscaped(id: string): string[] {
  const parts = [''];
  for (let i = 0; i < id.length; i++) {
    if (id[i] === '\\' && id[i + 1] === ':') {
      parts[parts.length - 1] += ':';
      i++;
    } else if (id[i] === ':') {
      parts.push('');
    } else {
      parts[parts.length - 1] += id[i];
    }
  }
  return parts;
}

/** POST arguments describing the object (last value wins, control arguments dropped). */
function objectArgs(form: URLSearchParams): Record<string, string> {
  const args: Record<string, string> = {};
  for (const [key, value] of form) if (!CONTROL_ARGS.has(key)) args[key] = value;
  return args;
}

function matchesSearch(entry: FeedEntry, needle: string): boolean {
  const haystack = [entry.name, ...Object.values(entry.content).filter((v): v is string => typeof v === 'string')];
  return haystack.some((v) => v.toLowerCase().includes(needle));
}

/** splunkd's `f` argument: only the content keys matching one of the patterns (`*` matches anything). */
function filterFields(feed: Feed, patterns: string[]): Feed {
  const regexes = patterns.map((p) => new RegExp(`^${p.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  const keep = (key: string): boolean => regexes.some((r) => r.test(key));
  return { ...feed, entries: feed.entries.map((e) => ({ ...e, content: Object.fromEntries(Object.entries(e.content).filter(([k]) => keep(k))) })) };
}

/** The string values of a content dict (drops splunkd's booleans and eai: keys). */
function stringContent(content: Record<string, ContentValue>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(content)) if (typeof v === 'string' && !k.startsWith('eai:')) out[k] = v;
  return out;
}

function unxml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** splunkd lists content keys in alphabetical order. */
function sortedKeys(content: Record<string, ContentValue>): Record<string, ContentValue> {
  return Object.fromEntries(Object.entries(content).sort(([a], [b]) => compare(a, b)));
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 't', 'yes', 'y'].includes(value.trim().toLowerCase());
}

function intArg(value: string | null, fallback: number): number {
  const n = value === null ? NaN : Number.parseInt(value, 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** splunkd's timestamp format: ISO 8601 with a numeric offset, no milliseconds. */
function splunkTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

function notFound(text: string): Reply {
  return { status: 404, messages: [{ type: 'ERROR', text }] };
}

function badRequest(text: string): Reply {
  return { status: 400, messages: [{ type: 'ERROR', text }] };
}

function unsupportedArgument(arg: string): Reply {
  return badRequest(`Argument "${arg}" is not supported by this handler.`);
}

function conflict(name: string): Reply {
  return { status: 409, messages: [{ type: 'ERROR', text: `An object with name=${name} already exists` }] };
}

function methodNotAllowed(): Reply {
  return { status: 405, messages: [{ type: 'ERROR', text: 'Method Not Allowed' }] };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    Server: 'Splunkd',
    'Cache-Control': 'no-store, no-cache, must-revalidate, max-age=0',
    'X-Content-Type-Options': 'nosniff',
    Vary: 'Cookie, Authorization',
  });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// ------------------------------------------------------------------ Atom rendering

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * splunkd's `<s:dict>`/`<s:list>` encoding of a value; booleans render as 0/1 as in splunkd's XML.
 * `indent` is that of the element holding the value; nested containers go one level deeper.
 */
function atomValue(value: unknown, indent: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? '1' : '0';
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    const items = value.map((v) => `${inner}  <s:item>${atomValue(v, `${inner}  `)}</s:item>`);
    return `\n${inner}<s:list>\n${items.join('\n')}\n${inner}</s:list>\n${indent}`;
  }
  if (typeof value === 'object') {
    const keys = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${inner}  <s:key name="${xml(k)}">${atomValue(v, `${inner}  `)}</s:key>`,
    );
    return `\n${inner}<s:dict>\n${keys.join('\n')}\n${inner}</s:dict>\n${indent}`;
  }
  return xml(String(value));
}

function entryAtom(entry: FeedEntry): string {
  // In Atom, splunkd puts the ACL inside the content as eai:acl (JSON keeps it beside the content).
  const content = { ...entry.content, 'eai:acl': entry.acl };
  const links = Object.entries(entry.links).map(([rel, href]) => `    <link href="${xml(href)}" rel="${xml(rel)}"/>`);
  return [
    '  <entry>',
    `    <title>${xml(entry.name)}</title>`,
    `    <id>${xml(entry.id)}</id>`,
    `    <updated>${entry.updated}</updated>`,
    ...links,
    `    <author><name>${xml(entry.author)}</name></author>`,
    `    <content type="text/xml">${atomValue(content, '    ')}</content>`,
    '  </entry>',
  ].join('\n');
}

function messagesAtom(messages: Message[]): string {
  const items = messages.map((m) => `    <msg type="${m.type}">${xml(m.text)}</msg>`);
  return ['<?xml version="1.0" encoding="UTF-8"?>', '<response>', '  <messages>', ...items, '  </messages>', '</response>', ''].join('\n');
}
