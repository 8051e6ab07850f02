/**
 * A stand-in for Splunk Web in front of a SplunkdStandIn: just what an app's custom page meets.
 *
 * - Login: `POST /en-US/account/login` (username, password) sets the session cookie
 *   `splunkd_<port>` (HttpOnly, the splunkd session key) and `splunkweb_csrf_token_<port>` (readable by
 *   the page: its value is the form key). Pages without a session redirect to the login page;
 *   `/splunkd/__raw` without one answers 401.
 * - `GET /en-US/config?autoload=1`: the script that defines `window.$C` (FORM_KEY,
 *   MRSPARKLE_PORT_NUMBER, SPLUNKD_PATH, LOCALE…), which @splunk/splunk-utils reads.
 * - `GET /en-US/app/<app>/<view>`: the view's `default/data/ui/views/<view>.xml`; an html view with
 *   `template="<app>:/templates/<file>"` renders `appserver/templates/<file>`. Only the Mako that
 *   Splunk's page template uses is understood (`${make_url('<literal>')}`); anything else fails loudly.
 * - `GET /en-US/static/app/<app>/<path>`: the app's `appserver/static/`.
 * - `/en-US/splunkd/__raw/<splunkd path>`: proxied to splunkd with `Authorization: Splunk <key>`.
 *   Every method but GET needs the `X-Splunk-Form-Key` header equal to the CSRF cookie, as Splunk
 *   Web checks; otherwise 401 with Splunk Web's message.
 *
 * Every response body the browser receives is kept in `responses`, so tests can prove a secret was
 * never sent back.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { SplunkdStandIn } from './splunkd.js';

export interface SplunkWebStandInOptions {
  splunkd: SplunkdStandIn;
  /** The session key splunkd accepts (Splunk Web gets it at login). */
  sessionKey: string;
  /** Installed apps: name → app folder (holding default/, appserver/). */
  apps: Record<string, string>;
  username?: string;
  password?: string;
}

export interface WebResponse {
  method: string;
  path: string;
  status: number;
  body: string;
}

const LOCALE = 'en-US';
const TYPES: Record<string, string> = { '.js': 'application/javascript', '.css': 'text/css', '.html': 'text/html; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml', '.json': 'application/json' };

export class SplunkWebStandIn {
  readonly responses: WebResponse[] = [];
  /** Requests refused for a missing or wrong form key (tests assert the page never causes one). */
  csrfRefusals = 0;
  private server?: Server;
  private port = 0;
  private readonly sessions = new Map<string, { csrf: string }>();

