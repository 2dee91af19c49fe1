/**
 * normalize: whatever the platform delivered -> one TriggerEvent, or an
 * InvalidEventError that says exactly what is wrong.
 *
 * Accepted inputs:
 * - a CloudEvent as functions-framework hands it over: binary mode (context
 *   from `ce-*` headers, `data` = the parsed body, a string or a Buffer) or
 *   structured mode (the whole envelope is the body; `data` or `data_base64`);
 * - a gen1 legacy body `{data, context}` (or with the context fields at the
 *   top level), which functions-framework usually converts to a CloudEvent
 *   already; the CLI and any unconverted body come here as they are;
 * - a raw Pub/Sub push body `{message, subscription}` (push.ts);
 * and inside any Pub/Sub delivery, a Cloud Storage notification is read as
 * the Storage event it is (storage-notification.ts).
 */
import {
  PUBSUB_PUBLISHED,
  STORAGE_ARCHIVED,
  STORAGE_DELETED,
  STORAGE_FINALIZED,
  STORAGE_METADATA_UPDATED,
  STORAGE_TYPES,
  type TriggerEvent,
} from './event';
import {isPushBody, pushToCloudEvent} from './push';
import {UnreadableDelivery} from './body';
import {
  isStorageNotification,
  storageEventFromNotification,
} from './storage-notification';
import {InvalidEventError} from '../core/errors';
import {
  LIMITS,
  checkBytes,
  checkDepth,
  scanJsonText,
  tooDeep,
  tooManyValues,
} from './limits';
import {
  storageObject,
  pubsubMessage,
  decodeBase64,
  bucketFromSource,
  objectFromSubject,
  topicFromSource,
  requireString,
  optionalString,
  isObject,
  describe,
  excerpt,
  type Json,
} from './payload';

/** gen1 event types (both generations of them) and the gen2 type each one is. */
const LEGACY_TYPES: Record<string, string> = {
  'google.storage.object.finalize': STORAGE_FINALIZED,
  'google.storage.object.delete': STORAGE_DELETED,
  'google.storage.object.archive': STORAGE_ARCHIVED,
  'google.storage.object.metadataUpdate': STORAGE_METADATA_UPDATED,
  'providers/cloud.storage/eventTypes/object.change': STORAGE_FINALIZED,
  'google.pubsub.topic.publish': PUBSUB_PUBLISHED,
  'providers/cloud.pubsub/eventTypes/topic.publish': PUBSUB_PUBLISHED,
};

const utf8 = new TextDecoder('utf-8', {fatal: true});

export interface NormalizeOptions {
  /** Full subscription name -> full topic name, for pushes whose path has no topic. */
  subscriptionTopics?: ReadonlyMap<string, string>;
}

export function normalizeEvent(
  input: unknown,
  options: NormalizeOptions = {},
): TriggerEvent {
  let event = readEvent(input, options);
  if (event.kind === 'pubsub' && isStorageNotification(event.pubsub!))
    event = storageEventFromNotification(event.pubsub!, event);
  // The event's age decides between a retry and `expired`: without a time it could be retried forever.
  if (event.time !== undefined && Number.isNaN(Date.parse(event.time)))
    throw new InvalidEventError(
      `event time ${JSON.stringify(excerpt(event.time, 64))} is not an RFC 3339 timestamp; the function tells an event's age (maxEventAge) by it`,
    );
  return event;
}

function readEvent(input: unknown, options: NormalizeOptions): TriggerEvent {
  if (input instanceof UnreadableDelivery)
    throw new InvalidEventError(input.unreadable);
  if (!isObject(input)) {
    throw new InvalidEventError(
      `event is ${describe(input)}, expected a CloudEvent or a gen1 {data, context} object`,
    );
  }
  // Before anything reads it: every later step may then walk it recursively.
  checkDepth(input, 'the event');
  if (
    typeof input.specversion === 'string' ||
    (typeof input.type === 'string' && 'source' in input)
  ) {
    return fromCloudEvent(input, options);
  }
  if (isPushBody(input))
    return fromCloudEvent(pushToCloudEvent(input), options);
  const context = isObject(input.context) ? input.context : input;
  if (typeof context.eventType === 'string') {
    return fromLegacy(context, 'data' in input ? input.data : undefined);
  }
  throw new InvalidEventError(
    'event is neither a CloudEvent (no specversion/type) nor a gen1 legacy event (no context.eventType)',
  );
}

