/**
 * The handler: normalize -> route -> render -> trigger -> outcome -> log,
 * one short composition. Resolving acks the event; throwing makes the
 * platform redeliver it, which is only done for `retry` outcomes.
 */

import type {LauncherConfig} from './config/types';
import type {DeadLetterSink} from './outcomes/dead-letters';
import {responseOf, storeDeadLetter} from './outcomes/store-dead-letter';
import {InvalidEventError, RejectedError} from './core/errors';
import {DEFAULT_TYPES, type TriggerEvent} from './events/event';
import {traceFields, type Logger} from './logging/logger';
import {normalizeEvent} from './events/normalize';
import {
  decideOutcome,
  needsRunLookup,
  type EventAge,
  type Outcome,
} from './outcomes/outcome';
import {
  renderRun,
  runLabel,
  runSubject,
  type RunRequest,
} from './routing/render';
import {
  routeEvent,
  unmatchedMessage,
  unmatchedReasons,
  type RouteMatch,
} from './routing/route';
import {dagRunId} from './routing/run-id';
import {
  triggerDagRun,
  type AirflowTarget,
  type TriggerResult,
} from './airflow/trigger';
import {
  deliveryBudgetMs,
  realClock,
  retryableNow,
  withRetry,
  type Attempts,
  type RetryClock,
} from './outcomes/retry';
import type {PausedCache} from './airflow/paused';
import {lookupDagRun, type RunLookup} from './airflow/lookup-run';
import {emitAssetEvent} from './airflow/asset-events';
import {triggerByComposerCli} from './airflow/composer-cli';
import {decideAssetOutcome} from './outcomes/asset-outcome';

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

/**
 * Once every route has rendered, a message's parsed JSON data is no longer
 * read (outcome lines and dead letters use the event's identity and the
 * delivery as sent). Dropped before waiting for Airflow: 30 messages of
 * 47,000 objects each, all waiting at once, held 1.4 million objects and
 * ran a 256 MiB instance out of heap; now at most the messages being
 * rendered hold theirs.
 */
function releaseParsedData(event: TriggerEvent, matches: RouteMatch[]): void {
  if (!event.pubsub || event.pubsub.json === undefined) return;
  event.pubsub.json = undefined;
  for (const m of matches) m.context.json = undefined;
}

/** Clocks disagree a little; an event time further ahead than this is not a clock's. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

/**
 * An event time in the future would keep the event young forever, so a
 * retryable refusal (an unknown DAG) would be retried until the platform
 * drops it. A Storage notification's `eventTime` is an attribute anyone who
 * may publish to the topic sets; Pub/Sub's own publishTime is used when it
 * is earlier (storage-notification.ts).
 */
function checkNotFuture(event: TriggerEvent, now: number): void {
  if (!event.time) return;
  const ahead = Date.parse(event.time) - now;
  if (ahead > FUTURE_TOLERANCE_MS)
    throw new InvalidEventError(
      `event time ${event.time.slice(0, 64)} is ${Math.round(ahead / 60_000)} minutes ahead of this instance's clock; the function tells an event's age (maxEventAge) by it`,
    );
}

