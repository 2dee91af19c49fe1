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
import {decodeText, excerpt} from './payload';

const AS_SENT = Symbol('dag-launcher.headers-as-sent');
const OCTETS = 'application/octet-stream';
/**
 * The largest body a delivery can be: a 10 MB Pub/Sub message is 14 MB of
 * base64 in a push body, with 100 attributes of 1.25 KB. A larger body
 * (Cloud Run lets in 32 MiB) is not read: it is refused by its size.
 */
export const MAX_BODY_BYTES = 16 * 2 ** 20;
/** The headers of a binary-mode CloudEvent, whose body is its data. */
export const BINARY_REQUIRED = [
  'ce-type',
  'ce-specversion',
  'ce-source',
  'ce-id',
];

interface HeadersAsSent {
  contentType: string | undefined;
  contentEncoding: string | undefined;
  /** The Content-Length, when over MAX_BODY_BYTES: the body is left unread. */
  tooLarge?: number;
}

type WithHeaders = {headers: Record<string, string | string[] | undefined>};

/** Called for each request before the framework reads its body. */
export function keepBodyRaw(req: WithHeaders): void {
  const asSent: HeadersAsSent = {
    contentType: first(req.headers['content-type']),
    contentEncoding: first(req.headers['content-encoding']),
  };
  (req as unknown as Record<symbol, HeadersAsSent>)[AS_SENT] = asSent;
  delete req.headers['content-encoding'];
  const length = Number(first(req.headers['content-length']));
  if (length > MAX_BODY_BYTES) {
    // No Content-Type: none of the framework's parsers reads it, and Node discards it after the answer.
    asSent.tooLarge = length;
    delete req.headers['content-type'];
  } else req.headers['content-type'] = OCTETS;
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
  const size = asSent.tooLarge ?? bytes.length;
  const refuse = (reason: string, kept = bytes): BodyReading => ({
    ok: false,
    delivered: new UnreadableDelivery(reason, headers, asSent, kept, size),
  });
  if (size > MAX_BODY_BYTES)
    return refuse(
      `the request body is ${size.toLocaleString('en-US')} bytes, over the largest delivery (${MAX_BODY_BYTES.toLocaleString('en-US')} bytes: a 10 MB Pub/Sub message is a 14 MB push body); it was not read, and the record keeps only its size and headers`,
      Buffer.alloc(0),
    );
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
  // Only a binary-mode CloudEvent's body is data of its own type; every other delivery (a structured
  // CloudEvent, a gen1 body, a Pub/Sub push) is JSON, whatever a hand-made request's Content-Type says.
  const binaryMode = BINARY_REQUIRED.every(name => headers[name] !== undefined);
  const json = !binaryMode || isJson(type.mime) || type.mime === '';
  if (bytes.length === 0)
    return {ok: true, headers, body: json ? undefined : bytes};
  if (json) {
    const text = decodeText(bytes);
    if (text === undefined)
      return refuse(
        `the request body is not UTF-8 (${contentTypeOf(asSent)}); this function reads JSON in UTF-8`,
      );
    const scan = scanJsonText(text);
    if (scan.tooDeep)
      return refuse(
        `the request body is JSON nested more than ${LIMITS.jsonDepth} levels deep; this function reads JSON up to ${LIMITS.jsonDepth} levels`,
      );
    if (scan.values > LIMITS.deliveryJsonValues)
      return refuse(
        tooManyValues(
          'the request body',
          scan.values,
          LIMITS.deliveryJsonValues,
        ),
      );
    try {
      return {ok: true, headers, body: JSON.parse(text)};
    } catch {
      return refuse(
        `the request body is not JSON (${contentTypeOf(asSent)}): ${JSON.stringify(excerpt(text, 80))}`,
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
    size = bytes.length,
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
    this.bodyBytes = size;
    this.bodyBase64 = bytes.toString('base64');
  }
}

function contentTypeOf(asSent: HeadersAsSent): string {
  return asSent.contentType
    ? `Content-Type ${JSON.stringify(excerpt(asSent.contentType, 80))}`
    : 'no Content-Type';
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