  constructor(private readonly opts: SplunkWebStandInOptions) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.send(req, res, 500, 'text/plain', String(error)));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private get sessionCookie(): string {
    return `splunkd_${this.port}`;
  }

  private get csrfCookie(): string {
    return `splunkweb_csrf_token_${this.port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== LOCALE) return this.redirect(req, res, `/${LOCALE}${url.pathname === '/' ? '/' : url.pathname}${url.search}`);
    const cookies = parseCookies(req.headers.cookie);
    const session = this.sessions.get(cookies[this.sessionCookie] ?? '');
    const [, area, ...rest] = parts;

    if (area === 'account' && rest[0] === 'login') return this.login(req, res, method, url);
    if (area === 'static' && rest[0] !== 'app') return this.send(req, res, 404, 'text/plain', 'Not Found');
    if (area === 'splunkd' && rest[0] === '__raw') {
      if (!session) return this.send(req, res, 401, 'application/json', JSON.stringify({ messages: [{ type: 'ERROR', text: 'Splunk cannot authenticate the request. The session has expired or is invalid.' }] }));
      if (method !== 'GET' && req.headers['x-splunk-form-key'] !== cookies[this.csrfCookie]) {
        this.csrfRefusals++;
        return this.send(req, res, 401, 'application/json', JSON.stringify({ messages: [{ type: 'ERROR', text: 'Splunk cannot authenticate the request. CSRF validation failed.' }] }));
      }
      return this.proxy(req, res, method, `/${rest.slice(1).join('/')}${url.search}`);
    }
    if (!session) return this.redirect(req, res, `/${LOCALE}/account/login?return_to=${encodeURIComponent(url.pathname + url.search)}`);
    if (area === 'config') return this.config(req, res, cookies[this.csrfCookie] ?? '');
    if (area === 'static' && rest[0] === 'app') return this.staticFile(req, res, rest[1], rest.slice(2));
    if (area === 'app' && rest.length === 2) return this.view(req, res, rest[0], rest[1]);
    return this.send(req, res, 404, 'text/plain', 'Not Found');
  }

  private async login(req: IncomingMessage, res: ServerResponse, method: string, url: URL): Promise<void> {
    const returnTo = url.searchParams.get('return_to') ?? `/${LOCALE}/`;
    if (method === 'GET') {
      return this.send(req, res, 200, 'text/html; charset=utf-8', `<!doctype html><html lang="en"><title>Login</title><form method="post"><label>Username <input name="username"></label><label>Password <input name="password" type="password"></label><input type="hidden" name="return_to" value="${escapeHtml(returnTo)}"><button>Sign In</button></form></html>`);
    }
    const form = new URLSearchParams(await readBody(req));
    if (form.get('username') !== (this.opts.username ?? 'admin') || form.get('password') !== (this.opts.password ?? 'changeme')) {
      return this.send(req, res, 401, 'text/plain', 'Login failed');
    }
    const sessionId = this.opts.sessionKey;
    const csrf = randomBytes(16).toString('hex');
    this.sessions.set(sessionId, { csrf });
    res.setHeader('Set-Cookie', [`${this.sessionCookie}=${sessionId}; Path=/; HttpOnly; SameSite=Lax`, `${this.csrfCookie}=${csrf}; Path=/; SameSite=Lax`]);
    const target = form.get('return_to') ?? returnTo;
    return this.redirect(req, res, target.startsWith('/') ? target : `/${LOCALE}/`);
  }

  private config(req: IncomingMessage, res: ServerResponse, csrf: string): void {
    const c = {
      BUILD_NUMBER: 1,
      BUILD_PUSH_NUMBER: 0,
      FORM_KEY: csrf,
      LOCALE,
      MRSPARKLE_PORT_NUMBER: String(this.port),
      MRSPARKLE_ROOT_PATH: '',
      SPLUNKD_PATH: `/${LOCALE}/splunkd/__raw`,
      USERNAME: this.opts.username ?? 'admin',
      VERSION_LABEL: '9.2.0',
      SERVER_ZONEINFO: '',
    };
    this.send(req, res, 200, 'application/javascript', `window.$C = ${JSON.stringify(c)};\n`);
  }

  private staticFile(req: IncomingMessage, res: ServerResponse, app: string, segments: string[]): void {
    const appDir = this.opts.apps[app];
    const root = appDir ? path.join(appDir, 'appserver', 'static') : undefined;
    const file = root ? path.join(root, ...segments) : undefined;
    if (!root || !file || !file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) return this.send(req, res, 404, 'text/plain', 'Not Found');
    this.send(req, res, 200, TYPES[path.extname(file)] ?? 'application/octet-stream', readFileSync(file));
  }

  private view(req: IncomingMessage, res: ServerResponse, app: string, view: string): void {
    const appDir = this.opts.apps[app];
    const viewFile = appDir ? path.join(appDir, 'default', 'data', 'ui', 'views', `${view}.xml`) : undefined;
    if (!viewFile || !/^[\w.-]+$/.test(view) || !existsSync(viewFile)) return this.send(req, res, 404, 'text/plain', `View ${view} not found`);
    const xml = readFileSync(viewFile, 'utf8');
    const template = /<view\b[^>]*\btemplate="([^":]+):\/templates\/([^"]+)"/.exec(xml);
    if (!template || !/\btype="html"/.test(xml)) return this.send(req, res, 500, 'text/plain', `${view}.xml is not an html view with a template (only those are modelled)`);
    const templateDir = this.opts.apps[template[1]];
    const file = templateDir ? path.join(templateDir, 'appserver', 'templates', template[2]) : undefined;
    if (!file || !existsSync(file)) return this.send(req, res, 500, 'text/plain', `template ${template[1]}:/templates/${template[2]} not found`);
    const html = readFileSync(file, 'utf8').replace(/\$\{make_url\('([^']+)'\)\}/g, (_m, p: string) => `/${LOCALE}${p}`);
    if (/\$\{|<%/.test(html)) return this.send(req, res, 500, 'text/plain', `template ${template[2]} uses Mako this stand-in does not model`);
    this.send(req, res, 200, 'text/html; charset=utf-8', html);
  }

  private async proxy(req: IncomingMessage, res: ServerResponse, method: string, splunkdPath: string): Promise<void> {
    const body = method === 'GET' || method === 'DELETE' ? '' : await readBody(req);
    const target = new URL(splunkdPath, this.opts.splunkd.serverUri);
    const answer = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const out = httpRequest(target, {
        method,
        headers: {
          authorization: `Splunk ${this.opts.sessionKey}`,
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {}),
        },
      }, (reply) => {
        const chunks: Buffer[] = [];
        reply.on('data', (c: Buffer) => chunks.push(c));
        reply.on('end', () => resolve({ status: reply.statusCode ?? 502, type: String(reply.headers['content-type'] ?? 'text/plain'), body: Buffer.concat(chunks).toString('utf8') }));
        reply.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });
    this.send(req, res, answer.status, answer.type, answer.body);
  }

  private redirect(req: IncomingMessage, res: ServerResponse, location: string): void {
    res.setHeader('Location', location);
    this.send(req, res, 303, 'text/plain', '');
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer): void {
    const text = typeof body === 'string' ? body : body.toString('latin1');
    this.responses.push({ method: req.method ?? 'GET', path: req.url ?? '', status, body: text });
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    res.end(body);
  }
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out[part.slice(0, at).trim()] = decodeURIComponent(part.slice(at + 1).trim());
  }
  return out;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