export function createHandler(
  deps: HandlerDeps,
): (delivered: unknown) => Promise<void> {
  const now = deps.now ?? Date.now;
  // A promise chain on the common path, as in attempt(): see endpoint.ts.
  return function handle(delivered: unknown): Promise<void> {
    const seenAt = now();
    const firstSeen = () => new Date(seenAt).toISOString();
    let event: TriggerEvent;
    try {
      event = normalizeEvent(delivered, deps.config);
      checkNotFuture(event, seenAt);
    } catch (err) {
      if (!(err instanceof RejectedError)) return Promise.reject(err);
      return storeOrRedeliver(deps.deadLetters, deps.logger, {
        outcome: {outcome: 'rejected', reason: err.message},
        delivered,
        firstSeen: firstSeen(),
      });
    }
    // On every line (not as child bindings): the GCP formatter only maps trace fields it sees per call.
    const common = {
      eventId: event.id,
      eventType: event.type,
      source: event.source,
      ...traceFields(event.traceparent),
    };
    const log = deps.logger;
    const matches = routeEvent(deps.config, event);
    if (matches.length === 0) {
      const routes = unmatchedReasons(deps.config, event);
      const why = unmatchedMessage(event);
      const fields = {
        ...common,
        outcome: 'unmatched',
        object: event.storage?.name,
        topic: event.pubsub?.topic,
        subscription: event.pubsub?.subscription,
        reason: routes.length ? `${why}: ${routes.join('; ')}` : why,
        routes,
      };
      // Object deletions and the like reach only the routes that name them: never a dead letter.
      const policy = DEFAULT_TYPES.has(event.type)
        ? deps.config.unmatched[event.kind]
        : 'ack';
      if (policy === 'ack') {
        log.info(fields, `unmatched: ${why}; acked`);
        return Promise.resolve();
      }
      return storeOrRedeliver(deps.deadLetters, log, {
        outcome: {outcome: 'unmatched', reason: fields.reason},
        delivered,
        firstSeen: firstSeen(),
        fields,
      });
    }
    // normalize refuses a time that does not parse; an event without one has no age to bound its retries.
    const age: EventAge = event.time
      ? {
          eventAgeMs: now() - Date.parse(event.time),
          maxEventAgeMs: deps.config.maxEventAgeMs,
        }
      : {
          eventAgeMs: 0,
          maxEventAgeMs: deps.config.maxEventAgeMs,
          timeless: true,
        };

    // Each attempt renders at once (synchronously), then waits for Airflow.
    const pending = matches.map(m => attempt(deps, m, event, age));
    releaseParsedData(event, matches);
    const settled =
      pending.length === 1 ? pending[0]!.then(r => [r]) : Promise.all(pending);
    return settled.then(results =>
      reportOutcomes(deps, results, {delivered, event, common, firstSeen}),
    );
  };
}

/** A record for an event no route could take; a redelivery when it cannot be stored. */
async function storeOrRedeliver(
  sink: DeadLetterSink,
  log: Logger,
  input: Parameters<typeof storeDeadLetter>[2],
): Promise<void> {
  if (!(await storeDeadLetter(sink, log, input)))
    throw new RedeliverError('the dead letter could not be stored; redeliver');
}

/**
 * One line per route's outcome; a record for each rejected or expired one
 * (stored one after the other); a redelivery when any route is retried.
 * Synchronous unless a record is stored.
 */
function reportOutcomes(
  deps: Pick<HandlerDeps, 'logger' | 'deadLetters'>,
  results: Attempt[],
  of: {
    delivered: unknown;
    event: TriggerEvent;
    common: Record<string, unknown>;
    firstSeen: () => string;
  },
): Promise<void> | void {
  const log = deps.logger;
  let retry = 0;
  let records: Promise<void> | undefined;
  for (const {
    run,
    outcome,
    result,
    match,
    paused,
    attempts,
    latencyMs,
    intended,
  } of results) {
    const fields = {
      ...of.common,
      outcome: outcome.outcome,
      route: match.route.name,
      environment: match.route.environment,
      ...(run ? runSubject(run) : {dagId: intended?.dagId}),
      dagRunId: run?.dagRunId ?? intended?.dagRunId,
      httpStatus: result?.kind === 'response' ? result.status : undefined,
      latencyMs,
      attempts,
      reason: outcome.reason,
    };
    if (outcome.outcome === 'triggered' && paused) {
      log.warn(
        {...fields, dagPaused: true},
        `triggered: ${run!.dagId} ${run!.dagRunId}; the DAG is paused, the run will not start until it is unpaused`,
      );
    } else if (
      outcome.outcome === 'triggered' ||
      outcome.outcome === 'duplicate'
    ) {
      log.info(fields, `${outcome.outcome}: ${runLabel(run!)}`);
    } else if (outcome.outcome === 'retry') {
      retry++;
      log.warn(
        {...fields, responseExcerpt: responseOf(result)},
        `retry: ${outcome.reason}`,
      );
    } else {
      const input = {
        outcome: outcome as Outcome & {outcome: 'rejected' | 'expired'},
        delivered: of.delivered,
        firstSeen: of.firstSeen(),
        event: of.event,
        match,
        run,
        intended,
        result,
        fields,
      };
      const store = () =>
        storeDeadLetter(deps.deadLetters, log, input).then(stored => {
          if (!stored) retry++;
        });
      records = records ? records.then(store) : store();
    }
  }
  // Fixed text: the outcome lines say which event and why.
  const settle = () => {
    if (retry > 0)
      throw new RedeliverError(
        `${retry} of ${results.length} route(s) will be retried`,
      );
  };
  if (records) return records.then(settle);
  settle();
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
  /** When rendering was rejected: the DAG (once known) and run id it would have triggered. */
  intended?: {dagId?: string; dagRunId: string};
}

