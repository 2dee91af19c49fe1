/**
 * The HTTP client for calls to Airflow: node:http(s) over one keep-alive
 * agent per instance. Cheaper per request than fetch (no web streams, no
 * AbortSignal, fewer promises), which matters at thousands of events a
 * second; the deadline timer is cleared the moment the response ends.
 *
 * Redirects are not followed (a redirect from Airflow's API is a login page
 * or a proxy misconfiguration, to be reported, not chased). Only the first
 * `excerptMax` characters of a body are kept; the rest is read and dropped
 * so the connection can be reused.
 */
import * as http from 'node:http';
import type * as Https from 'node:https';

/** Bodies kept for logs and dead letters are cut to this many characters. */
export const BODY_EXCERPT_MAX = 2048;
/**
 * With an `excerpt` function, this many characters more are received before
 * it cuts: room for a credential echoed across the cut, in its longest
 * encoding, to be seen whole and scrubbed.
 */
const EXCERPT_MARGIN = 16 * 1024;

/**
 * An idle connection is closed after 4 s, before the servers in front of
 * Airflow close it themselves (uvicorn's default is 5 s), so a request is not
 * written into a socket the server is closing. A request that still meets a
 * reset is retried (retry.ts), and a POST that did land comes back as a 409.
 */
const IDLE_SOCKET_MS = 4_000;
const httpAgent = new http.Agent({
  keepAlive: true,
  scheduling: 'lifo',
  timeout: IDLE_SOCKET_MS,
});
/** node:https (and TLS) is loaded by the first https:// call, not by every cold start. */
let tls: {https: typeof Https; agent: Https.Agent} | undefined;
function httpsClient(): {https: typeof Https; agent: Https.Agent} {
  if (!tls) {
    const https = require('node:https') as typeof Https;
    tls = {
      https,
      agent: new https.Agent({
        keepAlive: true,
        scheduling: 'lifo',
        timeout: IDLE_SOCKET_MS,
      }),
    };
  }
  return tls;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** At most `excerptMax` characters, `…` appended when cut. */
  body: string;
}

/** The deadline passed: the request was abandoned (and its socket closed). */
export class HttpTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  excerptMax?: number;
  /**
   * Makes the kept body from what was received (up to `excerptMax` +
   * EXCERPT_MARGIN characters; `more` when the body went on): for a call
   * made with credentials, scrubbing them before the cut.
   */
  excerpt?: (received: string, max: number, more: boolean) => string;
  /** Sees every chunk of the body as it arrives (a search through a body too large to keep). */
  onChunk?: (chunk: string) => void;
}

export function httpRequest(
  url: string,
  req: HttpRequest,
): Promise<HttpResponse> {
  const max = req.excerptMax ?? BODY_EXCERPT_MAX;
  const keep = req.excerpt ? max + EXCERPT_MARGIN : max;
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:') ? httpsClient() : undefined;
    const headers: Record<string, string | number> = {...req.headers};
    if (req.body !== undefined)
      headers['Content-Length'] = Buffer.byteLength(req.body);
    let settled = false;
    const finish = (err: Error | undefined, res?: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(res!);
    };
    const options = {
      method: req.method ?? 'GET',
      headers,
      agent: secure?.agent ?? httpAgent,
    };
    const request = (secure ? secure.https : http).request(
      url,
      options,
      res => {
        res.setEncoding('utf8');
        let text = '';
        let cut = false;
        res.on('data', (chunk: string) => {
          req.onChunk?.(chunk);
          if (text.length < keep) text += chunk;
          else cut = true;
        });
        res.on('end', () => {
          if (text.length > keep) {
            text = text.slice(0, keep);
            cut = true;
          }
          let body: string;
          if (req.excerpt) body = req.excerpt(text, max, cut);
          else if (cut || text.length > max) body = `${text.slice(0, max)}…`;
          else body = text;
          finish(undefined, {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
          });
        });
        res.on('error', err => finish(err));
        res.on('aborted', () =>
          finish(
            Object.assign(new Error('the response was cut off'), {
              code: 'ECONNRESET',
            }),
          ),
        );
      },
    );
    const timer = setTimeout(() => {
      const err = new HttpTimeoutError(`no response within ${req.timeoutMs}ms`);
      request.destroy(err);
      finish(err);
    }, req.timeoutMs);
    request.on('error', err => finish(err));
    request.end(req.body);
  });
}

/** The error code of a failed request (`ECONNREFUSED`, `ECONNRESET`, …). */
export function errorCode(e: unknown): string | undefined {
  const code = (e as {code?: unknown} | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
