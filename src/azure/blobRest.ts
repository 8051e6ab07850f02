import { XMLParser } from 'fast-xml-parser';
import type { HttpClient, HttpResponse } from '../http/client.js';
import { HttpError, NetworkError } from '../http/errors.js';
import { sharedKeyAuthorization } from './sharedKey.js';

/**
 * The few Blob service operations the Storage Account input needs (List Containers, List Blobs,
 * Get Blob with a range), as plain REST calls on the add-on's HttpClient: its proxy, ca_file,
 * timeouts and retries, TLS verification on, redirects never followed. It replaces the Azure
 * Storage SDK, whose bundle cost every run of the input more than the rest of a quiet poll
 * (docs/performance.md). Only https endpoints reach here (definition.ts, storageConnectionString.ts).
 */

/** The service version asked for: recent, and the newest the Azurite the tests use knows. */
export const BLOB_API_VERSION = '2025-11-05';

export type BlobAuth =
  /** Shared Key: each attempt signed over its own x-ms-date (sharedKey.ts). */
  | { kind: 'shared_key'; account: string; key: Buffer }
  /** A SAS token (no leading '?'), appended to every query. */
  | { kind: 'sas'; token: string };

export interface BlobEntry {
  kind: 'blob';
  name: string;
  size: number;
  lastModifiedMs: number;
}

/** A "folder" of a listing by hierarchy (its name ends with the delimiter). */
export interface PrefixEntry {
  kind: 'prefix';
  name: string;
}

/** A failed storage request: the HTTP status (none for a network failure) and the service's error code. */
export class StorageError extends Error {
  constructor(
    readonly status: number | undefined,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

const LISTS = new Set(['Blob', 'BlobPrefix', 'Container']);
const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Names stay text as sent: "0123" is not a number, " a " keeps its spaces.
  parseTagValue: false,
  trimValues: false,
  // &#xNN; references too, not only the five XML entities.
  htmlEntities: true,
  isArray: (name) => LISTS.has(name),
});

type XmlText = string | { '#text'?: string; Encoded?: string } | undefined;
interface ListXml {
  EnumerationResults?: {
    Blobs?: { Blob?: { Name?: XmlText; Properties?: { 'Content-Length'?: string; 'Last-Modified'?: string } }[]; BlobPrefix?: { Name?: XmlText }[] } | '';
    Containers?: { Container?: { Name?: XmlText }[] } | '';
    NextMarker?: XmlText;
  };
}

/** An element's text; a name the service percent-encoded (Encoded="true": characters XML cannot carry) decoded. */
function textOf(value: XmlText): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  const text = value['#text'] ?? '';
  return value.Encoded === 'true' ? decodeURIComponent(text) : text;
}

