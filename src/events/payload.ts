/**
 * The payloads inside a delivery: a Cloud Storage object resource and a
 * Pub/Sub message, read field by field into the event's types, with the
 * small readers (base64, int64 strings, string maps) every format shares.
 */
import {isAscii, isUtf8} from 'node:buffer';
import type {PubsubMessage, StorageObject} from './event';
import {InvalidEventError} from '../core/errors';
import {
  LIMITS,
  base64Length,
  checkBytes,
  scanJsonText,
  tooDeep,
  tooManyValues,
} from './limits';

export type Json = Record<string, unknown>;

/*
 * One character class each, searched for a character outside it: linear
 * and without backtracking. The regular expression this replaces,
 * (?:[A-Za-z0-9+/]{4})*…, kept a backtrack entry per group and overflowed
 * the stack on 3.5 MiB of data.
 */
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;
const NOT_BASE64URL = /[^A-Za-z0-9_\-=]/;
const WHITESPACE = /\s/;
const WHITESPACES = /\s+/g;

export function storageObject(
  data: unknown,
  bucketHint?: string,
  nameHint?: string,
): StorageObject {
  if (!isObject(data))
    throw new InvalidEventError(
      `storage event data is ${describe(data)}, expected a StorageObjectData object`,
    );
  // Cloud Storage names are strings: another type is a malformed event, not a name to take from the subject.
  for (const field of ['bucket', 'name'])
    if (
      data[field] !== undefined &&
      data[field] !== null &&
      typeof data[field] !== 'string'
    )
      throw new InvalidEventError(
        `storage object ${field} is ${describe(data[field])}, expected a string`,
      );
  const bucket = optionalString(data.bucket) ?? bucketHint;
  const name = optionalString(data.name) ?? nameHint;
  if (!bucket) throw new InvalidEventError('storage event data has no bucket');
  if (!name)
    throw new InvalidEventError('storage event data has no object name');
  checkBytes(
    name,
    LIMITS.storageNameBytes,
    'storage object name',
    "Cloud Storage's",
  );
  checkBytes(
    bucket,
    LIMITS.contextStringBytes,
    'storage bucket name',
    "this function's",
  );
  for (const field of [
    'contentType',
    'timeCreated',
    'updated',
    'md5Hash',
    'crc32c',
    'storageClass',
  ])
    checkBytes(
      optionalString(data[field]),
      LIMITS.contextStringBytes,
      `storage object ${field}`,
      "this function's",
    );
  const generation = int64String(data.generation, 'generation');
  const size = int64String(data.size, 'size');
  const metadata = stringMap(data.metadata, 'storage object metadata');
  checkBytes(
    Object.entries(metadata).flat().join(''),
    LIMITS.storageMetadataBytes,
    'storage object metadata (keys and values)',
    "Cloud Storage's",
  );
  return {
    bucket,
    name,
    generation: generation ?? '',
    metageneration: int64String(data.metageneration, 'metageneration'),
    size: size === undefined ? undefined : Number(size),
    contentType: optionalString(data.contentType),
    metadata,
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
  if (raw.length > base64Length(LIMITS.pubsubDataBytes) * 1.1) {
    // Whitespace aside (decodeBase64 checks the exact length), this is past Pub/Sub's limit.
    throw new InvalidEventError(
      `pubsub message data is ${raw.length} characters of base64, over Pub/Sub's 10 MB message limit`,
    );
  }
  const bytes = decodeBase64(raw, 'pubsub message data');
  if (bytes.length > LIMITS.pubsubDataBytes)
    throw new InvalidEventError(
      `pubsub message data is ${bytes.length} bytes, over Pub/Sub's 10 MB message limit`,
    );
  const attributes = stringMap(m.attributes, 'pubsub message attributes');
  checkAttributes(attributes);
  const orderingKey =
    optionalString(m.orderingKey) ?? optionalString(m.ordering_key);
  checkBytes(
    orderingKey,
    LIMITS.pubsubOrderingKeyBytes,
    'pubsub message ordering key',
    "Pub/Sub's",
  );
  for (const [field, value] of [
    ['message id', messageId],
    ['subscription', optionalString(data.subscription)],
    ['publish time', optionalString(m.publishTime)],
  ] as const)
    checkBytes(
      value,
      LIMITS.contextStringBytes,
      `pubsub message ${field}`,
      "this function's",
    );
  let json: unknown;
  let jsonUnparsed: string | undefined;
  // Not UTF-8: a binary payload, only the base64 form is available to templates.
  const text = decodeText(bytes);
  if (text !== undefined && text.trim() !== '') {
    const scan = /^\s*[[{]/.test(text) ? scanJsonText(text) : undefined;
    if (scan?.tooDeep) throw tooDeep('pubsub message data (JSON)');
    if (scan && scan.values > LIMITS.jsonValues)
      jsonUnparsed = tooManyValues('data', scan.values);
    else {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
  }
  return {
    topic,
    subscription: optionalString(data.subscription),
    messageId,
    publishTime:
      optionalString(m.publishTime) ?? optionalString(m.publish_time),
    orderingKey,
    attributes,
    data: raw,
    text,
    json,
    ...(jsonUnparsed && {jsonUnparsed}),
  };
}

function checkAttributes(attributes: Record<string, string>): void {
  const keys = Object.keys(attributes);
  if (keys.length > LIMITS.pubsubAttributes)
    throw new InvalidEventError(
      `pubsub message has ${keys.length} attributes, over Pub/Sub's limit of ${LIMITS.pubsubAttributes}`,
    );
  for (const key of keys) {
    checkBytes(
      key,
      LIMITS.pubsubAttributeKeyBytes,
      `pubsub attribute key ${excerpt(JSON.stringify(key))}`,
      "Pub/Sub's",
    );
    checkBytes(
      attributes[key],
      LIMITS.pubsubAttributeValueBytes,
      `pubsub attribute ${excerpt(JSON.stringify(key))}`,
      "Pub/Sub's",
    );
  }
}

/** Standard or URL-safe base64 (padding optional, whitespace ignored), in linear time. */
export function decodeBase64(value: string, what: string): Buffer {
  // What producers send: canonical base64, padded to a multiple of 4. Node's decoder skips a
  // character outside the alphabet, so such text decodes to fewer bytes than its length says:
  // equal lengths are a check with no second pass and no copy (a 13 MB re-encoding was 7 ms).
  const decoded = Buffer.from(value, 'base64');
  if (
    value.length % 4 === 0 &&
    decoded.length === Buffer.byteLength(value, 'base64') &&
    !value.includes('-') &&
    !value.includes('_')
  )
    return decoded;
  const compact = WHITESPACE.test(value)
    ? value.replace(WHITESPACES, '')
    : value;
  const standard = isBase64(compact, NOT_BASE64, true);
  if (!standard && !isBase64(compact, NOT_BASE64URL, false)) {
    throw new InvalidEventError(
      `${what} is not valid base64: ${excerpt(value)}`,
    );
  }
  return Buffer.from(compact, standard ? 'base64' : 'base64url');
}

/**
 * Only the alphabet, at most two `=` and only at the end; `strict`: and a
 * length base64 can have (a multiple of 4 when padded).
 */
function isBase64(text: string, notAlphabet: RegExp, strict: boolean): boolean {
  if (notAlphabet.test(text)) return false;
  const pad = text.indexOf('=');
  if (pad === -1) return !strict || text.length % 4 !== 1;
  const padding = text.length - pad;
  if (padding > 2 || (padding === 2 && text[pad + 1] !== '=')) return false;
  return !strict || text.length % 4 === 0;
}

/** Decoded without a fatal TextDecoder, whose validation costs 20 times isUtf8's; a BOM is dropped as the decoder did. */
/** The bytes as text when they are UTF-8 (ASCII read as latin1, the same text at a tenth of UTF-8 decoding's cost), else undefined. */
export function decodeText(bytes: Buffer): string | undefined {
  if (isAscii(bytes)) return bytes.toString('latin1');
  return isUtf8(bytes) ? utf8Text(bytes) : undefined;
}

function utf8Text(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
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
  // Leading zeros dropped: the generation is part of the run id, and "0123" is generation 123.
  if (typeof value === 'string' && /^\d{1,19}$/.test(value))
    return value.replace(/^0+(?=\d)/, '');
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
  if (v === undefined) return 'missing';
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
