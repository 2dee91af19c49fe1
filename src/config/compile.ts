/**
 * Compiling a parsed config: shape from schema.ts, then meaning (references
 * between environments and routes, matchers, templates, transport rules),
 * every problem reported with its path, into the types of types.ts.
 */
import { ConfigError } from '../core/errors';
import { compileMatcher, type MatcherSpec } from '../patterns/matcher';
import { compileTemplate, hasTemplate, type Template } from '../patterns/template';
import { PUBSUB_PUBLISHED, STORAGE_FINALIZED } from '../events/event';
import { CONTEXT_ROOTS } from '../events/context';
import { run } from './check';
import { ConfigSchema, RouteSchema, type AuthConfig, type RawConfig, type RawRoute } from './schema';
import { parseGsUri } from './gs-uri';
import { DAG_ID, type Environment, type FieldCondition, type LauncherConfig, type Route, type ValueTemplate } from './types';

const TYPE_SHORTHANDS: Record<string, string> = { storage: STORAGE_FINALIZED, pubsub: PUBSUB_PUBLISHED };

/** Validates and compiles a parsed config; throws ConfigError listing every problem. */
export function compileConfig(raw: unknown, origin: string): LauncherConfig {
  const parsed = run(ConfigSchema, raw);
  if (!parsed.ok) {
    // Report the shape problems and, for the routes whose shape is fine, their meaning problems too.
    throw new ConfigError([...parsed.problems, ...semanticProblems(raw)], origin);
  }
  const cfg: RawConfig = parsed.value;
  const problems: string[] = [];

  const environments = new Map<string, Environment>();
  for (const [name, e] of Object.entries(cfg.environments)) {
    environments.set(name, { name, url: (e.url ?? '').replace(/\/+$/, ''), composer: e.composer, api: e.api, auth: e.auth });
    if (e.url) problems.push(...transportProblems(name, e.url, e.auth));
    else if (e.auth.mode === 'none') problems.push(`environments.${name}.auth: mode 'none' is only allowed for loopback URLs`);
  }
  if (environments.size === 0) problems.push('environments: at least one Airflow environment is required');
  if (cfg.requestTimeout >= cfg.functionTimeout) {
    problems.push(`requestTimeout: ${cfg.requestTimeout}ms must be below functionTimeout ${cfg.functionTimeout}ms`);
  }
  const routes = compileRoutes(cfg.routes, environments, problems);
  if (problems.length) throw new ConfigError(problems, origin);
  return {
    environments,
    routes,
    maxEventAgeMs: cfg.maxEventAge,
    requestTimeoutMs: cfg.requestTimeout,
    functionTimeoutMs: cfg.functionTimeout,
    maxConfBytes: cfg.maxConfBytes,
    retry: { attempts: cfg.retry.attempts, initialBackoffMs: cfg.retry.initialBackoff, maxBackoffMs: cfg.retry.maxBackoff },
    ...(cfg.deadLetters && { deadLetters: parseGsUri(cfg.deadLetters, true) }),
    origin,
  };
}

function compileRoutes(raw: (RawRoute | undefined)[], environments: Map<string, Environment>, problems: string[]): Route[] {
  const seen = new Set<string>();
  const routes: Route[] = [];
  raw.forEach((r, i) => {
    if (!r) return;
    const at = `routes.${i}`;
    if (seen.has(r.name)) problems.push(`${at}.name: duplicate route name '${r.name}'`);
    seen.add(r.name);
    const route = compileRoute(r, at, environments, problems);
    if (route) routes.push(route);
  });
  return routes;
}