function fromCloudEvent(ce: Json, options: NormalizeOptions): TriggerEvent {
  const type = requireString(ce, 'type', 'CloudEvent');
  const id = requireString(ce, 'id', 'CloudEvent');
  const source = requireString(ce, 'source', 'CloudEvent');
  const base = {
    id,
    type,
    source,
    subject: optionalString(ce.subject),
    time: optionalString(ce.time),
    traceparent: optionalString(ce.traceparent),
    format: 'cloudevent' as const,
  };
  checkContext(base, 'CloudEvent');
  const data = cloudEventData(ce);
  if (STORAGE_TYPES.has(type)) {
    const storage = storageObject(
      data,
      bucketFromSource(source),
      objectFromSubject(base.subject),
    );
    return {
      ...base,
      kind: 'storage',
      storage,
      time: base.time ?? storage.updated ?? storage.timeCreated,
    };
  }
  if (type === PUBSUB_PUBLISHED) {
    const pubsub = pubsubMessage(data, topicFromSource(source), id);
    const mapped = pubsub.topic
      ? undefined
      : options.subscriptionTopics?.get(pubsub.subscription ?? '');
    pubsub.topic ??= mapped;
    return {
      ...base,
      // The topic from subscriptionTopics names the source too, as the path would have.
      ...(mapped && {source: `//pubsub.googleapis.com/${mapped}`}),
      kind: 'pubsub',
      pubsub,
      time: base.time ?? pubsub.publishTime,
    };
  }
  throw new InvalidEventError(
    `unsupported event type '${type}': this function handles ${[...STORAGE_TYPES].join(', ')} and ${PUBSUB_PUBLISHED}`,
  );
}

function fromLegacy(context: Json, data: unknown): TriggerEvent {
  const legacyType = context.eventType as string;
  // Own keys only: an eventType of `__proto__` or `constructor` is not a type.
  const type = Object.hasOwn(LEGACY_TYPES, legacyType)
    ? LEGACY_TYPES[legacyType]
    : undefined;
  if (!type) {
    throw new InvalidEventError(
      `unsupported legacy event type '${legacyType}': this function handles ${Object.keys(LEGACY_TYPES).join(', ')}`,
    );
  }
  const id = requireString(context, 'eventId', 'legacy event context');
  const time = optionalString(context.timestamp);
  const resource = isObject(context.resource)
    ? optionalString(context.resource.name)
    : optionalString(context.resource);
  // gen1 object.change also reports deletions; gen2 has a type of its own for them.
  const deleted = isObject(data) && data.resourceState === 'not_exists';
  const base = {
    id,
    type: deleted && type === STORAGE_FINALIZED ? STORAGE_DELETED : type,
    time,
    format: 'legacy' as const,
  };
  checkContext({...base, resource}, 'legacy event context');
  if (STORAGE_TYPES.has(type)) {
    const m = /^projects\/[^/]+\/buckets\/([^/]+)\/objects\/(.+)$/.exec(
      resource ?? '',
    );
    const storage = storageObject(data, m?.[1], m?.[2]);
    return {
      ...base,
      kind: 'storage',
      // The same source and subject as the gen2 twin, so routing and logs agree.
      source: `//storage.googleapis.com/projects/_/buckets/${storage.bucket}`,
      subject: `objects/${storage.name}`,
      storage,
      time: time ?? storage.updated ?? storage.timeCreated,
    };
  }
  // A gen1 Pub/Sub event's data is the PubsubMessage itself; its id and time live in the context.
  const message = isObject(data)
    ? {messageId: id, publishTime: time, ...data}
    : data;
  const pubsub = pubsubMessage({message}, resource, id);
  return {
    ...base,
    kind: 'pubsub',
    source: `//pubsub.googleapis.com/${resource ?? ''}`,
    pubsub,
    time: time ?? pubsub.publishTime,
  };
}

/** The event's identity fields are short strings; a 10 MB id would ride on every log line. */
function checkContext(
  fields: Record<string, string | undefined>,
  what: string,
): void {
  for (const [key, value] of Object.entries(fields))
    checkBytes(
      value,
      LIMITS.contextStringBytes,
      `${what} ${key}`,
      "this function's",
    );
}

/** The CloudEvent's data as a JSON value, whichever way it was carried. */
function cloudEventData(ce: Json): unknown {
  if (typeof ce.data_base64 === 'string') {
    return parseJsonBytes(
      decodeBase64(ce.data_base64, 'data_base64'),
      'data_base64',
    );
  }
  const data = ce.data;
  if (Buffer.isBuffer(data)) return parseJsonBytes(data, 'data');
  if (typeof data === 'string')
    return parseJsonBytes(Buffer.from(data, 'utf8'), 'data');
  return data;
}

function parseJsonBytes(bytes: Buffer, field: string): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new InvalidEventError(`CloudEvent ${field} is not valid UTF-8 JSON`);
  }
  const scan = scanJsonText(text);
  if (scan.tooDeep) throw tooDeep(`CloudEvent ${field}`);
  if (scan.values > LIMITS.jsonValues)
    throw new InvalidEventError(
      tooManyValues(`CloudEvent ${field}`, scan.values),
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidEventError(
      `CloudEvent ${field} is not JSON: ${excerpt(text)}`,
    );
  }
  checkDepth(value, `CloudEvent ${field}`);
  return value;
}
