/**
 * Loading and compiling the configuration, once per instance at cold start.
 *
 * Sources, in order:
 * 1. `LAUNCHER_CONFIG`: a YAML or JSON file (relative to the function's source dir),
 *    or a `gs://bucket/object` (see config-gcs.ts: loaded at cold start, re-checked);
 * 2. quick mode: `AIRFLOW_URL` + `AIRFLOW_DAG_ID` (+ `AIRFLOW_API`, default v2),
 *    one route that triggers that DAG for every Storage or Pub/Sub event;
 * 3. `launcher.yaml` / `launcher.json` in the working directory.
 *
 * Every problem is reported with its path, and a bad config refuses to start.
 */
import { readFileSync, existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { ConfigError } from './errors';
import { compileMatcher, type Matcher, type MatcherSpec } from './matcher';
import { run } from './check';
import { ConfigSchema, RouteSchema, type AuthConfig, type RawConfig, type RawRoute } from './schema';
import { compileTemplate, hasTemplate, type Template } from './template';
import { PUBSUB_PUBLISHED, STORAGE_FINALIZED } from './event';
import { CONTEXT_ROOTS } from './context';
import type { RetryPolicy } from './retry';

export type ApiName = 'v1' | 'v2' | 'experimental';

export interface Environment {
  name: string;
  /** '' until resolved when the environment is named by `composer`. */
  url: string;
  composer?: string;
  api: ApiName | 'auto';
  auth: AuthConfig;
}

export interface FieldCondition {
  /** What the condition reads, for explanations: `name`, `metadata.source`, `json.order.id`. */
  field: string;
  get: (ctx: Record<string, unknown>) => unknown;
  matcher: Matcher;
}

export type ValueTemplate =
  | { kind: 'constant'; value: unknown }
  | { kind: 'template'; template: Template }
  | { kind: 'array'; items: ValueTemplate[] }
  | { kind: 'object'; entries: [string, ValueTemplate][] };

export interface Route {
  name: string;
  environment: string;
  types?: ReadonlySet<string>;
  conditions: FieldCondition[];
  dag: Template;
  allowedDags?: ReadonlySet<string>;
  /** undefined: the default conf for the event kind. */
  conf?: ValueTemplate;
  note?: Template;
}

export interface LauncherConfig {
  environments: Map<string, Environment>;
  routes: Route[];
  maxEventAgeMs: number;
  requestTimeoutMs: number;
  functionTimeoutMs: number;
  maxConfBytes: number;
  retry: RetryPolicy;
  /** gs://bucket/prefix/ for dead-letter records, when configured. */
  deadLetters?: { bucket: string; prefix: string };
  origin: string;
}

/** Airflow's dag_id rule (airflow.utils.helpers.KEY_REGEX), 250 characters at most. */
export const DAG_ID = /^[A-Za-z0-9_.-]{1,250}$/;

const TYPE_SHORTHANDS: Record<string, string> = { storage: STORAGE_FINALIZED, pubsub: PUBSUB_PUBLISHED };

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LauncherConfig {
  if (env.LAUNCHER_CONFIG) return loadConfigFile(resolve(cwd, env.LAUNCHER_CONFIG));
  if (env.AIRFLOW_URL || env.AIRFLOW_DAG_ID) return quickConfig(env);
  for (const name of ['launcher.yaml', 'launcher.yml', 'launcher.json']) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return loadConfigFile(path);
  }
  throw new ConfigError(
    ['no configuration: set LAUNCHER_CONFIG to a YAML/JSON file, or AIRFLOW_URL and AIRFLOW_DAG_ID for a single route'],
    'environment',
  );
}

export function loadConfigFile(path: string): LauncherConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read ${path}: ${(err as Error).message}`], path);
  }
  return parseConfigText(text, path);
}

/** `format` defaults from the origin's extension: `.json` is JSON, anything else YAML. */
export function parseConfigText(text: string, origin: string, format: 'json' | 'yaml' = extname(origin) === '.json' ? 'json' : 'yaml'): LauncherConfig {
  let raw: unknown;
  try {
    // JSON configs never load the YAML parser (cold start).
    raw = format === 'json' ? JSON.parse(text) : (require('yaml') as typeof import('yaml')).parse(text);
  } catch (err) {
    throw new ConfigError([`not valid ${format === 'json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`], origin);
  }
  return compileConfig(raw, origin);
}

function quickConfig(env: NodeJS.ProcessEnv): LauncherConfig {
  const problems: string[] = [];
  if (!env.AIRFLOW_URL) problems.push('AIRFLOW_URL: required with AIRFLOW_DAG_ID');
  if (!env.AIRFLOW_DAG_ID) problems.push('AIRFLOW_DAG_ID: required with AIRFLOW_URL');
  if (problems.length) throw new ConfigError(problems, 'environment');
  return compileConfig(
    {
      environments: { default: { url: env.AIRFLOW_URL, api: env.AIRFLOW_API ?? 'auto', auth: quickAuth(env) } },
      routes: [{ name: 'default', match: { type: ['storage', 'pubsub'] }, dag: env.AIRFLOW_DAG_ID }],
      ...(env.LAUNCHER_MAX_EVENT_AGE ? { maxEventAge: env.LAUNCHER_MAX_EVENT_AGE } : {}),
      ...(env.LAUNCHER_DEAD_LETTERS ? { deadLetters: env.LAUNCHER_DEAD_LETTERS } : {}),
    },
    'environment (AIRFLOW_URL, AIRFLOW_DAG_ID)',
  );
}

function quickAuth(env: NodeJS.ProcessEnv): unknown {
  const mode = env.AIRFLOW_AUTH ?? 'google';
  if (mode === 'basic' || mode === 'airflow-jwt') return { mode, username: env.AIRFLOW_USERNAME, passwordEnv: 'AIRFLOW_PASSWORD' };
  if (mode === 'iap') return { mode, audience: env.AIRFLOW_IAP_AUDIENCE };
  return mode;
}

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

/** gs://bucket/path -> { bucket, prefix }; a prefix gets a trailing slash when `folder`. */
export function parseGsUri(uri: string, folder = false): { bucket: string; prefix: string } {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new ConfigError([`expected gs://bucket/path, got ${uri}`], uri);
  let prefix = m[2] ?? '';
  if (folder && prefix && !prefix.endsWith('/')) prefix += '/';
  return { bucket: m[1]!, prefix };
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
