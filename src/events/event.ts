/**
 * The one event shape every step after `normalize` sees, whatever the source
 * (Cloud Storage or Pub/Sub) and whatever the delivery format (Eventarc binary
 * mode, structured mode, gen1 legacy `{data, context}`).
 */

export const STORAGE_FINALIZED = 'google.cloud.storage.object.v1.finalized';
export const PUBSUB_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';
export const STORAGE_DELETED = 'google.cloud.storage.object.v1.deleted';
export const STORAGE_ARCHIVED = 'google.cloud.storage.object.v1.archived';
export const STORAGE_METADATA_UPDATED =
  'google.cloud.storage.object.v1.metadataUpdated';

/** The Cloud Storage object event types; only `finalized` is routed by default. */
export const STORAGE_TYPES: ReadonlySet<string> = new Set([
  STORAGE_FINALIZED,
  STORAGE_DELETED,
  STORAGE_ARCHIVED,
  STORAGE_METADATA_UPDATED,
]);

/** What a route without `match.type` matches: the others must be named. */
export const DEFAULT_TYPES: ReadonlySet<string> = new Set([
  STORAGE_FINALIZED,
  PUBSUB_PUBLISHED,
]);

export type EventKind = 'storage' | 'pubsub';

export interface StorageObject {
  bucket: string;
  name: string;
  /** int64 kept as a decimal string: generations exceed 2^53 in principle. */
  generation: string;
  metageneration?: string;
  /** Object size in bytes (a number; JSON int64 strings are converted). */
  size?: number;
  contentType?: string;
  metadata: Record<string, string>;
  timeCreated?: string;
  updated?: string;
  md5Hash?: string;
  crc32c?: string;
  storageClass?: string;
}

export interface PubsubMessage {
  /** Full topic name `projects/P/topics/T`, when the event carries it. */
  topic?: string;
  subscription?: string;
  messageId: string;
  publishTime?: string;
  orderingKey?: string;
  attributes: Record<string, string>;
  /** The message data, base64 as delivered ('' when the message has none). */
  data: string;
  /** The data decoded as UTF-8, when it is valid UTF-8. */
  text?: string;
  /** The text parsed as JSON, when it parses. */
  json?: unknown;
  /** Why JSON text was left unparsed (over LIMITS.jsonValues values). */
  jsonUnparsed?: string;
}

export interface TriggerEvent {
  id: string;
  /** CloudEvent type; gen1 legacy types are mapped to their gen2 twins. */
  type: string;
  kind: EventKind;
  source: string;
  subject?: string;
  /** RFC 3339 event time, when known. */
  time?: string;
  traceparent?: string;
  /** How the event arrived: for logs and dead letters. */
  format: 'cloudevent' | 'legacy';
  /**
   * Set when a Cloud Storage Pub/Sub notification was read as a Storage
   * event: the message that carried it (id, subscription, topic).
   */
  notification?: {
    messageId: string;
    topic?: string;
    subscription?: string;
    /** `NONE`: the object resource (content type, size, metadata, …) was not sent. */
    payloadFormat?: string;
  };
  storage?: StorageObject;
  pubsub?: PubsubMessage;
}

/** The CloudEvent id of a delivery, when it has one (it may be unreadable otherwise). */
export function deliveredEventId(delivered: unknown): string | undefined {
  const id = (delivered as {id?: unknown} | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

const IDENTITY_MAX = 256;

/**
 * The id, type and source a delivery names, read from it as delivered
 * (CloudEvent attributes, or a gen1 context), for the lines of events that
 * could not be read: strings only, each cut to 256 characters.
 */
export function deliveredIdentity(delivered: unknown): {
  eventId?: string;
  eventType?: string;
  source?: string;
} {
  if (delivered === null || typeof delivered !== 'object') return {};
  const d = delivered as Record<string, unknown>;
  const ctx =
    d.context !== null && typeof d.context === 'object'
      ? (d.context as Record<string, unknown>)
      : d;
  const resource =
    ctx.resource !== null && typeof ctx.resource === 'object'
      ? (ctx.resource as Record<string, unknown>).name
      : ctx.resource;
  const pick = (...vs: unknown[]) => {
    const v = vs.find(x => typeof x === 'string' && x !== '') as
      string | undefined;
    return v === undefined || v.length <= IDENTITY_MAX
      ? v
      : `${v.slice(0, IDENTITY_MAX)}…`;
  };
  const out = {
    eventId: pick(d.id, ctx.eventId),
    eventType: pick(d.type, ctx.eventType),
    source: pick(d.source, resource),
  };
  for (const k of ['eventId', 'eventType', 'source'] as const)
    if (out[k] === undefined) delete out[k];
  return out;
}
