/**
 * render: the dag id, conf, note and dag_run_id of one route for one event.
 * Pure; a problem is a RejectedError (TemplateError for templates) naming it.
 */
import {DAG_ID, type LauncherConfig, type ValueTemplate} from '../config/types';
import type {TriggerEvent} from '../events/event';
import {RejectedError, TemplateError} from '../core/errors';
import {jsonLengthAtLeast} from '../core/json';
import {dagRunId} from './run-id';
import {capNote} from './note';
import {renderTemplate, type Template} from '../patterns/template';
import {excerpt} from '../events/payload';
import {dataNotJson, type RouteMatch} from './route';
import {toLogicalDate} from './logical-date';

interface Attempted {
  route: string;
  environment: string;
  /** The run's id; for an asset event, the key in its extra (see AssetEventRequest). */
  dagRunId: string;
}

/** A DAG run to trigger. */
export interface DagRunRequest extends Attempted {
  dagId: string;
  conf: Record<string, unknown>;
  note?: string;
  /** ISO 8601 UTC (logical-date.ts); absent: Airflow's "now" (v2: null). */
  logicalDate?: string;
  dataInterval?: {start: string; end: string};
  asset?: undefined;
}

/**
 * An asset route's event instead of a DAG run: no DAG, no conf. `extra`
 * holds `dag_launcher_event` = dagRunId, the key that makes a redelivery
 * find the event it created (airflow/asset-events.ts).
 */
export interface AssetEventRequest extends Attempted {
  asset: {uri: string; extra: Record<string, unknown>};
  dagId?: undefined;
  conf?: undefined;
  note?: undefined;
  logicalDate?: undefined;
  dataInterval?: undefined;
}

export type RunRequest = DagRunRequest | AssetEventRequest;

/**
 * What an attempt names on outcome lines, dead letters and the CLI's
 * reports: its DAG (`dagId`), or for an asset event its URI (`assetUri`).
 */
export function runSubject(run: {dagId?: string; asset?: {uri: string}}): {
  dagId?: string;
  assetUri?: string;
} {
  return run.asset ? {assetUri: run.asset.uri} : {dagId: run.dagId};
}

/** What a run or asset event is, for log lines: `dag_id run_id` or `asset URI run_id`. */
export function runLabel(run: RunRequest): string {
  return run.asset
    ? `asset ${run.asset.uri} ${run.dagRunId}`
    : `${run.dagId} ${run.dagRunId}`;
}

/** The key an asset event carries in its extra (see RunRequest.asset). */
export const ASSET_EVENT_KEY = 'dag_launcher_event';

export function renderRun(
  config: LauncherConfig,
  match: RouteMatch,
  event: TriggerEvent,
): RunRequest {
  try {
    return render(config, match, event);
  } catch (err) {
    // `{{ json.… }}` without a value because the data is not JSON: say that, not "add | default".
    const notJson =
      err instanceof TemplateError &&
      (err.detail as {root?: string} | undefined)?.root === 'json'
        ? dataNotJson(event)
        : undefined;
    if (!notJson) throw err;
    throw new TemplateError(
      `route '${match.route.name}': ${(err as Error).message.replace(/ has no value.*$/s, '')} has no value: the message ${notJson}`,
    );
  }
}