/** A path segment as the Azure SDK escapes it (and signs it): encodeURIComponent, and ' too. */
function segment(name: string): string {
  return encodeURIComponent(name).replace(/'/g, '%27');
}

export class BlobRest {
  /** @param endpoint the Blob service's https URL, without a trailing slash (it may have a path: the emulator's /<account>). */
  constructor(
    private readonly http: HttpClient,
    readonly endpoint: string,
    private readonly auth: BlobAuth,
  ) {}

  /** Names of the containers starting with `prefix`, page after page. */
  async *listContainers(prefix: string, maxResults?: number): AsyncGenerator<string> {
    let marker = '';
    do {
      const page = await this.list('', [['comp', 'list'], ['prefix', prefix], ...pageParams(marker, maxResults)]);
      const results = page.EnumerationResults;
      for (const container of (results?.Containers || undefined)?.Container ?? []) yield textOf(container.Name);
      marker = textOf(results?.NextMarker);
    } while (marker);
  }

  /**
   * The blobs of a container under `prefix`, page after page; with a delimiter, the "folders"
   * directly under it too (as prefix entries, after the blobs of their page).
   */
  async *listBlobs(container: string, options: { prefix?: string; delimiter?: string; maxResults?: number } = {}): AsyncGenerator<BlobEntry | PrefixEntry> {
    let marker = '';
    do {
      const query: [string, string][] = [['restype', 'container'], ['comp', 'list']];
      if (options.prefix) query.push(['prefix', options.prefix]);
      if (options.delimiter) query.push(['delimiter', options.delimiter]);
      const page = await this.list(`/${segment(container)}`, [...query, ...pageParams(marker, options.maxResults)]);
      const results = page.EnumerationResults;
      const blobs = results?.Blobs || undefined;
      for (const blob of blobs?.Blob ?? []) {
        const size = Number(blob.Properties?.['Content-Length']);
        const lastModifiedMs = Date.parse(blob.Properties?.['Last-Modified'] ?? '');
        if (!Number.isSafeInteger(size) || !Number.isFinite(lastModifiedMs)) {
          throw new StorageError(undefined, 'InvalidListing', `the listing of ${container} gave ${textOf(blob.Name)} no readable Content-Length or Last-Modified`);
        }
        yield { kind: 'blob', name: textOf(blob.Name), size, lastModifiedMs };
      }
      for (const prefix of blobs?.BlobPrefix ?? []) yield { kind: 'prefix', name: textOf(prefix.Name) };
      marker = textOf(results?.NextMarker);
    } while (marker);
  }

  /**
   * Bytes [offset, offset + count) of a blob (Get Blob with x-ms-range). The buffer may come from
   * the body pool (src/http/bodyPool.ts): the caller may give it back once it is read.
   */
  async getRange(container: string, blob: string, offset: number, count: number): Promise<Buffer> {
    const path = `/${segment(container)}/${blob.split('/').map(segment).join('/')}`;
    const response = await this.get(path, [], { 'x-ms-range': `bytes=${offset}-${offset + count - 1}` });
    // 200 is a server that ignored the range and sent the whole blob.
    return response.status === 200 ? response.bytes.subarray(offset, offset + count) : response.bytes;
  }

  private async list(path: string, query: [string, string][]): Promise<ListXml> {
    const response = await this.get(path, query, {});
    try {
      return xml.parse(response.text) as ListXml;
    } catch (error) {
      throw new StorageError(response.status, 'InvalidXml', `the listing is not readable XML (${(error as Error).message.split('\n')[0]})`);
    }
  }

  private async get(path: string, query: [string, string][], headers: Record<string, string>): Promise<HttpResponse> {
    let search = query.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
    if (this.auth.kind === 'sas') search = search ? `${search}&${this.auth.token}` : this.auth.token;
    const url = `${this.endpoint}${path || '/'}${search ? `?${search}` : ''}`;
    const auth = this.auth;
    const parsed = new URL(url);
    const headersForAttempt = () => {
      const signed = { ...headers, 'x-ms-date': new Date().toUTCString(), 'x-ms-version': BLOB_API_VERSION };
      if (auth.kind === 'sas') return signed;
      return { ...signed, authorization: sharedKeyAuthorization(auth.account, auth.key, 'GET', parsed, signed) };
    };
    try {
      return await this.http.send(url, { method: 'GET', headersForAttempt });
    } catch (error) {
      throw storageErrorOf(error);
    }
  }
}

function pageParams(marker: string, maxResults: number | undefined): [string, string][] {
  const params: [string, string][] = [];
  if (marker) params.push(['marker', marker]);
  if (maxResults) params.push(['maxresults', String(maxResults)]);
  return params;
}

/**
 * The service's error code (x-ms-error-code, or <Code> of the error body) and the first line of its
 * <Message>; a network failure keeps its code and the HttpClient's message (with its hint).
 */
export function storageErrorOf(error: unknown): Error {
  if (error instanceof HttpError) {
    const code = error.headers['x-ms-error-code'] || /<Code>([^<]*)<\/Code>/.exec(error.bodyText)?.[1];
    const message = /<Message>([^<\r\n]*)/.exec(error.bodyText)?.[1]?.trim();
    return new StorageError(error.status, code, `HTTP ${error.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`);
  }
  if (error instanceof NetworkError) return new StorageError(undefined, error.code, error.message);
  return error as Error;
}
