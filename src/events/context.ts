/**
 * The variables a route's conditions and templates see for one event: a flat
 * object, so `{{ bucket }}`, `{{ metadata.source }}` and `{{ json.dag }}` read
 * as users expect. Fields that do not apply to the event's kind are absent.
 */
import type {TriggerEvent} from './event';

/** Variables only a Cloud Storage event has. */
export const STORAGE_ROOTS: ReadonlySet<string> = new Set([
  'bucket',
  'name',
  'dirname',
  'basename',
  'stem',
  'extension',
  'generation',
  'metageneration',
  'size',
  'contentType',
  'metadata',
  'timeCreated',
  'updated',
  'md5Hash',
  'crc32c',
  'storageClass',
]);

/** Variables only a Pub/Sub event has. */
export const PUBSUB_ROOTS: ReadonlySet<string> = new Set([
  'topic',
  'topicId',
  'subscription',
  'subscriptionId',
  'messageId',
  'publishTime',
  'orderingKey',
  'attributes',
  'data',
  'text',
  'json',
]);

export const CONTEXT_ROOTS: ReadonlySet<string> = new Set([
  'event',
  'captures',
  ...STORAGE_ROOTS,
  ...PUBSUB_ROOTS,
]);

export function eventContext(e: TriggerEvent): Record<string, unknown> {
  // One object literal per event kind, so every context of a kind has the same shape (cheap to copy and read).
  const event = {
    id: e.id,
    type: e.type,
    source: e.source,
    subject: e.subject,
    time: e.time,
  };
  if (e.storage) {
    const s = e.storage;
    const slash = s.name.lastIndexOf('/');
    const basename = s.name.slice(slash + 1);
    const dot = basename.lastIndexOf('.');
    return {
      event,
      captures: {},
      bucket: s.bucket,
      name: s.name,
      dirname: slash === -1 ? '' : s.name.slice(0, slash),
      basename,
      stem: dot > 0 ? basename.slice(0, dot) : basename,
      extension: dot > 0 ? basename.slice(dot + 1) : '',
      generation: s.generation,
      metageneration: s.metageneration,
      size: s.size,
      contentType: s.contentType,
      metadata: s.metadata,
      timeCreated: s.timeCreated,
      updated: s.updated,
      md5Hash: s.md5Hash,
      crc32c: s.crc32c,
      storageClass: s.storageClass,
    };
  }
  if (e.pubsub) {
    const p = e.pubsub;
    return {
      event,
      captures: {},
      topic: p.topic,
      topicId: p.topic?.split('/').pop(),
      subscription: p.subscription,
      subscriptionId: p.subscription?.split('/').pop(),
      messageId: p.messageId,
      publishTime: p.publishTime,
      orderingKey: p.orderingKey,
      attributes: p.attributes,
      data: p.data,
      text: p.text,
      json: p.json,
    };
  }
  return {event, captures: {}};
}
