import { createHash, X509Certificate } from 'node:crypto';
import type { ConfidentialClientApplication, Configuration, INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { HttpClient } from '../http/client.js';
import { HttpError, NetworkError, statusKind } from '../http/errors.js';
import type { Logger } from '../splunk/log.js';
import { MIN_REMAINING_MS, type CachedToken, type TokenCache } from './tokenCache.js';

export interface Credentials {
  tenantId: string;
  clientId: string;
  authType: 'client_secret' | 'certificate';
  /** Client secret, or a PEM holding the private key (and usually the certificate). */
  secret: string;
  /** Needed only when the PEM holds no certificate to compute it from. */
  certificateThumbprint?: string;
  loginUrl: string;
}

/** A token could not be acquired; the message says what to fix. */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

const KNOWN_LOGIN_HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn']);

/** A token, and whether it came from the token cache (not yet proven good by an API in this process). */
export interface IssuedToken {
  token: string;
  cached: boolean;
}

/**
 * Client-credentials tokens from Entra ID through msal-node. msal caches a token until shortly
 * before it expires, so every page of a poll reuses one token. All of msal's HTTP goes through
 * our HttpClient (proxy, CA bundle, timeouts, retries on Entra outages). With a TokenCache (the
 * inputs), a token is also kept between polls, encrypted (tokenCache.ts); msal-node is then loaded
 * only by a poll that has to fetch one.
 */
export class TokenProvider {
  private app?: ConfidentialClientApplication;
  /** msal hides transport failures behind its own codes; the real cause is kept here. */
  private readonly network: { lastError?: NetworkError | HttpError } = {};
  /** Tokens read from the cache in this process, by resource; a fresh fetch replaces them. */
  private readonly kept = new Map<string, CachedToken>();
  /** Resources this process fetched a token for: msal holds it, the cache is not read again. */
  private readonly fetched = new Set<string>();
  /**
   * For the poll summary: tokens fetched from Entra ID, tokens reused from the token cache, tokens
   * Entra ID refused to issue, and tokens an API rejected (401, or 403 to a cached token) so that
   * a fresh one had to be fetched.
   */
  readonly stats = { token_requests: 0, token_cache_hits: 0, token_failures: 0, token_rejected: 0 };

  constructor(
    private readonly credentials: Credentials,
    private readonly http: HttpClient,
    private readonly logger: Logger,
    private readonly cache?: TokenCache,
  ) {}

  /**
   * Drops the token cache's entries this process read or wrote (its own calls keep using their
   * tokens): the next poll fetches its own, with a new reading of Microsoft's clock (windowedPoll.ts).
   */
  forgetKept(): void {
    for (const resource of new Set([...this.kept.keys(), ...this.fetched])) this.cache?.drop(resource);
  }

  /** An API rejected a token of this provider; the caller fetches a fresh one. */
  noteRejected(): void {
    this.stats.token_rejected++;
  }

  /** @param resource e.g. https://graph.microsoft.com */
  async token(resource: string, forceRefresh = false): Promise<string> {
    return (await this.issue(resource, forceRefresh)).token;
  }

  /**
   * The token for `resource`: from this process, else from the token cache, else from Entra ID.
   * `forceRefresh` (an API rejected the last one) drops the cached entry and fetches past every cache.
   */
  async issue(resource: string, forceRefresh = false): Promise<IssuedToken> {
    if (this.cache) {
      if (forceRefresh) {
        this.kept.delete(resource);
        this.cache.drop(resource);
      } else if (!this.fetched.has(resource)) {
        const kept = this.kept.get(resource) ?? this.fromCache(resource);
        if (kept && kept.expiresOnMs - Date.now() > MIN_REMAINING_MS) return { token: kept.token, cached: true };
      }
    }
    return { token: await this.fetch(resource, forceRefresh), cached: false };
  }

  private fromCache(resource: string): CachedToken | undefined {
    const entry = this.cache!.read(resource);
    if (!entry) return undefined;
    this.kept.set(resource, entry);
    this.stats.token_cache_hits++;
    // The poll's window ends at Microsoft's time: without a token request, the clock reading
    // taken with this token stands in until an API answers (src/http/client.ts).
    if (entry.skewMs !== undefined) this.http.assumeClockAheadMs(entry.skewMs);
    return entry;
  }

  private async fetch(resource: string, forceRefresh: boolean): Promise<string> {
    // Outside the try: a PEM without a key is the account's fault, not a refusal by Entra ID.
    this.app ??= await this.createApp();
    this.network.lastError = undefined;
    try {
      const result = await this.app.acquireTokenByClientCredential({ scopes: [`${resource}/.default`], skipCache: forceRefresh });
      if (!result?.accessToken) throw new AuthenticationError('Entra ID returned no access token.');
      this.kept.delete(resource);
      this.fetched.add(resource);
      if (!result.fromCache) {
        this.stats.token_requests++;
        const expiresOnMs = result.expiresOn?.getTime();
        if (this.cache && expiresOnMs) this.cache.write(resource, { token: result.accessToken, expiresOnMs, skewMs: this.http.measuredSkewMs() });
      }
      return result.accessToken;
    } catch (error) {
      this.stats.token_failures++;
      if (error instanceof AuthenticationError) throw error;
      // Set by the network module during the await above (TypeScript cannot see that).
      const cause = this.network.lastError as NetworkError | HttpError | undefined;
      throw new AuthenticationError(cause ? explainTransportFailure(cause) : explainAuthFailure(error, this.credentials));
    }
  }

  /** msal-node is loaded here, on the first token this process must fetch. */
  private async createApp(): Promise<ConfidentialClientApplication> {
    const { ConfidentialClientApplication, LogLevel } = await import('./msal.js');
    const credentials = this.credentials;
    const host = new URL(credentials.loginUrl).host;
    const config: Configuration = {
      auth: {
        clientId: credentials.clientId,
        authority: `${credentials.loginUrl}/${credentials.tenantId}`,
        // A custom authority is trusted as given (no instance discovery call to the public cloud).
        knownAuthorities: KNOWN_LOGIN_HOSTS.has(host) ? undefined : [host],
        authorityMetadata: entraMetadata(credentials.loginUrl, credentials.tenantId),
        ...(credentials.authType === 'certificate' ? { clientCertificate: certificateOptions(credentials) } : { clientSecret: credentials.secret }),
      },
      system: {
        networkClient: msalNetworkClient(this.http, this.network),
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: LogLevel.Warning,
          loggerCallback: (_level, message) => this.logger.debug('msal', { message }),
        },
      },
    };
    return new ConfidentialClientApplication(config);
  }
}

