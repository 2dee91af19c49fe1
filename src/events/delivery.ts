/**
 * An HTTP request, as functions-framework's body parsers leave it, turned
 * into the delivery `normalize` reads: a CloudEvent (binary mode from the
 * `ce-*` headers, structured mode as the body), a gen1 `{data, context}`
 * body, or a raw Pub/Sub push made the Eventarc CloudEvent of its message.
 * Pure over (method, headers, body, path), so the CLI and tests read
 * requests exactly as the function does.
 *
 * The function registers as an HTTP function and does this itself, rather
 * than as a CloudEvent function, because the framework's own conversion
 * throws on deliveries it did not expect (a binary-mode event whose body is
 * `text/plain`, a GET, a gen1 resource it cannot split) and answers 500,
 * which the platform redelivers forever; and because it turns a raw push
 * into a gen1 event that drops the subscription, the ordering key and (unless
 * the path names it) the topic. Here each becomes a clear outcome.
 */
import {isPushBody, pushMessageId, pushToCloudEvent} from './push';
import {isObject, type Json} from './payload';
import {BINARY_REQUIRED, UnreadableDelivery} from './body';

export interface DeliveryRequest {
  /** Lower-case header names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The body as its Content-Type says (events/body.ts): an object for JSON, a string for text/*, a Buffer otherwise. */
  body: unknown;
  /** The body's bytes, which the framework keeps for every parsed body. */
  rawBody?: Buffer;
  /** The request path: a push endpoint may name its topic there. */
  path?: string;
}

export type Delivered =
  | {kind: 'event'; delivered: unknown}
  | {kind: 'refused'; status: number; reason: string};

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** The function's reading of a request: refused when it is not an event delivery at all. */
export function deliveredFrom(
  req: DeliveryRequest & {method: string},
): Delivered {
  if (req.method !== 'POST')
    return {
      kind: 'refused',
      status: 405,
      reason: `${req.method.slice(0, 16)} is not an event delivery; events are POSTed`,
    };
  return {kind: 'event', delivered: readDelivery(req)};
}

/** A POSTed body (or a file given to `explain`) as the delivery the handler reads. */
export function readDelivery(req: DeliveryRequest): unknown {
  // A body that could not be read (events/body.ts): normalize refuses it with the reason.
  if (req.body instanceof UnreadableDelivery) return req.body;
  const h = req.headers;
  const header = (name: string) => {
    const v = h[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const traceparent = header('traceparent');
  if (BINARY_REQUIRED.every(name => header(name))) {
    // Binary mode: the context is in the ce-* headers, the body is the data.
    const event: Record<string, unknown> = {};
    for (const name in h) {
      const v = header(name);
      if (name.startsWith('ce-') && typeof v === 'string')
        event[name.slice(3)] = v;
    }
    event.data = binaryData(req);
    if (traceparent) event.traceparent = traceparent;
    return event;
  }
  const body = req.body;
  if (isPushBody(body) && pushMessageId(body as Json) !== undefined)
    return pushToCloudEvent(body as Json, req.path);
  if (traceparent && isObject(body) && !body.context)
    return {...body, traceparent: body.traceparent ?? traceparent};
  return body;
}

/**
 * A binary-mode event's data: the parsed body when the framework parsed it
 * as JSON, else the bytes as sent (normalize parses them, and says so
 * clearly when they are not JSON), whatever the Content-Type claimed.
 */
function binaryData(req: DeliveryRequest): unknown {
  const type = req.headers['content-type'];
  // An object body is what the JSON parser made; a caller without a header (the CLI, tests) means JSON too.
  const parsedJson =
    (type === undefined ||
      (typeof type === 'string' && JSON_TYPE.test(type))) &&
    req.body !== null &&
    typeof req.body === 'object' &&
    !Buffer.isBuffer(req.body);
  if (parsedJson) return req.body;
  if (req.rawBody) return req.rawBody;
  return typeof req.body === 'string' || Buffer.isBuffer(req.body)
    ? req.body
    : undefined;
}
