/**
 * The payloads inside a delivery: a Cloud Storage object resource and a
 * Pub/Sub message, read field by field into the event's types, with the
 * small readers (base64, int64 strings, string maps) every format shares.
 */
import type {PubsubMessage, StorageObject} from './event';
import {InvalidEventError} from '../core/errors';

export type Json = Record<string, unknown>;

const BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', {fatal: true});

export function storageObject(
  data: unknown,
  bucketHint?: string,
  nameHint?: string,
): StorageObject {
  if (!isObject(data))
    throw new InvalidEventError(
      `storage event data is ${describe(data)}, expected a StorageObjectData object`,
    );
  const bucket = optionalString(data.bucket) ?? bucketHint;
  const name = optionalString(data.name) ?? nameHint;
  if (!bucket) throw new InvalidEventError('storage event data has no bucket');
  if (!name)
    throw new InvalidEventError('storage event data has no object name');
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

export function pubsubMessage(
  data: unknown,
  topic: string | undefined,
  eventId: string,
): PubsubMessage {
  if (!isObject(data) || !isObject(data.message)) {
    throw new InvalidEventError(
      `pubsub event data is ${describe(data)}, expected {message: {...}}`,
    );
  }
  const m = data.message;
  // Pub/Sub push carries snake_case duplicates of some fields; camelCase wins.
  const messageId =
    optionalString(m.messageId) ?? optionalString(m.message_id) ?? eventId;
  const raw = m.data ?? '';
  if (typeof raw !== 'string')
    throw new InvalidEventError(
      `pubsub message data is ${describe(raw)}, expected base64 text`,
    );
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
    publishTime:
      optionalString(m.publishTime) ?? optionalString(m.publish_time),
    orderingKey:
      optionalString(m.orderingKey) ?? optionalString(m.ordering_key),
    attributes: stringMap(m.attributes, 'pubsub message attributes'),
    data: raw,
    text,
    json,
  };
}

export function decodeBase64(value: string, what: string): Buffer {
  const compact = value.replace(/\s+/g, '');
  if (!BASE64.test(compact) && !BASE64URL.test(compact)) {
    throw new InvalidEventError(
      `${what} is not valid base64: ${excerpt(value)}`,
    );
  }
  return Buffer.from(compact, BASE64.test(compact) ? 'base64' : 'base64url');
}

export function bucketFromSource(source: string): string | undefined {
  return /\/buckets\/([^/]+)/.exec(source)?.[1];
}

export function objectFromSubject(
  subject: string | undefined,
): string | undefined {
  return subject?.startsWith('objects/')
    ? subject.slice('objects/'.length)
    : undefined;
}

export function topicFromSource(source: string): string | undefined {
  const m = /(projects\/[^/]+\/topics\/[^/]+)$/.exec(source);
  return m?.[1];
}

export function int64String(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)
    return String(value);
  if (typeof value === 'string' && /^\d{1,19}$/.test(value)) return value;
  throw new InvalidEventError(
    `storage object ${field} is ${describe(value)}, expected a non-negative integer`,
  );
}

export function stringMap(
  value: unknown,
  what: string,
): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value))
    throw new InvalidEventError(
      `${what} is ${describe(value)}, expected an object of strings`,
    );
  const entries = Object.entries(value);
  for (const [k, v] of entries) {
    if (typeof v !== 'string')
      throw new InvalidEventError(
        `${what}.${k} is ${describe(v)}, expected a string`,
      );
  }
  // fromEntries defines keys (an assignment to out['__proto__'] would drop that attribute).
  return Object.fromEntries(entries) as Record<string, string>;
}

export function requireString(obj: Json, key: string, what: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '')
    throw new InvalidEventError(`${what} has no '${key}' (got ${describe(v)})`);
  return v;
}

export function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function isObject(v: unknown): v is Json {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !Buffer.isBuffer(v)
  );
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v)) return 'binary data';
  if (typeof v === 'string') return `the string ${excerpt(JSON.stringify(v))}`;
  return typeof v === 'object'
    ? 'an object'
    : `${typeof v} ${excerpt(String(v))}`;
}

export function excerpt(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
