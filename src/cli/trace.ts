/**
 * trace: "did my file (or message) trigger its DAG, and what happened to the
 * run?" in one command. For each route: does it match, and if not the first
 * condition that fails; the dag_run_id it uses for this event; and that run
 * as Airflow has it (state, start, end), asked with the configured auth.
 *
 * The event is rebuilt the way backfill rebuilds it (an object's finalize,
 * from its metadata) or read from an event file. A Pub/Sub message named by
 * topic and message id alone has no attributes or body: conditions on them
 * are reported as unknown, and the run id (topic + message id) still is.
 */
import type {Storage} from '@google-cloud/storage';
import type {LauncherConfig, Route} from '../config/types';
import {RejectedError} from '../core/errors';
import {
  DEFAULT_TYPES,
  PUBSUB_PUBLISHED,
  type TriggerEvent,
} from '../events/event';
import {eventContext} from '../events/context';
import {normalizeEvent} from '../events/normalize';
import {sharedStorage} from '../google/storage';
import {renderRun, runSubject} from '../routing/render';
import {matchRoute} from '../routing/route';
import {dagRunId} from '../routing/run-id';
import type {AirflowTarget} from '../airflow/trigger';
import {lookupRun, type RunLookup} from './airflow-run';
import {finalizeEventOf} from './backfill';

export type TraceSubject =
  {object: string} | {topic: string; messageId: string} | {delivered: unknown};

export interface RouteTrace {
  route: string;
  /** true, false, or 'unknown' when it depends on what a message id alone does not tell. */
  matches: boolean | 'unknown';
  /** The first condition that fails (or cannot be judged). */
  why?: string;
  /** The DAG a run route triggers; an asset route has assetUri instead. */
  dagId?: string;
  assetUri?: string;
  dagRunId?: string;
  run?: RunLookup;
  renderError?: string;
}

export interface Trace {
  event: Record<string, unknown>;
  routes: RouteTrace[];
  /** One line: triggered or not, and the runs' states. */
  answer: string;
}

/** `gs://bucket/name[#generation]` -> its parts. */
export function parseObjectUri(
  uri: string,
): {bucket: string; name: string; generation?: string} | undefined {
  const m = /^gs:\/\/([^/]+)\/(.+?)(?:#(\d+))?$/s.exec(uri);
  return m ? {bucket: m[1]!, name: m[2]!, generation: m[3]} : undefined;
}

export async function traceEvent(options: {
  subject: TraceSubject;
  config: LauncherConfig;
  targets: Map<string, AirflowTarget>;
  storage?: () => Promise<Storage>;
}): Promise<Trace> {
  const {config} = options;
  const {delivered, partial, about} = await eventOf(options);
  const event = normalizeEvent(delivered, config);
  const ctx = eventContext(event);
  const routes: RouteTrace[] = [];
  for (const route of config.routes) {
    const judged = judge(route, event, ctx, partial);
    const trace: RouteTrace = {route: route.name, ...judged};
    if (judged.matches !== false) {
      trace.dagRunId = dagRunId(event, route.name);
      try {
        const run = renderRun(
          config,
          {route, context: {...ctx, captures: judged.captures ?? {}}},
          event,
        );
        Object.assign(trace, runSubject(run));
      } catch (err) {
        if (!(err instanceof RejectedError)) throw err;
        trace.renderError = err.message;
      }
      if (trace.dagId)
        trace.run = await lookupRun(
          options.targets.get(route.environment)!,
          trace.dagId,
          trace.dagRunId,
        );
    }
    delete (trace as {captures?: unknown}).captures;
    routes.push(trace);
  }
  return {event: about(event), routes, answer: answerOf(routes)};
}

async function eventOf(options: {
  subject: TraceSubject;
  storage?: () => Promise<Storage>;
}): Promise<{
  delivered: unknown;
  partial: boolean;
  about: (e: TriggerEvent) => Record<string, unknown>;
}> {
  const {subject} = options;
  if ('delivered' in subject)
    return {delivered: subject.delivered, partial: false, about: describeEvent};
  if ('topic' in subject) {
    // The run id hashes the full topic name, as the live event carries it.
    const topic = subject.topic;
    if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(topic))
      throw new RejectedError(
        `--topic expects the full name projects/PROJECT/topics/TOPIC (the run id is made from it), got ${topic}`,
      );
    return {
      delivered: {
        specversion: '1.0',
        id: subject.messageId,
        type: PUBSUB_PUBLISHED,
        source: `//pubsub.googleapis.com/${topic}`,
        data: {message: {messageId: subject.messageId, data: ''}},
      },
      partial: true,
      about: e => ({
        ...describeEvent(e),
        note: 'from topic and message id alone: attributes and body unknown',
      }),
    };
  }
  const parts = parseObjectUri(subject.object);
  if (!parts)
    throw new RejectedError(
      `expected gs://BUCKET/NAME[#GENERATION], got ${subject.object}`,
    );
  const storage = await (options.storage ?? sharedStorage)();
  const file = storage
    .bucket(parts.bucket)
    .file(
      parts.name,
      parts.generation ? {generation: Number(parts.generation)} : {},
    );
  try {
    const [metadata] = await file.getMetadata();
    return {
      delivered: finalizeEventOf(metadata as Record<string, unknown>),
      partial: false,
      about: describeEvent,
    };
  } catch (err) {
    if ((err as {code?: number}).code !== 404 || !parts.generation) throw err;
    // Gone (deleted or overwritten): its run ids need only bucket, name and generation.
    return {
      delivered: finalizeEventOf({...parts, metadata: {}}),
      partial: true,
      about: e => ({
        ...describeEvent(e),
        note: 'object generation not found: judged on bucket and name only',
      }),
    };
  }
}