function render(
  config: LauncherConfig,
  match: RouteMatch,
  event: TriggerEvent,
): RunRequest {
  const {route, context} = match;
  if (match.refused !== undefined)
    throw new RejectedError(`route '${route.name}': ${match.refused}`);
  if (route.asset) return renderAssetEvent(config, match, event);
  const dag = renderTemplate(route.dag!, context);
  if (typeof dag !== 'string' || !DAG_ID.test(dag)) {
    throw new RejectedError(
      `route '${route.name}': dag ${excerpt(JSON.stringify(dag) ?? 'undefined')} is not a valid Airflow dag_id`,
    );
  }
  if (route.allowedDags && !route.allowedDags.has(dag)) {
    throw new RejectedError(
      `route '${route.name}': dag '${dag}' is not in the route's allowedDags`,
      {dagId: dag},
    );
  }
  const conf = route.conf
    ? renderValue(route.conf, context)
    : defaultConf(event);
  if (conf === null || typeof conf !== 'object' || Array.isArray(conf)) {
    throw new RejectedError(
      `route '${route.name}': conf rendered to ${Array.isArray(conf) ? 'an array' : typeof conf}, Airflow needs an object`,
      {dagId: dag},
    );
  }
  // The lower bound first: a 10 MB conf is refused without serializing it.
  const atLeast = jsonLengthAtLeast(conf, config.maxConfBytes);
  const size =
    atLeast > config.maxConfBytes
      ? atLeast
      : Buffer.byteLength(JSON.stringify(conf));
  if (size > config.maxConfBytes) {
    throw new RejectedError(
      `route '${route.name}': conf is ${atLeast === size && atLeast > config.maxConfBytes ? 'at least ' : ''}${size} bytes, over maxConfBytes ${config.maxConfBytes}`,
      {dagId: dag},
    );
  }
  const note = route.note ? renderTemplate(route.note, context) : undefined;
  const date = (t: Template, key: string) =>
    toLogicalDate(renderTemplate(t, context), `route '${route.name}': ${key}`);
  return {
    route: route.name,
    environment: route.environment,
    dagId: dag,
    dagRunId: dagRunId(event, route.name),
    conf: conf as Record<string, unknown>,
    ...(note === undefined
      ? {}
      : {
          note: capNote(typeof note === 'string' ? note : JSON.stringify(note)),
        }),
    ...(route.logicalDate && {
      logicalDate: date(route.logicalDate, 'logicalDate'),
    }),
    ...(route.dataInterval && {
      dataInterval: {
        start: date(route.dataInterval.start, 'dataInterval.start'),
        end: date(route.dataInterval.end, 'dataInterval.end'),
      },
    }),
  };
}

function renderAssetEvent(
  config: LauncherConfig,
  match: RouteMatch,
  event: TriggerEvent,
): AssetEventRequest {
  const {route, context} = match;
  const asset = route.asset!;
  const uri = renderTemplate(asset.uri, context);
  if (typeof uri !== 'string' || uri === '' || uri.length > 1500)
    throw new RejectedError(
      `route '${route.name}': asset.uri rendered to ${JSON.stringify(uri)?.slice(0, 100)}; Airflow needs a non-empty URI of at most 1,500 characters`,
    );
  const extra = asset.extra ? renderValue(asset.extra, context) : {};
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra))
    throw new RejectedError(
      `route '${route.name}': asset.extra rendered to ${Array.isArray(extra) ? 'an array' : typeof extra}, Airflow needs an object`,
    );
  const id = dagRunId(event, route.name);
  const full = {...(extra as Record<string, unknown>), [ASSET_EVENT_KEY]: id};
  const size = Buffer.byteLength(JSON.stringify(full));
  if (size > config.maxConfBytes)
    throw new RejectedError(
      `route '${route.name}': asset.extra is ${size} bytes, over maxConfBytes ${config.maxConfBytes}`,
    );
  return {
    route: route.name,
    environment: route.environment,
    dagRunId: id,
    asset: {uri, extra: full},
  };
}

function renderValue(v: ValueTemplate, ctx: Record<string, unknown>): unknown {
  switch (v.kind) {
    case 'constant':
      return v.value;
    case 'template':
      return renderTemplate(v.template, ctx);
    case 'array':
      return v.items.map(i => renderValue(i, ctx));
    case 'object':
      return Object.fromEntries(
        v.entries.map(([k, t]) => [k, renderValue(t, ctx)]),
      );
  }
}

/** What a route without `conf` sends: the fields a DAG usually needs to find its input. */
export function defaultConf(event: TriggerEvent): Record<string, unknown> {
  const meta = {
    event_id: event.id,
    event_type: event.type,
    event_time: event.time ?? null,
  };
  if (event.storage) {
    const s = event.storage;
    return {
      bucket: s.bucket,
      name: s.name,
      uri: `gs://${s.bucket}/${s.name}`,
      generation: s.generation,
      size: s.size ?? null,
      content_type: s.contentType ?? null,
      metadata: s.metadata,
      ...meta,
    };
  }
  const p = event.pubsub!;
  return {
    topic: p.topic ?? null,
    message_id: p.messageId,
    attributes: p.attributes,
    data:
      p.json !== undefined ? p.json : p.text !== undefined ? p.text : p.data,
    ...meta,
  };
}
