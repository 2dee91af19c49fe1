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
import type {MatchConfig, RawRoute} from './schema';
import {eventKindProblems, topicProblems} from './route-rules';
import {compileNative} from './compile-native';
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

type MatchMaps = 'metadata' | 'attributes' | 'json';
/** A route's `match` as far as its shape is right: a malformed map entry is undefined. */
export type SalvagedMatch = Omit<MatchConfig, MatchMaps> & {
  [K in MatchMaps]?: Record<
    string,
    NonNullable<MatchConfig[K]>[string] | undefined
  >;
};
/** A route as far as its shape is right (salvage.ts): a malformed field is absent. */
export type SalvagedRoute = Partial<Omit<RawRoute, 'match' | 'allowedDags'>> & {
  match?: SalvagedMatch;
  allowedDags?: (string | undefined)[];
};

export function compileRoute(
  r: SalvagedRoute,
  at: string,
  envs: Map<string, Environment>,
  problems: string[],
): Route | undefined {
  const before = problems.length;
  let environment = r.environment;
  if (environment === undefined) {
    if (envs.size === 1) environment = [...envs.keys()][0]!;
    // With none, the config-wide 'at least one environment' problem says it.
    else if (envs.size > 1)
      problems.push(
        `${at}.environment: required when more than one environment is configured; name one of ${[...envs.keys()].join(', ')}`,
      );
  } else if (!envs.has(environment)) {
    problems.push(
      `${at}.environment: unknown environment '${environment}'; use one of ${[...envs.keys()].join(', ') || '(none configured)'}`,
    );
  }

  const m = wellFormedMatch(r.match);
  let types: Set<string> | undefined;
  if (m.type !== undefined) {
    types = new Set(
      (Array.isArray(m.type) ? m.type : [m.type]).map(t =>
        Object.hasOwn(TYPE_SHORTHANDS, t) ? TYPE_SHORTHANDS[t]! : t,
      ),
    );
    for (const t of types) {
      if (!STORAGE_TYPES.has(t) && t !== PUBSUB_PUBLISHED) {
        problems.push(
          `${at}.match.type: unsupported event type '${t}'; use storage, pubsub, ${[...STORAGE_TYPES].join(', ')} or ${PUBSUB_PUBLISHED}`,
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
      c => ownValue(c.metadata, k),
      `${at}.match.metadata.${k}`,
    );
  }
  for (const [k, spec] of Object.entries(m.attributes ?? {})) {
    add(
      `attributes.${k}`,
      spec,
      c => ownValue(c.attributes, k),
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

  const {dag, allowedDags} = compileDag(r, at, problems);
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
      `${at}.conf: must be an object (or a single {{ }} expression giving one); wrap the value, e.g. conf: {value: ...}`,
    );
  }
  const note =
    r.note === undefined ? undefined : compile(r.note, `${at}.note`, problems);
  const native = compileNative(r, at, problems, {
    template: (source, path) => compile(source, path, problems),
    value: (value, path) => compileValue(value, path, problems),
  });

  if (m.topic !== undefined)
    problems.push(...topicProblems(m.topic, `${at}.match.topic`));
  problems.push(...eventKindProblems({at, types, match: m, dag, conf, note}));

  if (
    problems.length > before ||
    (!dag && !native.asset) ||
    r.name === undefined
  )
    return undefined;
  return {
    name: r.name,
    environment: environment!,
    types,
    conditions,
    dag,
    allowedDags,
    conf,
    note,
    ...native,
  };
}

/** The match without its malformed map entries (reported already), as the matcher code reads it. */
function wellFormedMatch(match: SalvagedMatch | undefined): MatchConfig {
  const out: Record<string, unknown> = {...match};
  for (const key of ['metadata', 'attributes', 'json'] as const) {
    const entries = match?.[key];
    if (entries)
      out[key] = Object.fromEntries(
        Object.entries(entries).filter(([, spec]) => spec !== undefined),
      );
  }
  return out as MatchConfig;
}

function compileDag(
  r: SalvagedRoute,
  at: string,
  problems: string[],
): {dag?: Template; allowedDags?: Set<string>} {
  const allowedDags = r.allowedDags
    ? new Set(r.allowedDags.filter(d => d !== undefined))
    : undefined;
  for (const d of allowedDags ?? [])
    if (!DAG_ID.test(d)) problems.push(`${at}.allowedDags: ${dagIdMistake(d)}`);
  if (r.dag === undefined) return {allowedDags};
  const dag = compile(r.dag, `${at}.dag`, problems);
  if (hasTemplate(r.dag)) {
    if (!allowedDags)
      problems.push(
        `${at}.allowedDags: required because dag '${r.dag}' comes from the event; list the DAGs it may name`,
      );
  } else {
    if (!DAG_ID.test(r.dag)) problems.push(`${at}.dag: ${dagIdMistake(r.dag)}`);
    if (allowedDags && !allowedDags.has(r.dag))
      problems.push(
        `${at}.dag: '${r.dag}' is not in allowedDags; add it there, or remove allowedDags`,
      );
  }
  return {dag, allowedDags};
}

function dagIdMistake(id: string): string {
  if (id === '.' || id === '..')
    return `'${id}' cannot be a dag_id: in the API's URL (/dags/${id}/dagRuns) it is a path segment that names another path; rename the DAG`;
  return `'${id}' is not a valid Airflow dag_id; use 1-250 characters of A-Z a-z 0-9 _ . -`;
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

/**
 * An event's own key only: `metadata.constructor` or `attributes.toString`
 * must not find Object.prototype's (an `{exists: true}` on it would match
 * every event).
 */
function ownValue(object: unknown, key: string): unknown {
  return object !== null &&
    typeof object === 'object' &&
    Object.hasOwn(object, key)
    ? (object as Record<string, unknown>)[key]
    : undefined;
}

function dig(value: unknown, keys: string[]): unknown {
  let v = value;
  for (const k of keys) v = ownValue(v, k);
  return v;
}

/**
 * Compiles every pattern's RE2 program now, as the function does on first
 * use: what RE2 refuses beyond the checks made at compile, with its path.
 * `dag-launcher validate` runs it so nothing is left for the first event.
 */
export function patternProblems(routes: readonly Route[]): string[] {
  const problems: string[] = [];
  routes.forEach((route, i) => {
    for (const c of route.conditions) {
      try {
        c.matcher.prepare();
      } catch (err) {
        problems.push(
          `routes.${i}.match.${c.field}: ${(err as Error).message}`,
        );
      }
    }
  });
  return problems;
}