/** A token request that got no answer from Entra ID, or an answer without Entra's error JSON. */
function explainTransportFailure(cause: NetworkError | HttpError): string {
  if (cause instanceof NetworkError) return `Cannot reach Entra ID: ${cause.message}`;
  if (statusKind(cause.status) === 'http_server') return `Entra ID is failing: ${cause.message}, after retries. The next poll tries again.`;
  // A 4xx without Entra's error JSON: a login URL that is not Entra's, or a proxy's page.
  return `${cause.message} is not an Entra ID answer (no Entra error in it). Check the account's cloud and, for a custom cloud, its login URL; or the proxy, if one answered.`;
}

/** Turns Entra's AADSTS codes into what an admin has to do. */
export function explainAuthFailure(error: unknown, credentials: Pick<Credentials, 'tenantId' | 'clientId' | 'authType' | 'loginUrl'>): string {
  const err = error as { errorCode?: string; errorMessage?: string; message?: string };
  const text = `${err.errorMessage ?? ''} ${err.message ?? ''}`;
  const code = /AADSTS(\d+)/.exec(text)?.[1];
  const secretWord = credentials.authType === 'certificate' ? 'certificate' : 'client secret';
  const hints: Record<string, string> = {
    '7000215': `The client secret is wrong (AADSTS7000215). Copy the secret's Value (not its ID) from Entra ID > App registrations > ${credentials.clientId} > Certificates & secrets, and update the account.`,
    '7000222': 'The client secret has expired (AADSTS7000222). Create a new secret in Entra ID and update the account.',
    '90002': `Entra ID at ${credentials.loginUrl} has no tenant ${credentials.tenantId} (AADSTS90002). Check tenant_id, the account's cloud (a tenant lives in one cloud only) and, for a custom cloud, its login URL.`,
    '900023': `Tenant ${credentials.tenantId} is not a valid tenant (AADSTS900023). Check tenant_id.`,
    '700016': `Application ${credentials.clientId} was not found in tenant ${credentials.tenantId} (AADSTS700016). Check client_id, tenant_id and the cloud; the app may need admin consent in this tenant.`,
    '700027': 'The certificate is not registered for this application, or the assertion is invalid (AADSTS700027). Upload the certificate to the app registration.',
    '7000214': 'The certificate has expired or been revoked (AADSTS7000214). Upload a new certificate.',
  };
  if (code && hints[code]) return hints[code];
  if (err.errorCode === 'invalid_client') return `Entra ID rejected the ${secretWord} (invalid_client${code ? `, AADSTS${code}` : ''}). Check the account's ${secretWord}.`;
  const summary = (err.errorMessage ?? err.message ?? String(error)).split(/\r?\n/)[0].slice(0, 300);
  return `Could not get a token from Entra ID for client ${credentials.clientId}: ${summary}`;
}

