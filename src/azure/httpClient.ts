import { Readable } from 'node:stream';
import { toHttpHeadersLike, type CompatResponse, type RequestPolicy, type WebResourceLike } from '@azure/core-http-compat';
import { createHttpHeaders, RestError } from '@azure/core-rest-pipeline';
import { request as undiciRequest } from 'undici';
import type { HttpClient } from '../http/client.js';

/**
 * The Azure Storage SDK's HTTP transport (its `httpClient` option, a core-http RequestPolicy)
 * over our HttpClient's undici dispatcher, so Blob storage uses the same proxy, ca_file and
 * timeouts as every other request, with TLS verification on. The SDK's pipeline keeps its own
 * retry and signing policies; plain http:// is refused.
 */
export function azureHttpClient(http: HttpClient): RequestPolicy {
  return {
    async sendRequest(request: WebResourceLike): Promise<CompatResponse> {
      if (!request.url.startsWith('https:')) {
        throw new RestError(`Refusing ${new URL(request.url).protocol}// to ${new URL(request.url).host}: the add-on only uses https.`, { code: 'INSECURE_URL' });
      }
      const signals: AbortSignal[] = [];
      if (request.abortSignal) signals.push(request.abortSignal as AbortSignal);
      if (request.timeout > 0) signals.push(AbortSignal.timeout(request.timeout));
      let response: Awaited<ReturnType<typeof undiciRequest>>;
      try {
        response = await undiciRequest(request.url, {
          method: request.method,
          headers: request.headers.toJson({ preserveCase: true }),
          body: requestBody(request.body),
          dispatcher: http.dispatcher,
          signal: signals.length ? AbortSignal.any(signals) : undefined,
        });
      } catch (error) {
        const err = error as NodeJS.ErrnoException;
        if (err.name === 'AbortError') throw error;
        // REQUEST_SEND_ERROR is what the SDK's retry policy treats as a transient network failure.
        throw new RestError(`${err.code ?? err.name}: ${err.message}`, { code: RestError.REQUEST_SEND_ERROR });
      }
      http.stats.requests++;
      const headers = createHttpHeaders();
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      const result: CompatResponse = { request, status: response.statusCode, headers: toHttpHeadersLike(headers) };
      const streamed = request.streamResponseBody || request.streamResponseStatusCodes?.has(response.statusCode) || request.streamResponseStatusCodes?.has(Number.POSITIVE_INFINITY);
      if (streamed) result.readableStreamBody = response.body;
      else result.bodyAsText = await response.body.text();
      return result;
    },
  };
}

function requestBody(body: unknown): string | Uint8Array | Readable | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  const made = typeof body === 'function' ? (body as () => unknown)() : body;
  if (made instanceof Readable) return made;
  throw new RestError('This request body type is not supported by the add-on\'s transport.', { code: 'UNSUPPORTED_BODY' });
}