function describeEvent(e: TriggerEvent): Record<string, unknown> {
  return e.storage
    ? {
        kind: 'storage',
        type: e.type,
        object: `gs://${e.storage.bucket}/${e.storage.name}#${e.storage.generation}`,
        contentType: e.storage.contentType,
        timeCreated: e.storage.timeCreated,
        metadata: e.storage.metadata,
      }
    : {
        kind: e.kind,
        type: e.type,
        topic: e.pubsub?.topic,
        messageId: e.pubsub?.messageId,
        attributes: e.pubsub?.attributes,
      };
}

/** Whether a message id alone tells a field (topic does; attributes do not). */
const KNOWN_WITHOUT_MESSAGE = new Set(['topic', 'messageId', 'subscription']);

function judge(
  route: Route,
  event: TriggerEvent,
  ctx: Record<string, unknown>,
  partial: boolean,
): {
  matches: boolean | 'unknown';
  why?: string;
  captures?: Record<string, string>;
} {
  const types = route.types ?? DEFAULT_TYPES;
  if (!types.has(event.type))
    return {
      matches: false,
      why: `type: ${event.type} is not in ${route.types ? 'match.type' : `the default types (${[...DEFAULT_TYPES].join(', ')})`}`,
    };
  if (!partial) {
    const captures = matchRoute(route, event, ctx);
    if (captures) return {matches: true, captures};
  }
  for (const c of route.conditions) {
    const value = c.get(ctx);
    const root = c.field.split('.')[0]!;
    const knowable =
      !partial ||
      (event.kind === 'pubsub'
        ? KNOWN_WITHOUT_MESSAGE.has(root)
        : ['bucket', 'name'].includes(root));
    if (!knowable)
      return {
        matches: 'unknown',
        why: `${c.field}: needs ${c.matcher.describe}; not known without the ${event.kind === 'pubsub' ? 'message (give an event file)' : 'object'}`,
      };
    if (!c.matcher.match(value))
      return {
        matches: false,
        why: `${c.field}: ${value === undefined ? 'absent' : JSON.stringify(value)} is not ${c.matcher.describe}`,
      };
  }
  return {matches: true};
}

function answerOf(routes: RouteTrace[]): string {
  const candidates = routes.filter(r => r.matches !== false);
  if (candidates.length === 0) return 'unmatched: no route matches this event';
  return candidates
    .map(r => {
      const run = r.run;
      if (r.assetUri !== undefined)
        return `${r.route}: an asset event on ${r.assetUri} (key ${r.dagRunId}); trace does not look asset events up`;
      if (!run) return `${r.route}: no run (${r.renderError ?? 'no DAG id'})`;
      if (run.exists === true)
        return `${r.route}: triggered, ${r.dagId} ${r.dagRunId} is ${run.state}`;
      if (run.exists === false)
        return `${r.route}: not triggered, ${r.dagId} has no run ${r.dagRunId}`;
      return `${r.route}: unknown (${run.reason})`;
    })
    .join('; ');
}

/** 0 when every matching route has its run, 3 otherwise (unmatched included). */
export function traceExitCode(trace: Trace): number {
  const candidates = trace.routes.filter(r => r.matches !== false);
  return candidates.length > 0 && candidates.every(r => r.run?.exists === true)
    ? 0
    : 3;
}
