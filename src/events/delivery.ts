/**
 * An HTTP request, as functions-framework's body parsers leave it, turned
 * into the delivery `normalize` reads: a CloudEvent (binary mode from the
 * `ce-*` headers, structured mode as the body), a gen1 `{data, context}`
 * body, or a Pub/Sub push body (made the gen1 shape, as the framework does).
 *
 * The function registers as an HTTP function and does this itself, rather
 * than as a CloudEvent function, because the framework's own conversion
 * throws on deliveries it did not expect (a binary-mode event whose body is
 * `text/plain`, a GET, a gen1 resource it cannot split) and answers 500,
 * which the platform redelivers forever; here each becomes a clear outcome.
 */

export interface HttpDelivery {
  method: string;
  /** Lower-case header names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** What the framework's body parsers made of the body (an object for JSON, a string for text/*, a Buffer otherwise). */
  body: unknown;
  /** The body's bytes, which the framework keeps for every parsed body. */
  rawBody?: Buffer;
  path: string;
}

export type Delivered =
  | {kind: 'event'; delivered: unknown}
  | {kind: 'refused'; status: number; reason: string};

const BINARY_REQUIRED = ['ce-type', 'ce-specversion', 'ce-source', 'ce-id'];
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function deliveredFrom(req: HttpDelivery): Delivered {
  if (req.method !== 'POST')
    return {
      kind: 'refused',
      status: 405,
      reason: `${req.method.slice(0, 16)} is not an event delivery; events are POSTed`,
    };
  const h = req.headers;
  if (BINARY_REQUIRED.every(name => typeof h[name] === 'string' && h[name])) {
    const event: Record<string, unknown> = {};
    for (const name in h) {
      const v = h[name];
      if (name.startsWith('ce-') && typeof v === 'string')
        event[name.slice(3)] = v;
    }
    event.data = binaryData(req);
    if (typeof h.traceparent === 'string') event.traceparent = h.traceparent;
    return {kind: 'event', delivered: event};
  }
  const body = req.body;
  if (isPubsubPush(body))
    return {kind: 'event', delivered: gen1FromPush(body, req.path)};
  if (isRecord(body) && typeof h.traceparent === 'string' && !body.context)
    return {kind: 'event', delivered: {...body, traceparent: h.traceparent}};
  return {kind: 'event', delivered: body};
}

/**
 * A binary-mode event's data: the parsed body when the framework parsed it
 * as JSON, else the bytes as sent (normalize parses them, and says so
 * clearly when they are not JSON), whatever the Content-Type claimed.
 */
function binaryData(req: HttpDelivery): unknown {
  const type = req.headers['content-type'];
  const parsedJson =
    typeof type === 'string' &&
    JSON_TYPE.test(type) &&
    req.body !== null &&
    typeof req.body === 'object' &&
    !Buffer.isBuffer(req.body);
  if (parsedJson) return req.body;
  if (req.rawBody) return req.rawBody;
  return typeof req.body === 'string' || Buffer.isBuffer(req.body)
    ? req.body
    : undefined;
}

interface PushBody {
  subscription: string;
  message: {
    data: string;
    messageId: string;
    publishTime?: string;
    attributes?: unknown;
  };
}

/** A Pub/Sub push subscription posting to the function directly (the emulator, local runs). */
function isPubsubPush(body: unknown): body is PushBody {
  if (!isRecord(body) || body.context || !body.subscription) return false;
  const m = body.message;
  return isRecord(m) && !!m.data && !!m.messageId;
}

/** The gen1 shape functions-framework makes of a push body; the topic is in the push endpoint's path. */
function gen1FromPush(body: PushBody, path: string): unknown {
  const m = body.message;
  return {
    context: {
      eventId: m.messageId,
      timestamp: m.publishTime || undefined,
      eventType: 'google.pubsub.topic.publish',
      resource: {
        service: 'pubsub.googleapis.com',
        type: 'type.googleapis.com/google.pubsub.v1.PubsubMessage',
        name: /projects\/[^/?]+\/topics\/[^/?]+/.exec(path)?.[0],
      },
    },
    data: {
      '@type': 'type.googleapis.com/google.pubsub.v1.PubsubMessage',
      data: m.data,
      attributes: m.attributes ?? {},
      ...(m.publishTime ? {publishTime: m.publishTime} : {}),
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !Buffer.isBuffer(v)
  );
}
