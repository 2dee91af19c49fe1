/**
 * The request body, read by this function rather than by functions-framework.
 *
 * The framework parses every body before the function runs (body-parser:
 * JSON, text, URL-encoded, raw; limit 1 GB) and answers what its parsers
 * refuse itself, printing a plain-text stack: invalid JSON (400), a charset
 * other than UTF-8 (415), a gzip body that does not inflate (400). A
 * `Content-Encoding: gzip` body it inflates, up to 1 GB, whatever the
 * Content-Length said. And it parses JSON with no bound on the values:
 * 10 MiB of `[{},{},…]` is 210 MB of heap. None of those answers is an
 * outcome (Pub/Sub redelivers a 4xx push forever), and the memory is not
 * bounded.
 *
 * So, before the framework sees a request, `keepBodyRaw` makes every body
 * `application/octet-stream` with no encoding, which the framework's last
 * parser keeps as the bytes (`req.rawBody`), and remembers the headers as
 * sent. `bodyAsSent` then reads the bytes as those headers say, with the
 * same bounds as message data (limits.ts) before any parse, and says
 * clearly what it cannot read: the handler dead-letters it with the reason.
 */
import {LIMITS, scanJsonText, tooManyValues} from './limits';
import {excerpt} from './payload';

const AS_SENT = Symbol('dag-launcher.headers-as-sent');
const OCTETS = 'application/octet-stream';

interface HeadersAsSent {
  contentType: string | undefined;
  contentEncoding: string | undefined;
}

type WithHeaders = {headers: Record<string, string | string[] | undefined>};

/** Called for each request before the framework reads its body. */
export function keepBodyRaw(req: WithHeaders): void {
  const asSent: HeadersAsSent = {
    contentType: first(req.headers['content-type']),
    contentEncoding: first(req.headers['content-encoding']),
  };
  (req as unknown as Record<symbol, HeadersAsSent>)[AS_SENT] = asSent;
  req.headers['content-type'] = OCTETS;
  delete req.headers['content-encoding'];
}

export type BodyReading =
  | {ok: true; headers: WithHeaders['headers']; body: unknown}
  | {ok: false; delivered: UnreadableDelivery};

/**
 * The body as its headers say: JSON parsed, text as a string, anything else
 * the bytes. A request `keepBodyRaw` never saw (the CLI, tests calling the
 * endpoint) is returned as it is.
 */
export function bodyAsSent(
  req: WithHeaders & {body?: unknown; rawBody?: Buffer},
): BodyReading {
  const asSent = (req as unknown as Record<symbol, HeadersAsSent | undefined>)[
    AS_SENT
  ];
  if (!asSent) return {ok: true, headers: req.headers, body: req.body};
  const headers = {...req.headers};
  delete headers['content-type'];
  if (asSent.contentType !== undefined)
    headers['content-type'] = asSent.contentType;
  const bytes = req.rawBody ?? Buffer.alloc(0);
  const refuse = (reason: string): BodyReading => ({
    ok: false,
    delivered: new UnreadableDelivery(reason, headers, asSent, bytes),
  });
  const encoding = asSent.contentEncoding?.trim().toLowerCase();
  if (encoding && encoding !== 'identity')
    return refuse(
      `the request body is sent with Content-Encoding ${JSON.stringify(excerpt(encoding, 40))}; this function reads bodies uncompressed (as Pub/Sub and Eventarc send them)`,
    );
  const type = parseType(asSent.contentType);
  if (type.charset && !/^(?:utf-?8|us-ascii)$/i.test(type.charset))
    return refuse(
      `the request body's charset is ${JSON.stringify(excerpt(type.charset, 40))}; this function reads UTF-8`,
    );
  // No Content-Type: JSON, as every delivery format is (a hand-made curl, a proxy that drops it).
  const json = type.mime === '' || isJson(type.mime);
  if (bytes.length === 0)
    return {ok: true, headers, body: json ? undefined : bytes};
  if (json) {
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
    const scan = scanJsonText(text);
    if (scan.tooDeep)
      return refuse(
        `the request body is JSON nested more than ${LIMITS.jsonDepth} levels deep; this function reads JSON up to ${LIMITS.jsonDepth} levels`,
      );
    if (scan.values > LIMITS.jsonValues)
      return refuse(tooManyValues('the request body', scan.values));
    try {
      return {ok: true, headers, body: JSON.parse(text)};
    } catch {
      return refuse(
        `the request body is not JSON (${asSent.contentType ? `Content-Type ${JSON.stringify(excerpt(asSent.contentType, 80))}` : 'no Content-Type'}): ${JSON.stringify(excerpt(text, 80))}`,
      );
    }
  }
  if (type.mime.startsWith('text/'))
    return {ok: true, headers, body: bytes.toString('utf8')};
  return {ok: true, headers, body: bytes};
}

/**
 * A delivery whose body could not be read: the handler's normalize step
 * refuses it with the reason, and the dead letter keeps what it was (its own
 * fields, as the record's `event`): the CloudEvent attributes of its
 * headers, the body's Content-Type and Content-Encoding, and the bytes as
 * sent (base64).
 */
export class UnreadableDelivery {
  readonly id?: string;
  readonly type?: string;
  readonly source?: string;
  /** The other `ce-*` headers (subject, time, …). */
  readonly ce: Record<string, string> = {};
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly bodyBytes: number;
  readonly bodyBase64: string;

  constructor(
    readonly unreadable: string,
    headers: WithHeaders['headers'],
    asSent: HeadersAsSent,
    bytes: Buffer,
  ) {
    for (const [name, value] of Object.entries(headers)) {
      const v = first(value);
      if (v === undefined || !name.startsWith('ce-')) continue;
      const attribute = name.slice(3);
      const kept = excerpt(v, LIMITS.contextStringBytes);
      if (attribute === 'id') this.id = kept;
      else if (attribute === 'type') this.type = kept;
      else if (attribute === 'source') this.source = kept;
      else this.ce[attribute] = kept;
    }
    if (asSent.contentType !== undefined)
      this.contentType = excerpt(asSent.contentType, 256);
    if (asSent.contentEncoding !== undefined)
      this.contentEncoding = excerpt(asSent.contentEncoding, 256);
    this.bodyBytes = bytes.length;
    this.bodyBase64 = bytes.toString('base64');
  }
}

function isJson(mime: string): boolean {
  return /^application\/(?:[\w.+-]+\+)?json$/.test(mime);
}

function parseType(header: string | undefined): {
  mime: string;
  charset?: string;
} {
  if (!header) return {mime: ''};
  const [mime, ...params] = header.split(';');
  let charset: string | undefined;
  for (const param of params) {
    const m = /^\s*charset\s*=\s*"?([^";\s]*)"?\s*$/i.exec(param);
    if (m) charset = m[1];
  }
  return {mime: mime!.trim().toLowerCase(), charset};
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
