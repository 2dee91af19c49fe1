/**
 * Pub/Sub push subscriptions pointed straight at the function (no Eventarc):
 * the request body is `{"message": {...}, "subscription":
 * "projects/P/subscriptions/S"}` and there are no `ce-*` headers. The topic
 * is not in the body; it is in the request path when the push endpoint was
 * set up as `https://URL/projects/P/topics/T`, else the config's
 * `subscriptionTopics` supplies it (in normalize).
 *
 * A push is read as the Eventarc CloudEvent of the same message (type
 * messagePublished, id = message id, data = the push body), so one reader
 * handles both, and dead letters, `replay` and `explain` see a standard event.
 */
import {PUBSUB_PUBLISHED} from './event';
import {InvalidEventError} from '../core/errors';
import {isObject, optionalString, type Json} from './payload';

/** The wrapped push body; a CloudEvent or a gen1 body is never one. */
export function isPushBody(body: unknown): boolean {
  return (
    isObject(body) &&
    isObject(body.message) &&
    typeof body.subscription === 'string' &&
    !('specversion' in body) &&
    !('context' in body) &&
    !('eventType' in body)
  );
}

/** `projects/P/topics/T` from a push endpoint's path, as functions-framework reads it. */
export function topicFromPushPath(
  path: string | undefined,
): string | undefined {
  return /(?:^|\/)(projects\/[^/?#]+\/topics\/[^/?#]+)/.exec(path ?? '')?.[1];
}

export function pushMessageId(body: Json): string | undefined {
  const m = body.message as Json;
  return optionalString(m.messageId) ?? optionalString(m.message_id);
}

/** The push body as the CloudEvent Eventarc would deliver for the same message. */
export function pushToCloudEvent(body: Json, path?: string): Json {
  const id = pushMessageId(body);
  if (id === undefined)
    throw new InvalidEventError(
      'Pub/Sub push body has no message.messageId: not a push from Pub/Sub',
    );
  const m = body.message as Json;
  const topic = topicFromPushPath(path);
  return {
    specversion: '1.0',
    type: PUBSUB_PUBLISHED,
    id,
    source: `//pubsub.googleapis.com/${topic ?? ''}`,
    time: optionalString(m.publishTime) ?? optionalString(m.publish_time),
    datacontenttype: 'application/json',
    data: body,
  };
}