function semanticProblems(raw: unknown): string[] {
  if (!raw || typeof raw !== 'object') return [];
  const { environments, routes } = raw as { environments?: unknown; routes?: unknown };
  if (!Array.isArray(routes)) return [];
  const envs = new Map<string, Environment>();
  if (environments && typeof environments === 'object') {
    for (const name of Object.keys(environments)) envs.set(name, { name, url: '', api: 'v2', auth: { mode: 'google', scopes: [] } });
  }
  const problems: string[] = [];
  compileRoutes(routes.map((r) => { const p = run(RouteSchema, r); return p.ok ? p.value : undefined; }), envs, problems);
  return problems;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Credentials never travel in clear text, and unauthenticated targets must be local. */
function transportProblems(name: string, url: string, auth: AuthConfig): string[] {
  const at = `environments.${name}`;
  const loopback = isLoopback(url);
  if (auth.mode === 'none' && !loopback) return [`${at}.auth: mode 'none' is only allowed for loopback URLs (got ${url})`];
  if (url.startsWith('http://') && !loopback) return [`${at}.url: plain http:// is refused for non-loopback Airflow URLs; use https://`];
  return [];
}

function compileRoute(r: RawRoute, at: string, envs: Map<string, Environment>, problems: string[]): Route | undefined {
  const before = problems.length;
  let environment = r.environment;
  if (environment === undefined) {
    if (envs.size === 1) environment = [...envs.keys()][0]!;
    else problems.push(`${at}.environment: required when more than one environment is configured`);
  } else if (!envs.has(environment)) {
    problems.push(`${at}.environment: unknown environment '${environment}' (known: ${[...envs.keys()].join(', ')})`);
  }

  let types: Set<string> | undefined;
  if (r.match.type !== undefined) {
    types = new Set((Array.isArray(r.match.type) ? r.match.type : [r.match.type]).map((t) => TYPE_SHORTHANDS[t] ?? t));
    for (const t of types) {
      if (t !== STORAGE_FINALIZED && t !== PUBSUB_PUBLISHED) {
        problems.push(`${at}.match.type: unsupported event type '${t}' (storage, pubsub, ${STORAGE_FINALIZED}, ${PUBSUB_PUBLISHED})`);
      }
    }
  }

  const conditions: FieldCondition[] = [];
  const add = (field: string, spec: MatcherSpec, get: FieldCondition['get'], path: string) => {
    try {
      conditions.push({ field, get, matcher: compileMatcher(spec) });
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message}`);
    }
  };
  const m = r.match;
  if (m.bucket !== undefined) add('bucket', m.bucket, (c) => c.bucket, `${at}.match.bucket`);
  if (m.name !== undefined) add('name', m.name, (c) => c.name, `${at}.match.name`);
  if (m.contentType !== undefined) add('contentType', m.contentType, (c) => c.contentType, `${at}.match.contentType`);
  if (m.topic !== undefined) {
    // A full topic name compares with the full name, a bare id with the id.
    const full = typeof m.topic === 'string' ? m.topic.includes('/') : JSON.stringify(m.topic).includes('/');
    add('topic', m.topic, full ? (c) => c.topic : (c) => c.topicId, `${at}.match.topic`);
  }
  for (const [k, spec] of Object.entries(m.metadata ?? {})) {
    add(`metadata.${k}`, spec, (c) => (c.metadata as Record<string, string> | undefined)?.[k], `${at}.match.metadata.${k}`);
  }
  for (const [k, spec] of Object.entries(m.attributes ?? {})) {
    add(`attributes.${k}`, spec, (c) => (c.attributes as Record<string, string> | undefined)?.[k], `${at}.match.attributes.${k}`);
  }
  for (const [path, spec] of Object.entries(m.json ?? {})) {
    const keys = path.split('.');
    add(`json.${path}`, spec, (c) => dig(c.json, keys), `${at}.match.json.${path}`);
  }

  const dag = compile(r.dag, `${at}.dag`, problems);
  const allowedDags = r.allowedDags ? new Set(r.allowedDags) : undefined;
  if (allowedDags) {
    for (const d of allowedDags) if (!DAG_ID.test(d)) problems.push(`${at}.allowedDags: '${d}' is not a valid Airflow dag_id`);
  }
  if (hasTemplate(r.dag)) {
    if (!allowedDags) problems.push(`${at}.allowedDags: required because dag '${r.dag}' comes from the event`);
  } else {
    if (!DAG_ID.test(r.dag)) problems.push(`${at}.dag: '${r.dag}' is not a valid Airflow dag_id (A-Z a-z 0-9 _ . -, at most 250)`);
    if (allowedDags && !allowedDags.has(r.dag)) problems.push(`${at}.dag: '${r.dag}' is not in allowedDags`);
  }
  const conf = r.conf === undefined ? undefined : compileValue(r.conf, `${at}.conf`, problems);
  if (conf && conf.kind !== 'object' && !(conf.kind === 'template' && conf.template.kind === 'value')) {
    problems.push(`${at}.conf: must be an object (or a single {{ }} expression giving one)`);
  }
  const note = r.note === undefined ? undefined : compile(r.note, `${at}.note`, problems);

  if (problems.length > before || !dag) return undefined;
  return { name: r.name, environment: environment!, types, conditions, dag, allowedDags, conf, note };
}

function compile(source: string, path: string, problems: string[]): Template | undefined {
  try {
    return compileTemplate(source, CONTEXT_ROOTS);
  } catch (err) {
    problems.push(`${path}: ${(err as Error).message}`);
    return undefined;
  }
}

function compileValue(value: unknown, path: string, problems: string[]): ValueTemplate {
  if (typeof value === 'string') {
    const template = compile(value, path, problems);
    return template ? { kind: 'template', template } : { kind: 'constant', value };
  }
  if (Array.isArray(value)) return { kind: 'array', items: value.map((v, i) => compileValue(v, `${path}.${i}`, problems)) };
  if (value !== null && typeof value === 'object') {
    return { kind: 'object', entries: Object.entries(value).map(([k, v]) => [k, compileValue(v, `${path}.${k}`, problems)]) };
  }
  return { kind: 'constant', value };
}

function dig(value: unknown, keys: string[]): unknown {
  let v = value;
  for (const k of keys) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}
