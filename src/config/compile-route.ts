/**
 * Compiling one route: its environment, event types, matchers, DAG (fixed or
 * templated within an allowlist), conf and note, each problem with its path.
 */
import {compileMatcher, type MatcherSpec} from '../patterns/matcher';
import {
  compileTemplate,
  hasTemplate,
  type Template,
} from '../patterns/template';
import {
  PUBSUB_PUBLISHED,
  STORAGE_FINALIZED,
  STORAGE_TYPES,
} from '../events/event';
import {CONTEXT_ROOTS} from '../events/context';
import type {RawRoute} from './schema';
import {
  DAG_ID,
  type Environment,
  type FieldCondition,
  type Route,
  type ValueTemplate,
} from './types';

const TYPE_SHORTHANDS: Record<string, string> = {
  storage: STORAGE_FINALIZED,
  pubsub: PUBSUB_PUBLISHED,
};

export function compileRoute(
  r: RawRoute,
  at: string,
  envs: Map<string, Environment>,
  problems: string[],
): Route | undefined {
  const before = problems.length;
  let environment = r.environment;
  if (environment === undefined) {
    if (envs.size === 1) environment = [...envs.keys()][0]!;
    else
      problems.push(
        `${at}.environment: required when more than one environment is configured`,
      );
  } else if (!envs.has(environment)) {
    problems.push(
      `${at}.environment: unknown environment '${environment}' (known: ${[...envs.keys()].join(', ')})`,
    );
  }

  let types: Set<string> | undefined;
  if (r.match.type !== undefined) {
    types = new Set(
      (Array.isArray(r.match.type) ? r.match.type : [r.match.type]).map(
        t => TYPE_SHORTHANDS[t] ?? t,
      ),
    );
    for (const t of types) {
      if (!STORAGE_TYPES.has(t) && t !== PUBSUB_PUBLISHED) {
        problems.push(
          `${at}.match.type: unsupported event type '${t}' (storage, pubsub, ${[...STORAGE_TYPES].join(', ')}, ${PUBSUB_PUBLISHED})`,
        );
      }
    }
  }

  const conditions: FieldCondition[] = [];
  const add = (
    field: string,
    spec: MatcherSpec,
    get: FieldCondition['get'],
    path: string,
  ) => {
    try {
      conditions.push({field, get, matcher: compileMatcher(spec)});
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message}`);
    }
  };
  const m = r.match;
  if (m.bucket !== undefined)
    add('bucket', m.bucket, c => c.bucket, `${at}.match.bucket`);
  if (m.name !== undefined)
    add('name', m.name, c => c.name, `${at}.match.name`);
  if (m.contentType !== undefined)
    add(
      'contentType',
      m.contentType,
      c => c.contentType,
      `${at}.match.contentType`,
    );
  // A full topic (subscription) name compares with the full name, a bare id with the id.
  const isFull = (spec: MatcherSpec) =>
    typeof spec === 'string'
      ? spec.includes('/')
      : JSON.stringify(spec).includes('/');
  if (m.topic !== undefined)
    add(
      'topic',
      m.topic,
      isFull(m.topic) ? c => c.topic : c => c.topicId,
      `${at}.match.topic`,
    );
  if (m.subscription !== undefined)
    add(
      'subscription',
      m.subscription,
      isFull(m.subscription) ? c => c.subscription : c => c.subscriptionId,
      `${at}.match.subscription`,
    );
  for (const [k, spec] of Object.entries(m.metadata ?? {})) {
    add(
      `metadata.${k}`,
      spec,
      c => (c.metadata as Record<string, string> | undefined)?.[k],
      `${at}.match.metadata.${k}`,
    );
  }
  for (const [k, spec] of Object.entries(m.attributes ?? {})) {
    add(
      `attributes.${k}`,
      spec,
      c => (c.attributes as Record<string, string> | undefined)?.[k],
      `${at}.match.attributes.${k}`,
    );
  }
  for (const [path, spec] of Object.entries(m.json ?? {})) {
    const keys = path.split('.');
    add(
      `json.${path}`,
      spec,
      c => dig(c.json, keys),
      `${at}.match.json.${path}`,
    );
  }

  const dag = compile(r.dag, `${at}.dag`, problems);
  const allowedDags = r.allowedDags ? new Set(r.allowedDags) : undefined;
  if (allowedDags) {
    for (const d of allowedDags)
      if (!DAG_ID.test(d))
        problems.push(
          `${at}.allowedDags: '${d}' is not a valid Airflow dag_id`,
        );
  }
  if (hasTemplate(r.dag)) {
    if (!allowedDags)
      problems.push(
        `${at}.allowedDags: required because dag '${r.dag}' comes from the event`,
      );
  } else {
    if (!DAG_ID.test(r.dag))
      problems.push(
        `${at}.dag: '${r.dag}' is not a valid Airflow dag_id (A-Z a-z 0-9 _ . -, at most 250)`,
      );
    if (allowedDags && !allowedDags.has(r.dag))
      problems.push(`${at}.dag: '${r.dag}' is not in allowedDags`);
  }
  const conf =
    r.conf === undefined
      ? undefined
      : compileValue(r.conf, `${at}.conf`, problems);
  if (
    conf &&
    conf.kind !== 'object' &&
    !(conf.kind === 'template' && conf.template.kind === 'value')
  ) {
    problems.push(
      `${at}.conf: must be an object (or a single {{ }} expression giving one)`,
    );
  }
  const note =
    r.note === undefined ? undefined : compile(r.note, `${at}.note`, problems);

  if (problems.length > before || !dag) return undefined;
  return {
    name: r.name,
    environment: environment!,
    types,
    conditions,
    dag,
    allowedDags,
    conf,
    note,
  };
}

function compile(
  source: string,
  path: string,
  problems: string[],
): Template | undefined {
  try {
    return compileTemplate(source, CONTEXT_ROOTS);
  } catch (err) {
    problems.push(`${path}: ${(err as Error).message}`);
    return undefined;
  }
}

function compileValue(
  value: unknown,
  path: string,
  problems: string[],
): ValueTemplate {
  if (typeof value === 'string') {
    const template = compile(value, path, problems);
    return template ? {kind: 'template', template} : {kind: 'constant', value};
  }
  if (Array.isArray(value))
    return {
      kind: 'array',
      items: value.map((v, i) => compileValue(v, `${path}.${i}`, problems)),
    };
  if (value !== null && typeof value === 'object') {
    return {
      kind: 'object',
      entries: Object.entries(value).map(([k, v]) => [
        k,
        compileValue(v, `${path}.${k}`, problems),
      ]),
    };
  }
  return {kind: 'constant', value};
}

function dig(value: unknown, keys: string[]): unknown {
  let v = value;
  for (const k of keys) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k))
      return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}
