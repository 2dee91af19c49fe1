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
 *   already; the CLI and any unconverted body come here as they are.
 */
import {
  PUBSUB_PUBLISHED,
  STORAGE_FINALIZED,
  type PubsubMessage,
  type StorageObject,
  type TriggerEvent,
} from './event';
import { InvalidEventError } from '../core/errors';

type Json = Record<string, unknown>;

/** gen1 event types (both generations of them) and the gen2 type each one is. */
const LEGACY_TYPES: Record<string, string> = {
  'google.storage.object.finalize': STORAGE_FINALIZED,
  'providers/cloud.storage/eventTypes/object.change': STORAGE_FINALIZED,
  'google.pubsub.topic.publish': PUBSUB_PUBLISHED,
  'providers/cloud.pubsub/eventTypes/topic.publish': PUBSUB_PUBLISHED,
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function normalizeEvent(input: unknown): TriggerEvent {
  if (!isObject(input)) {
    throw new InvalidEventError(`event is ${describe(input)}, expected a CloudEvent or a gen1 {data, context} object`);
  }
  if (typeof input.specversion === 'string' || (typeof input.type === 'string' && 'source' in input)) {
    return fromCloudEvent(input);
  }
  const context = isObject(input.context) ? input.context : input;
  if (typeof context.eventType === 'string') {
    return fromLegacy(context, 'data' in input ? input.data : undefined);
  }
  throw new InvalidEventError(
    'event is neither a CloudEvent (no specversion/type) nor a gen1 legacy event (no context.eventType)',
  );
}

function fromCloudEvent(ce: Json): TriggerEvent {
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
  const data = cloudEventData(ce);
  if (type === STORAGE_FINALIZED) {
    const storage = storageObject(data, bucketFromSource(source), objectFromSubject(base.subject));
    return { ...base, kind: 'storage', storage, time: base.time ?? storage.updated ?? storage.timeCreated };
  }
  if (type === PUBSUB_PUBLISHED) {
    const pubsub = pubsubMessage(data, topicFromSource(source), id);
    return { ...base, kind: 'pubsub', pubsub, time: base.time ?? pubsub.publishTime };
  }
  throw new InvalidEventError(
    `unsupported event type '${type}': this function handles ${STORAGE_FINALIZED} and ${PUBSUB_PUBLISHED}`,
  );
}

function fromLegacy(context: Json, data: unknown): TriggerEvent {
  const legacyType = context.eventType as string;
  const type = LEGACY_TYPES[legacyType];
  if (!type) {
    throw new InvalidEventError(
      `unsupported legacy event type '${legacyType}': this function handles ${Object.keys(LEGACY_TYPES).join(', ')}`,
    );
  }
  const id = requireString(context, 'eventId', 'legacy event context');
  const time = optionalString(context.timestamp);
  const resource = isObject(context.resource) ? optionalString(context.resource.name) : optionalString(context.resource);
  const base = { id, type, time, format: 'legacy' as const };
  if (type === STORAGE_FINALIZED) {
    if (isObject(data) && data.resourceState === 'not_exists') {
      throw new InvalidEventError('legacy object.change event is a deletion (resourceState not_exists), not a finalize');
    }
    const m = /^projects\/[^/]+\/buckets\/([^/]+)\/objects\/(.+)$/.exec(resource ?? '');
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
  const message = isObject(data) ? { messageId: id, publishTime: time, ...data } : data;
  const pubsub = pubsubMessage({ message }, resource, id);
  return {
    ...base,
    kind: 'pubsub',
    source: `//pubsub.googleapis.com/${resource ?? ''}`,
    pubsub,
    time: time ?? pubsub.publishTime,
  };
}

/** The CloudEvent's data as a JSON value, whichever way it was carried. */
function cloudEventData(ce: Json): unknown {
  if (typeof ce.data_base64 === 'string') {
    return parseJsonBytes(decodeBase64(ce.data_base64, 'data_base64'), 'data_base64');
  }
  const data = ce.data;
  if (Buffer.isBuffer(data)) return parseJsonBytes(data, 'data');
  if (typeof data === 'string') return parseJsonBytes(Buffer.from(data, 'utf8'), 'data');
  return data;
}

function parseJsonBytes(bytes: Buffer, field: string): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new InvalidEventError(`CloudEvent ${field} is not valid UTF-8 JSON`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidEventError(`CloudEvent ${field} is not JSON: ${excerpt(text)}`);
  }
}

function storageObject(data: unknown, bucketHint?: string, nameHint?: string): StorageObject {
  if (!isObject(data)) throw new InvalidEventError(`storage event data is ${describe(data)}, expected a StorageObjectData object`);
  const bucket = optionalString(data.bucket) ?? bucketHint;
  const name = optionalString(data.name) ?? nameHint;
  if (!bucket) throw new InvalidEventError('storage event data has no bucket');
  if (!name) throw new InvalidEventError('storage event data has no object name');
  const generation = int64String(data.generation, 'generation');
  const size = int64String(data.size, 'size');
  return {
    bucket,
    name,
    generation: generation ?? '',
    metageneration: int64String(data.metageneration, 'metageneration'),
    size: size === undefined ? undefined : Number(size),
    contentType: optionalString(data.contentType),
    metadata: stringMap(data.metadata, 'storage object metadata'),
    timeCreated: optionalString(data.timeCreated),
    updated: optionalString(data.updated),
    md5Hash: optionalString(data.md5Hash),
    crc32c: optionalString(data.crc32c),
    storageClass: optionalString(data.storageClass),
  };
}

function pubsubMessage(data: unknown, topic: string | undefined, eventId: string): PubsubMessage {
  if (!isObject(data) || !isObject(data.message)) {
    throw new InvalidEventError(`pubsub event data is ${describe(data)}, expected {message: {...}}`);
  }
  const m = data.message;
  // Pub/Sub push carries snake_case duplicates of some fields; camelCase wins.
  const messageId = optionalString(m.messageId) ?? optionalString(m.message_id) ?? eventId;
  const raw = m.data ?? '';
  if (typeof raw !== 'string') throw new InvalidEventError(`pubsub message data is ${describe(raw)}, expected base64 text`);
  const bytes = decodeBase64(raw, 'pubsub message data');
  let text: string | undefined;
  let json: unknown;
  try {
    text = utf8.decode(bytes);
  } catch {
    text = undefined; // binary payload: only the base64 form is available to templates
  }
  if (text !== undefined && text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return {
    topic,
    subscription: optionalString(data.subscription),
    messageId,
    publishTime: optionalString(m.publishTime) ?? optionalString(m.publish_time),
    orderingKey: optionalString(m.orderingKey) ?? optionalString(m.ordering_key),
    attributes: stringMap(m.attributes, 'pubsub message attributes'),
    data: raw,
    text,
    json,
  };
}

function decodeBase64(value: string, what: string): Buffer {
  const compact = value.replace(/\s+/g, '');
  if (!BASE64.test(compact) && !BASE64URL.test(compact)) {
    throw new InvalidEventError(`${what} is not valid base64: ${excerpt(value)}`);
  }
  return Buffer.from(compact, BASE64.test(compact) ? 'base64' : 'base64url');
}

function bucketFromSource(source: string): string | undefined {
  return /\/buckets\/([^/]+)/.exec(source)?.[1];
}

function objectFromSubject(subject: string | undefined): string | undefined {
  return subject?.startsWith('objects/') ? subject.slice('objects/'.length) : undefined;
}

function topicFromSource(source: string): string | undefined {
  const m = /(projects\/[^/]+\/topics\/[^/]+)$/.exec(source);
  return m?.[1];
}

function int64String(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^\d{1,19}$/.test(value)) return value;
  throw new InvalidEventError(`storage object ${field} is ${describe(value)}, expected a non-negative integer`);
}

function stringMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new InvalidEventError(`${what} is ${describe(value)}, expected an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new InvalidEventError(`${what}.${k} is ${describe(v)}, expected a string`);
    out[k] = v;
  }
  return out;
}

function requireString(obj: Json, key: string, what: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') throw new InvalidEventError(`${what} has no '${key}' (got ${describe(v)})`);
  return v;
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v)) return 'binary data';
  if (typeof v === 'string') return `the string ${excerpt(JSON.stringify(v))}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${excerpt(String(v))}`;
}

function excerpt(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
