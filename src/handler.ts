/**
 * The handler: normalize -> route -> render -> trigger -> outcome -> log,
 * one short composition. Resolving acks the event; throwing makes the
 * platform redeliver it, which is only done for `retry` outcomes.
 */
import type { AirflowApi } from './api';
import type { AirflowAuth } from './auth';
import type { LauncherConfig } from './config';
import { serializableEvent, type DeadLetterSink } from './deadletter';
import { RejectedError } from './errors';
import type { TriggerEvent } from './event';
import { traceFields, type Logger } from './logger';
import { normalizeEvent } from './normalize';
import { decideOutcome, type Outcome } from './outcome';
import { renderRun, type RunRequest } from './render';
import { routeEvent, type RouteMatch } from './route';
import { triggerDagRun, type AirflowTarget, type TriggerResult } from './trigger';
import { VERSION } from './version';
import type { PausedCache } from './paused';

export interface HandlerDeps {
  config: LauncherConfig;
  logger: Logger;
  /** Airflow target (URL, API variant, auth) per environment name. */
  targets: Map<string, AirflowTarget>;
  deadLetters: DeadLetterSink;
  /** Flags runs created on paused DAGs; omit to skip the check. */
  paused?: PausedCache;
  now?: () => number;
}

/** Thrown to make the platform redeliver; the outcome lines say why. */
export class RedeliverError extends Error {
  override readonly name = 'RedeliverError';
}

export function createHandler(deps: HandlerDeps): (delivered: unknown) => Promise<void> {
  const now = deps.now ?? Date.now;
  return async function handle(delivered: unknown): Promise<void> {
    const firstSeen = new Date(now()).toISOString();
    let event: TriggerEvent;
    try {
      event = normalizeEvent(delivered);
    } catch (err) {
      if (!(err instanceof RejectedError)) throw err;
      await deadLetter(deps, { outcome: 'rejected', reason: err.message }, undefined, undefined, delivered, firstSeen);
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

    const results = await Promise.all(matches.map((m) => attempt(deps, m, event, age)));
    let retry = 0;
    for (const { run, outcome, result, match, paused } of results) {
      const fields = {
        ...common,
        outcome: outcome.outcome,
        route: match.route.name,
        environment: match.route.environment,
        dagId: run?.dagId,
        dagRunId: run?.dagRunId,
        httpStatus: result?.kind === 'response' ? result.status : undefined,
        latencyMs: result?.latencyMs,
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
        await deadLetter(deps, outcome as Outcome & { outcome: 'rejected' | 'expired' }, match, run, delivered, firstSeen, result, log, fields);
      }
    }
    if (retry > 0) throw new RedeliverError(`${retry} of ${results.length} route(s) will be retried (event ${event.id})`);
  };
}

interface Attempt {
  match: RouteMatch;
  run?: RunRequest;
  result?: TriggerResult;
  outcome: Outcome;
  paused?: boolean;
}

async function attempt(deps: HandlerDeps, match: RouteMatch, event: TriggerEvent, age: { eventAgeMs: number; maxEventAgeMs: number }): Promise<Attempt> {
  let run: RunRequest;
  try {
    run = renderRun(deps.config, match, event);
  } catch (err) {
    if (err instanceof RejectedError) return { match, outcome: { outcome: 'rejected', reason: err.message } };
    throw err;
  }
  const target = deps.targets.get(match.route.environment)!;
  const result = await triggerDagRun(target, run);
  const outcome = decideOutcome(result, target.api, age);
  const paused = outcome.outcome === 'triggered' && deps.paused ? await deps.paused.isPaused(target, run.dagId) : undefined;
  return { match, run, result, outcome, paused };
}

async function deadLetter(
  deps: HandlerDeps,
  outcome: { outcome: 'rejected' | 'expired'; reason: string },
  match: RouteMatch | undefined,
  run: RunRequest | undefined,
  delivered: unknown,
  firstSeen: string,
  result?: TriggerResult,
  log: Logger = deps.logger,
  fields: Record<string, unknown> = { outcome: outcome.outcome, reason: outcome.reason },
): Promise<void> {
  const event = serializableEvent(delivered);
  const record = {
    outcome: outcome.outcome,
    reason: outcome.reason,
    route: match?.route.name,
    environment: match?.route.environment,
    dagId: run?.dagId,
    dagRunId: run?.dagRunId,
    httpStatus: result?.kind === 'response' ? result.status : undefined,
    responseExcerpt: responseOf(result),
    event,
    eventId: typeof (delivered as { id?: unknown })?.id === 'string' ? (delivered as { id: string }).id : undefined,
    firstSeen,
    launcherVersion: VERSION,
  };
  // If the store fails this throws, and the platform redelivers: nothing is dropped silently.
  const deadLetter = await deps.deadLetters.write(record);
  log.error({ ...fields, responseExcerpt: record.responseExcerpt, deadLetter, event }, `${outcome.outcome}: ${outcome.reason}`);
}

function responseOf(result: TriggerResult | undefined): string | undefined {
  if (!result) return undefined;
  return result.kind === 'response' ? result.body : result.message;
}

export type { AirflowApi, AirflowAuth };