/**
 * The tenant's OpenID metadata as Entra lays it out in every cloud (msal-node carries the same
 * layout for some hosts, login.microsoftonline.com and .us among them, not for
 * login.chinacloudapi.cn or a custom login URL; it does not export it). Given, msal does not fetch
 * it before the first token of every poll: one request fewer per poll. An unknown tenant is then
 * refused by the token endpoint itself (AADSTS90002).
 */
function entraMetadata(loginUrl: string, tenantId: string): string {
  const tenant = `${loginUrl}/${tenantId}`;
  return JSON.stringify({
    token_endpoint: `${tenant}/oauth2/v2.0/token`,
    jwks_uri: `${tenant}/discovery/v2.0/keys`,
    issuer: `${tenant}/v2.0`,
    authorization_endpoint: `${tenant}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${tenant}/oauth2/v2.0/logout`,
  });
}

function certificateOptions(credentials: Credentials): { thumbprintSha256?: string; thumbprint?: string; privateKey: string; x5c?: string } {
  const pem = credentials.secret;
  const keyMatch = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(pem);
  if (!keyMatch) throw new AuthenticationError('The stored certificate secret holds no PEM private key (-----BEGIN PRIVATE KEY-----).');
  const certMatch = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (certMatch) {
    const cert = new X509Certificate(certMatch[0]);
    const thumbprintSha256 = createHash('sha256').update(cert.raw).digest('hex');
    // x5c lets Entra validate certificates issued by a CA (subject name + issuer authentication).
    return { thumbprintSha256, privateKey: keyMatch[0], x5c: certMatch[0] };
  }
  const thumbprint = (credentials.certificateThumbprint ?? '').replace(/[^0-9a-fA-F]/g, '');
  if (thumbprint.length === 64) return { thumbprintSha256: thumbprint, privateKey: keyMatch[0] };
  if (thumbprint.length === 40) return { thumbprint, privateKey: keyMatch[0] };
  throw new AuthenticationError('The stored PEM holds no certificate: add the certificate to the PEM, or set certificate_thumbprint (SHA-1 or SHA-256 hex) on the account.');
}

/** msal's INetworkModule on our HttpClient: Entra's error responses are returned, not thrown, for msal to parse. */
function msalNetworkClient(http: HttpClient, network: { lastError?: NetworkError | HttpError }): INetworkModule {
  const send = async <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    try {
      const response = await http.send(url, { method, headers: options?.headers, body: options?.body });
      return { status: response.status, headers: response.headers, body: JSON.parse(response.text) as T };
    } catch (error) {
      if (error instanceof HttpError && error.body !== undefined) return { status: error.status, headers: {}, body: error.body as T };
      if (error instanceof NetworkError || error instanceof HttpError) network.lastError = error;
      throw error;
    }
  };
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}
