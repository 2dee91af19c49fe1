/**
 * Deterministic dag_run_id per (event, route).
 *
 * A redelivered event gets the same id, so Airflow's 409 makes the trigger
 * idempotent. The identity of a Storage event is the object generation
 * (bucket, name, generation), which is also what a gen1 delivery of the same
 * finalize and a Cloud Storage notification of it carry (whatever the
 * message id of the notification); a Pub/Sub event's is its message id. The readable part is
 * for people; the hash (128 bits) is what keeps different events apart, so
 * ids stay unique whatever sanitizing does to names. Always matches Airflow's
 * default allowed_run_id_pattern `^[A-Za-z0-9_.~:+-]+$` and fits 250 chars.
 */
import * as crypto from 'node:crypto';
import {
  STORAGE_FINALIZED,
  STORAGE_METADATA_UPDATED,
  type TriggerEvent,
} from '../events/event';

export const RUN_ID_PATTERN = /^[A-Za-z0-9_.~:+-]+$/;
export const RUN_ID_MAX = 250;
const READABLE_MAX = 96;

export function eventIdentity(event: TriggerEvent): string[] {
  if (event.storage && event.storage.generation) {
    const id = [
      'storage',
      event.storage.bucket,
      event.storage.name,
      event.storage.generation,
    ];
    // A deletion (archive, metadata update) of a generation is another event than its finalize;
    // each metadata update of a generation is its own change, named by its metageneration.
    if (event.type === STORAGE_FINALIZED) return id;
    return event.type === STORAGE_METADATA_UPDATED
      ? [...id, event.type, event.storage.metageneration ?? '']
      : [...id, event.type];
  }
  if (event.pubsub)
    return [
      'pubsub',
      event.pubsub.topic ?? event.source,
      event.pubsub.messageId,
    ];
  return [event.kind, event.source, event.id];
}

export function dagRunId(event: TriggerEvent, routeName: string): string {
  const hash = sha256Hex(
    JSON.stringify([...eventIdentity(event), routeName]),
  ).slice(0, 32);
  const label =
    event.storage !== undefined
      ? readable(event.storage.name.split('/').pop() || event.storage.name)
      : readable(event.pubsub?.messageId ?? event.id);
  const prefix = `${event.kind === 'storage' ? 'gcs' : 'pubsub'}__${readableRoute(routeName)}`;
  const id = label ? `${prefix}__${label}__${hash}` : `${prefix}__${hash}`;
  return id.length <= RUN_ID_MAX
    ? id
    : `${id.slice(0, RUN_ID_MAX - hash.length - 2)}__${hash}`;
}

// crypto.hash (Node 21.7+) is the one-shot digest, without a Hash object per event.
const oneShot = (
  crypto as {
    hash?: (algorithm: string, data: string, encoding: 'hex') => string;
  }
).hash;
function sha256Hex(data: string): string {
  return oneShot
    ? oneShot('sha256', data, 'hex')
    : crypto.createHash('sha256').update(data).digest('hex');
}

const routeLabels = new Map<string, string>();
/** Route names are few and fixed: their readable form is worked out once. */
function readableRoute(name: string): string {
  let label = routeLabels.get(name);
  if (label === undefined) {
    label = readable(name);
    if (routeLabels.size < 10_000) routeLabels.set(name, label);
  }
  return label;
}

/** Already readable: allowed characters only, no `__`, no leading or trailing `_` or `.`, short enough. */
const CLEAN = /^(?![_.])(?!.*__)[A-Za-z0-9_.~+-]{1,96}(?<![_.])$/;

/** Keeps the characters Airflow allows, folds the rest to `_`, bounded length. */
export function readable(s: string): string {
  if (CLEAN.test(s)) return s;
  return s
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9_.~+-]+/g, '_')
    .replace(/_{2,}/g, '_')
    .replace(/^[_.]+|[_.]+$/g, '')
    .slice(0, READABLE_MAX);
}