/**
 * One (event, route): render, trigger with in-delivery retries, decide. Also
 * what `replay` runs. A promise chain rather than an async function: most
 * events take exactly this path once, and functions-framework's domain
 * tracks every async frame and await (see trigger.ts).
 */
export function attempt(
  deps: Pick<HandlerDeps, 'config' | 'targets' | 'paused' | 'retryClock'>,
  match: RouteMatch,
  event: TriggerEvent,
  age: EventAge,
): Promise<Attempt> {
  let run: RunRequest;
  try {
    run = renderRun(deps.config, match, event);
  } catch (err) {
    if (err instanceof RejectedError)
      return Promise.resolve({
        match,
        outcome: {outcome: 'rejected', reason: err.message},
        intended: {
          dagId: (err.detail as {dagId?: string} | undefined)?.dagId,
          dagRunId: dagRunId(event, match.route.name),
        },
      });
    return Promise.reject(err);
  }
  const target = deps.targets.get(match.route.environment)!;
  const started = performance.now();
  const clock = deps.retryClock ?? realClock;
  const startedAt = clock.now();
  const decide = (
    {result, attempts}: Attempts,
    lookup?: RunLookup,
  ): Attempt | Promise<Attempt> => {
    // "A run exists" without saying whose: one GET of our run decides.
    if (!lookup && !run.asset && needsRunLookup(result, target.api))
      return lookupDagRun(target, run).then(found =>
        decide({result, attempts}, found),
      );
    const outcome = run.asset
      ? decideAssetOutcome(result, age)
      : decideOutcome(result, target.api, age, lookup);
    const done = (paused: boolean | undefined): Attempt => ({
      match,
      run,
      result,
      outcome,
      paused,
      attempts,
      latencyMs: Math.round(performance.now() - started),
    });
    const paused =
      outcome.outcome === 'triggered' && deps.paused && !run.asset
        ? deps.paused.lookup(target, run.dagId)
        : undefined;
    return paused instanceof Promise ? paused.then(done) : done(paused);
  };
  const send = run.asset
    ? () =>
        emitAssetEvent(target, run, {
          deadline: started + deliveryBudgetMs(deps.config.functionTimeoutMs),
        })
    : target.environment.api === 'composer-cli'
      ? () => triggerByComposerCli(target, run)
      : () => triggerDagRun(target, run);
  // The first try outside withRetry: most events need exactly one.
  return send().then(first =>
    retryableNow(first)
      ? withRetry(send, {
          policy: deps.config.retry,
          budgetMs: deliveryBudgetMs(deps.config.functionTimeoutMs),
          requestTimeoutMs: deps.config.requestTimeoutMs,
          clock,
          first: {result: first, startedAt},
        }).then(decide)
      : decide({result: first, attempts: 1}),
  );
}
