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
import {renderTemplate} from '../patterns/template';
import {excerpt} from '../events/payload';
import {dataNotJson, type RouteMatch} from './route';

export interface RunRequest {
  route: string;
  environment: string;
  dagId: string;
  dagRunId: string;
  conf: Record<string, unknown>;
  note?: string;
}

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
  const dag = renderTemplate(route.dag, context);
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
    );
  }
  const note = route.note ? renderTemplate(route.note, context) : undefined;
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
