/** Builders for events in every delivery format the platform uses. */
import {PUBSUB_PUBLISHED, STORAGE_FINALIZED} from '../../src/events/event';

export function storageData(
  name: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    bucket: 'landing',
    name,
    generation: '1700000000000001',
    metageneration: '1',
    size: '1234',
    contentType: 'text/csv',
    timeCreated: '2026-11-21T10:00:00.000Z',
    updated: '2026-11-21T10:00:00.000Z',
    ...extra,
  };
}

/** A structured-mode CloudEvent (also what functions-framework hands the function for binary mode). */
export function storageCloudEvent(
  data: Record<string, unknown>,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: `gcs-${String(data.name)}-${String(data.generation)}`,
    type: STORAGE_FINALIZED,
    source: `//storage.googleapis.com/projects/_/buckets/${String(data.bucket)}`,
    subject: `objects/${String(data.name)}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
    ...over,
  };
}

export function pubsubCloudEvent(
  payload: unknown,
  attributes: Record<string, string> = {},
  over: Record<string, unknown> = {},
  topic = 'projects/acme/topics/commands',
): Record<string, unknown> {
  const messageId = String(
    over.id ?? `msg-${Math.random().toString(36).slice(2)}`,
  );
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return {
    specversion: '1.0',
    id: messageId,
    type: PUBSUB_PUBLISHED,
    source: `//pubsub.googleapis.com/${topic}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: {
      subscription: 'projects/acme/subscriptions/eventarc-sub',
      message: {
        data: Buffer.from(text).toString('base64'),
        attributes,
        messageId,
        publishTime: new Date().toISOString(),
      },
    },
    ...over,
  };
}

/** The gen1 legacy twin of a storage CloudEvent: `{data, context}`. */
export function legacyStorage(
  ce: Record<string, unknown>,
): Record<string, unknown> {
  const data = ce.data as Record<string, unknown>;
  return {
    data: {kind: 'storage#object', ...data},
    context: {
      eventId: ce.id,
      timestamp: ce.time,
      eventType: 'google.storage.object.finalize',
      resource: {
        service: 'storage.googleapis.com',
        name: `projects/_/buckets/${String(data.bucket)}/objects/${String(data.name)}`,
        type: 'storage#object',
      },
    },
  };
}

/** The gen1 legacy twin of a Pub/Sub CloudEvent. */
export function legacyPubsub(
  ce: Record<string, unknown>,
): Record<string, unknown> {
  const message = (ce.data as {message: Record<string, unknown>}).message;
  const topic = String(ce.source).replace('//pubsub.googleapis.com/', '');
  return {
    data: {
      '@type': 'type.googleapis.com/google.pubsub.v1.PubsubMessage',
      attributes: message.attributes,
      data: message.data,
    },
    context: {
      eventId: ce.id,
      timestamp: ce.time,
      eventType: 'google.pubsub.topic.publish',
      resource: {
        service: 'pubsub.googleapis.com',
        name: topic,
        type: 'type.googleapis.com/google.pubsub.v1.PubsubMessage',
      },
    },
  };
}
