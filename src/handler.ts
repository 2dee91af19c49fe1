/**
 * The handler: normalize -> route -> render -> trigger -> outcome -> log,
 * one short composition. Resolving acks the event; throwing makes the
 * platform redeliver it, which is only done for `retry` outcomes.
 */

import type { LauncherConfig } from './config/types';
import { createHash } from 'node:crypto';
import { serializableEvent, type DeadLetterRecord, type DeadLetterSink } from './outcomes/dead-letters';
import { dagRunId } from './routing/run-id';
import { scrubSecrets } from './logging/secrets';
import { RejectedError } from './core/errors';
import type { TriggerEvent } from './events/event';
import { traceFields, type Logger } from './logging/logger';
import { normalizeEvent } from './events/normalize';
import { decideOutcome, type Outcome } from './outcomes/outcome';
import { renderRun, type RunRequest } from './routing/render';
import { routeEvent, type RouteMatch } from './routing/route';
import { triggerDagRun, type AirflowTarget, type TriggerResult } from './airflow/trigger';
import { deliveryBudgetMs, realClock, retryableNow, withRetry, type Attempts, type RetryClock } from './outcomes/retry';
import { VERSION } from './core/version';
import type { PausedCache } from './airflow/paused';

export interface HandlerDeps {
  config: LauncherConfig;
  logger: Logger;
  /** Airflow target (URL, API variant, auth) per environment name. */
  targets: Map<string, AirflowTarget>;
  deadLetters: DeadLetterSink;
  /** Flags runs created on paused DAGs; omit to skip the check. */
  paused?: PausedCache;
  now?: () => number;
  /** Clock for in-delivery retries (tests make it instant). */
  retryClock?: RetryClock;
}

/** Thrown to make the platform redeliver; the outcome lines say why. */
export class RedeliverError extends Error {
  override readonly name = 'RedeliverError';
}

export function createHandler(deps: HandlerDeps): (delivered: unknown) => Promise<void> {
  const now = deps.now ?? Date.now;
  return async function handle(delivered: unknown): Promise<void> {
    const seenAt = now();
    const firstSeen = () => new Date(seenAt).toISOString();
    let event: TriggerEvent;
    try {
      event = normalizeEvent(delivered);
    } catch (err) {
      if (!(err instanceof RejectedError)) throw err;
      const stored = await deadLetter(deps, { outcome: 'rejected', reason: err.message }, undefined, undefined, undefined, delivered, firstSeen);
      if (!stored) throw new RedeliverError('the dead letter could not be stored; redeliver');
      return;
    }
    // On every line (not as child bindings): the GCP formatter only maps trace fields it sees per call.
    const common = { eventId: event.id, eventType: event.type, source: event.source, ...traceFields(event.traceparent) };
    const log = deps.logger;
    const matches = routeEvent(deps.config, event);
    if (matches.length === 0) {
      log.info({ ...common, outcome: 'unmatched', object: event.storage?.name, topic: event.pubsub?.topic }, 'no route matches this event; acked');
      return;
    }
    const eventTime = event.time ? Date.parse(event.time) : NaN;
    const age = { eventAgeMs: Number.isNaN(eventTime) ? 0 : now() - eventTime, maxEventAgeMs: deps.config.maxEventAgeMs };

    const results = matches.length === 1 ? [await attempt(deps, matches[0]!, event, age)] : await Promise.all(matches.map((m) => attempt(deps, m, event, age)));
    let retry = 0;
    for (const { run, outcome, result, match, paused, attempts, latencyMs } of results) {
      const fields = {
        ...common,
        outcome: outcome.outcome,
        route: match.route.name,
        environment: match.route.environment,
        dagId: run?.dagId,
        dagRunId: run?.dagRunId,
        httpStatus: result?.kind === 'response' ? result.status : undefined,
        latencyMs,
        attempts,
        reason: outcome.reason,
      };
      if (outcome.outcome === 'triggered' && paused) {
        log.warn({ ...fields, dagPaused: true }, `triggered: ${run!.dagId} ${run!.dagRunId}; the DAG is paused, the run will not start until it is unpaused`);
      } else if (outcome.outcome === 'triggered' || outcome.outcome === 'duplicate') {
        log.info(fields, `${outcome.outcome}: ${run!.dagId} ${run!.dagRunId}`);
      } else if (outcome.outcome === 'retry') {
        retry++;
        log.warn({ ...fields, responseExcerpt: responseOf(result) }, `retry: ${outcome.reason}`);
      } else {
        const stored = await deadLetter(deps, outcome as Outcome & { outcome: 'rejected' | 'expired' }, event, match, run, delivered, firstSeen, result, log, fields);
        if (!stored) retry++;
      }
    }
    if (retry > 0) throw new RedeliverError(`${retry} of ${results.length} route(s) will be retried (event ${event.id})`);
  };
}

export interface Attempt {
  match: RouteMatch;
  run?: RunRequest;
  result?: TriggerResult;
  outcome: Outcome;
  paused?: boolean;
  attempts?: number;
  /** All tries of this delivery, backoff included. */
  latencyMs?: number;
}

