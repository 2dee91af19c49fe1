/**
 * A rejected or expired (event, route) as a dead letter: the record built
 * from the delivery (scrubbed of every credential this instance holds),
 * stored in the sink, and the outcome's one ERROR line. When the store
 * fails the line says `retry` and the caller makes the platform redeliver.
 */
import {createHash} from 'node:crypto';
import {VERSION} from '../core/version';
import {
  deliveredEventId,
  deliveredIdentity,
  type TriggerEvent,
} from '../events/event';
import type {Logger} from '../logging/logger';
import {scrubSecrets} from '../logging/secrets';
import {runSubject, type RunRequest} from '../routing/render';
import type {RouteMatch} from '../routing/route';
import {dagRunId} from '../routing/run-id';
import type {TriggerResult} from '../airflow/trigger';
import {
  eventJson,
  type DeadLetterRecord,
  type DeadLetterSink,
} from './dead-letters';

/**
 * The most of the event's JSON an outcome line carries: at most 3 bytes of
 * UTF-8 per unit, so the line stays well under Cloud Logging's 256 KB with
 * every other field. A larger event is in the line as an excerpt with its
 * size; the whole of it only in the dead-letter record.
 */
export const LINE_EVENT_MAX_CHARS = 32 * 1024;

export interface DeadLetterInput {
  /** `unmatched`: a delivery no route matched, under `unmatched: deadLetter`. */
  outcome: {outcome: 'rejected' | 'expired' | 'unmatched'; reason: string};
  /** The event exactly as delivered. */
  delivered: unknown;
  /** When this instance first saw the delivery (ISO 8601). */
  firstSeen: string;
  /** The normalized event and the route, when the event could be read and routed. */
  event?: TriggerEvent;
  match?: RouteMatch;
  run?: RunRequest;
  /** The DAG and run id a rejected render would have triggered, as far as known. */
  intended?: {dagId?: string; dagRunId?: string};
  result?: TriggerResult;
  /** The outcome line's fields (event, route, DAG, …); default: outcome and reason. */
  fields?: Record<string, unknown>;
}

/** Stores the record and logs the outcome at ERROR; false (logged too) when the store failed, so the event is redelivered. */
export async function storeDeadLetter(
  sink: DeadLetterSink,
  log: Logger,
  input: DeadLetterInput,
): Promise<boolean> {
  const {outcome, delivered, match, run, result} = input;
  // An event that could not be read still names itself on its line, as far as its delivery does.
  const fields = input.fields ?? {
    ...deliveredIdentity(delivered),
    outcome: outcome.outcome,
    reason: outcome.reason,
  };
  const eventText = eventJson(delivered);
  const key =
    input.event && match
      ? dagRunId(input.event, match.route.name)
      : unroutedKey(outcome.outcome, delivered, eventText);
  const head: Omit<DeadLetterRecord, 'event'> = {
    key,
    outcome: outcome.outcome,
    reason: outcome.reason,
    route: match?.route.name,
    environment: match?.route.environment,
    ...(run ? runSubject(run) : {dagId: input.intended?.dagId}),
    dagRunId: run?.dagRunId ?? input.intended?.dagRunId,
    httpStatus: result?.kind === 'response' ? result.status : undefined,
    responseExcerpt: responseOf(result),
    eventId: deliveredEventId(delivered),
    firstSeen: input.firstSeen,
    launcherVersion: VERSION,
  };
  const {record, json} = scrubbedRecord(head, eventText);
  let deadLetter: string;
  try {
    deadLetter = await sink.write(record, json);
  } catch (err) {
    // Nothing is dropped silently: the event goes back to the platform and is redelivered.
    log.error(
      {
        ...fields,
        outcome: 'retry',
        deadLetterError: (err as Error).message,
        wouldBe: outcome.outcome,
      },
      `retry: ${outcome.outcome} (${outcome.reason}) but the dead letter could not be stored; the event will be redelivered`,
    );
    return false;
  }
  log.error(
    {
      ...fields,
      responseExcerpt: record.responseExcerpt,
      deadLetter,
      ...eventForLine(eventText),
    },
    `${outcome.outcome}: ${outcome.reason}`,
  );
  return true;
}

/** The event as an outcome line carries it: whole when small, else an excerpt of its JSON and its size. */
function eventForLine(
  text: string,
): {event: unknown} | {eventExcerpt: string; eventBytes: number} {
  if (text.length <= LINE_EVENT_MAX_CHARS)
    return {event: JSON.parse(text) as unknown};
  return {
    eventExcerpt: `${text.slice(0, LINE_EVENT_MAX_CHARS)}…`,
    eventBytes: Buffer.byteLength(text, 'utf8'),
  };
}

/**
 * The record key of an event that could not be read (or, `unmatched-…`, that
 * no route matched): from its CloudEvent id
 * and source (or gen1 eventId) when it has them, the same whichever content
 * mode delivered it; otherwise a hash of the whole body.
 */
function unroutedKey(
  outcome: string,
  delivered: unknown,
  serialized: string,
): string {
  const d = (delivered ?? {}) as {
    id?: unknown;
    source?: unknown;
    context?: {eventId?: unknown};
  };
  const id =
    typeof d.id === 'string'
      ? [d.id, typeof d.source === 'string' ? d.source : '']
      : typeof d.context?.eventId === 'string'
        ? [d.context.eventId, 'gen1']
        : undefined;
  const kind = outcome === 'unmatched' ? 'unmatched' : 'unreadable';
  return `${kind}-${createHash('sha256')
    .update(id ? JSON.stringify(id) : serialized)
    .digest('hex')
    .slice(0, 40)}`;
}

/**
 * The record as stored: no credential this instance knows, wherever an
 * echoing server put it. The event's JSON is scrubbed and spliced in as
 * text, so a 10 MB event is not serialized and parsed
 * again; the record's `event` is parsed only if a sink reads it.
 */
function scrubbedRecord(
  head: Omit<DeadLetterRecord, 'event'>,
  eventText: string,
): {record: DeadLetterRecord; json: string} {
  const headJson = scrubSecrets(JSON.stringify(head));
  const json = `${headJson.slice(0, -1)},"event":${scrubSecrets(eventText)}}`;
  const record = JSON.parse(headJson) as DeadLetterRecord;
  let event: unknown;
  Object.defineProperty(record, 'event', {
    enumerable: true,
    get: () => (event ??= (JSON.parse(json) as DeadLetterRecord).event),
  });
  return {record, json};
}

/** What Airflow (or the network) said, for outcome lines and records. */
export function responseOf(
  result: TriggerResult | undefined,
): string | undefined {
  if (!result) return undefined;
  return result.kind === 'response' ? result.body : result.message;
}
