/**
 * Cloud Storage Pub/Sub notifications (`gcloud storage buckets notifications
 * create`) read as the Storage events they are. A notification is a Pub/Sub
 * message whose attributes name the object (`bucketId`, `objectId`,
 * `objectGeneration`) and the change (`eventType`), with the object resource
 * as data (`payloadFormat: JSON_API_V1`) or no data (`NONE`). Read here, it
 * becomes the same TriggerEvent as the Eventarc event of the same change, so
 * routes, templates and the dag_run_id (bucket, object, generation) agree
 * whichever way it was delivered, and a redelivery under a new message id is
 * still the same run.
 */
import {
  STORAGE_ARCHIVED,
  STORAGE_DELETED,
  STORAGE_FINALIZED,
  STORAGE_METADATA_UPDATED,
  type PubsubMessage,
  type StorageObject,
  type TriggerEvent,
} from './event';
import {InvalidEventError} from '../core/errors';
import {int64String, optionalString, storageObject} from './payload';

/** The notification's `eventType` attribute and the CloudEvent type it is. */
const NOTIFICATION_TYPES: ReadonlyMap<string, string> = new Map([
  ['OBJECT_FINALIZE', STORAGE_FINALIZED],
  ['OBJECT_DELETE', STORAGE_DELETED],
  ['OBJECT_ARCHIVE', STORAGE_ARCHIVED],
  ['OBJECT_METADATA_UPDATE', STORAGE_METADATA_UPDATED],
]);

const PAYLOAD_FORMATS: ReadonlySet<string> = new Set(['JSON_API_V1', 'NONE']);

/**
 * Only Cloud Storage (and emulators of it) sets these attributes together;
 * `notificationConfig` is not required because fake-gcs-server omits it.
 */
export function isStorageNotification(message: PubsubMessage): boolean {
  const a = message.attributes;
  return (
    NOTIFICATION_TYPES.has(a.eventType ?? '') &&
    PAYLOAD_FORMATS.has(a.payloadFormat ?? '') &&
    optionalString(a.bucketId) !== undefined &&
    optionalString(a.objectId) !== undefined
  );
}

export function storageEventFromNotification(
  message: PubsubMessage,
  delivery: Pick<TriggerEvent, 'traceparent' | 'format'>,
): TriggerEvent {
  const a = message.attributes;
  const bucket = a.bucketId!;
  const name = a.objectId!;
  const generation = int64String(a.objectGeneration, 'objectGeneration');
  let storage: StorageObject;
  if (a.payloadFormat === 'JSON_API_V1') {
    if (message.json === undefined)
      throw new InvalidEventError(
        `Cloud Storage notification for gs://${bucket}/${name} says payloadFormat JSON_API_V1 but its data is not a JSON object resource`,
      );
    storage = storageObject(message.json, bucket, name);
    if (storage.bucket !== bucket || storage.name !== name)
      throw new InvalidEventError(
        `Cloud Storage notification attributes name gs://${bucket}/${name} but its data names gs://${storage.bucket}/${storage.name}`,
      );
  } else {
    storage = storageObject({bucket, name}, bucket, name);
  }
  // The attribute is what every payload format carries; the data's own field agrees on real Cloud Storage.
  if (generation !== undefined) storage.generation = generation;
  if (!storage.generation)
    throw new InvalidEventError(
      `Cloud Storage notification for gs://${bucket}/${name} has no objectGeneration`,
    );
  return {
    id: message.messageId,
    type: NOTIFICATION_TYPES.get(a.eventType!)!,
    kind: 'storage',
    // The same source and subject as the Eventarc event, so routing and logs agree.
    source: `//storage.googleapis.com/projects/_/buckets/${bucket}`,
    subject: `objects/${name}`,
    time: earliest(
      optionalString(a.eventTime),
      message.publishTime ?? storage.updated ?? storage.timeCreated,
    ),
    traceparent: delivery.traceparent,
    format: delivery.format,
    storage,
    notification: {
      messageId: message.messageId,
      topic: message.topic,
      subscription: message.subscription,
      payloadFormat: a.payloadFormat,
    },
  };
}

/**
 * The notification's `eventTime` attribute, unless Pub/Sub's publishTime is
 * earlier: the attribute is whatever the publisher wrote (a time in 2999
 * would keep the event young, and retried, forever); publishTime is Pub/Sub's.
 */
function earliest(
  eventTime: string | undefined,
  publishTime: string | undefined,
): string | undefined {
  if (eventTime === undefined || publishTime === undefined)
    return eventTime ?? publishTime;
  const attribute = Date.parse(eventTime);
  return Number.isNaN(attribute) || Date.parse(publishTime) < attribute
    ? publishTime
    : eventTime;
}