/**
 * One (event, route): render, trigger with in-delivery retries, decide. Also
 * what `replay` runs. A promise chain rather than an async function: most
 * events take exactly this path once, and functions-framework's domain
 * tracks every async frame and await (see trigger.ts).
 */
export function attempt(deps: Pick<HandlerDeps, 'config' | 'targets' | 'paused' | 'retryClock'>, match: RouteMatch, event: TriggerEvent, age: { eventAgeMs: number; maxEventAgeMs: number }): Promise<Attempt> {
  let run: RunRequest;
  try {
    run = renderRun(deps.config, match, event);
  } catch (err) {
    if (err instanceof RejectedError) return Promise.resolve({ match, outcome: { outcome: 'rejected', reason: err.message } });
    return Promise.reject(err);
  }
  const target = deps.targets.get(match.route.environment)!;
  const started = performance.now();
  const clock = deps.retryClock ?? realClock;
  const startedAt = clock.now();
  const decide = ({ result, attempts }: Attempts): Attempt | Promise<Attempt> => {
    const outcome = decideOutcome(result, target.api, age);
    const done = (paused: boolean | undefined): Attempt => ({ match, run, result, outcome, paused, attempts, latencyMs: Math.round(performance.now() - started) });
    const paused = outcome.outcome === 'triggered' && deps.paused ? deps.paused.lookup(target, run.dagId) : undefined;
    return paused instanceof Promise ? paused.then(done) : done(paused);
  };
  // The first try outside withRetry: most events need exactly one.
  return triggerDagRun(target, run).then((first) =>
    retryableNow(first)
      ? withRetry(
          () => triggerDagRun(target, run),
          deps.config.retry,
          { budgetMs: deliveryBudgetMs(deps.config.functionTimeoutMs), requestTimeoutMs: deps.config.requestTimeoutMs },
          clock,
          { result: first, startedAt },
        ).then(decide)
      : decide({ result: first, attempts: 1 }),
  );
}

/** The CloudEvent id of a delivery, when it has one (it may be unreadable otherwise). */
export function deliveredEventId(delivered: unknown): string | undefined {
  const id = (delivered as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** Stores the record and logs the outcome at ERROR; false (logged too) when the store failed, so the event is redelivered. */
async function deadLetter(
  deps: HandlerDeps,
  outcome: { outcome: 'rejected' | 'expired'; reason: string },
  normalized: TriggerEvent | undefined,
  match: RouteMatch | undefined,
  run: RunRequest | undefined,
  delivered: unknown,
  firstSeen: () => string,
  result?: TriggerResult,
  log: Logger = deps.logger,
  fields: Record<string, unknown> = { outcome: outcome.outcome, reason: outcome.reason },
): Promise<boolean> {
  const event = serializableEvent(delivered);
  const key = normalized && match ? dagRunId(normalized, match.route.name) : unreadableKey(delivered, event);
  const record: DeadLetterRecord = {
    key,
    outcome: outcome.outcome,
    reason: outcome.reason,
    route: match?.route.name,
    environment: match?.route.environment,
    dagId: run?.dagId,
    dagRunId: run?.dagRunId,
    httpStatus: result?.kind === 'response' ? result.status : undefined,
    responseExcerpt: responseOf(result),
    event,
    eventId: deliveredEventId(delivered),
    firstSeen: firstSeen(),
    launcherVersion: VERSION,
  };
  let deadLetter: string;
  try {
    deadLetter = await deps.deadLetters.write(scrubRecord(record));
  } catch (err) {
    // Nothing is dropped silently: the event goes back to the platform and is redelivered.
    log.error(
      { ...fields, outcome: 'retry', deadLetterError: (err as Error).message, wouldBe: outcome.outcome },
      `retry: ${outcome.outcome} (${outcome.reason}) but the dead letter could not be stored; the event will be redelivered`,
    );
    return false;
  }
  log.error({ ...fields, responseExcerpt: record.responseExcerpt, deadLetter, event }, `${outcome.outcome}: ${outcome.reason}`);
  return true;
}

/**
 * The record key of an event that could not be read: from its CloudEvent id
 * and source (or gen1 eventId) when it has them, the same whichever content
 * mode delivered it; otherwise a hash of the whole body.
 */
function unreadableKey(delivered: unknown, serialized: unknown): string {
  const d = (delivered ?? {}) as { id?: unknown; source?: unknown; context?: { eventId?: unknown } };
  const id = typeof d.id === 'string' ? [d.id, typeof d.source === 'string' ? d.source : ''] : typeof d.context?.eventId === 'string' ? [d.context.eventId, 'gen1'] : undefined;
  return `unreadable-${createHash('sha256').update(JSON.stringify(id ?? serialized)).digest('hex').slice(0, 40)}`;
}

/** The record as stored: no credential this instance knows, wherever an echoing server put it. */
function scrubRecord(record: DeadLetterRecord): DeadLetterRecord {
  return JSON.parse(scrubSecrets(JSON.stringify(record))) as DeadLetterRecord;
}

function responseOf(result: TriggerResult | undefined): string | undefined {
  if (!result) return undefined;
  return result.kind === 'response' ? result.body : result.message;
}

