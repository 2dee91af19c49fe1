/**
 * Compiling a parsed config: shape from schema.ts, then meaning (references
 * between environments and routes, matchers, templates, transport rules),
 * every problem reported with its path, into the types of types.ts.
 */
import {ConfigError} from '../core/errors';

import {INVALID, run} from './check';
import {salvage} from './salvage';
import {
  ConfigSchema,
  type AuthConfig,
  type RawConfig,
  type RawEnvironment,
} from './schema';
import {parseGsUri} from './gs-uri';
import {
  compileRoute,
  type CompileOptions,
  type SalvagedRoute,
} from './compile-route';
import type {Environment, LauncherConfig, Route} from './types';

/** A config as far as its shape is right (salvage.ts): what is malformed is absent, or undefined in maps and lists. */
interface SalvagedConfig {
  environments?: Record<string, RawEnvironment | undefined>;
  routes?: (SalvagedRoute | undefined)[];
  requestTimeout?: number;
  functionTimeout?: number;
  retry?: Partial<RawConfig['retry']>;
}

/** Validates and compiles a parsed config; throws ConfigError listing every problem. */
export function compileConfig(
  raw: unknown,
  origin: string,
  options: CompileOptions = {},
): LauncherConfig {
  const parsed = run(ConfigSchema, raw);
  const problems = parsed.ok ? [] : [...parsed.problems];
  // Meaning is checked on every well-formed part even when another part is
  // malformed, so one pass lists every problem.
  const salvaged = parsed.ok ? parsed.value : salvage(ConfigSchema, raw);
  if (salvaged === INVALID) throw new ConfigError(problems, origin);
  const {environments, routes} = checkMeaning(
    salvaged as SalvagedConfig,
    problems,
    options,
  );
  if (!parsed.ok || problems.length) throw new ConfigError(problems, origin);
  const cfg: RawConfig = parsed.value;
  return {
    environments,
    routes,
    maxEventAgeMs: cfg.maxEventAge,
    requestTimeoutMs: cfg.requestTimeout,
    functionTimeoutMs: cfg.functionTimeout,
    maxConfBytes: cfg.maxConfBytes,
    retry: {
      attempts: cfg.retry.attempts,
      initialBackoffMs: cfg.retry.initialBackoff,
      maxBackoffMs: cfg.retry.maxBackoff,
    },
    unmatched: unmatchedPolicy(cfg.unmatched),
    ...(cfg.deadLetters && {deadLetters: parseGsUri(cfg.deadLetters, true)}),
    subscriptionTopics: new Map(Object.entries(cfg.subscriptionTopics ?? {})),
    origin,
  };
}

/** References, transport rules, timeouts and routes: the rules that span keys. */
function checkMeaning(
  cfg: SalvagedConfig,
  problems: string[],
  options: CompileOptions,
): {environments: Map<string, Environment>; routes: Route[]} {
  const environments = new Map<string, Environment>();
  for (const [name, e] of Object.entries(cfg.environments ?? {})) {
    // A malformed environment still counts as a name routes may refer to.
    environments.set(name, {
      name,
      url: (e?.url ?? '').replace(/\/+$/, ''),
      composer: e?.composer,
      api: e?.api ?? 'auto',
      auth: e?.auth ?? {mode: 'google', scopes: []},
    });
    if (!e) continue;
    if (e.url) problems.push(...transportProblems(name, e.url, e.auth));
    else if (e.auth.mode === 'none')
      problems.push(
        `environments.${name}.auth: mode 'none' is only allowed for loopback URLs; use google (Composer's default) or iap`,
      );
  }
  if (cfg.environments && environments.size === 0)
    problems.push(
      'environments: at least one Airflow environment is required; add one, e.g. environments: {prod: {url: https://AIRFLOW_URI}}',
    );
  const {requestTimeout, functionTimeout} = cfg;
  if (
    requestTimeout !== undefined &&
    functionTimeout !== undefined &&
    requestTimeout >= functionTimeout
  ) {
    problems.push(
      `requestTimeout: ${requestTimeout}ms must be below functionTimeout ${functionTimeout}ms; lower requestTimeout, or raise functionTimeout together with gcloud --timeout`,
    );
  }
  const {initialBackoff, maxBackoff} = cfg.retry ?? {};
  if (
    initialBackoff !== undefined &&
    maxBackoff !== undefined &&
    maxBackoff < initialBackoff
  ) {
    problems.push(
      `retry.maxBackoff: ${maxBackoff}ms is below retry.initialBackoff ${initialBackoff}ms, so backoff can never grow; raise maxBackoff to at least initialBackoff, or lower initialBackoff`,
    );
  }
  const routes = compileRoutes(
    cfg.routes ?? [],
    environments,
    problems,
    options,
  );
  return {environments, routes};
}

/**
 * Storage buckets legitimately hold objects no route wants: acked. A Pub/Sub
 * topic is addressed to this function: a message nothing matched is a
 * mistake to keep, so it is dead-lettered.
 */
function unmatchedPolicy(
  raw: RawConfig['unmatched'],
): LauncherConfig['unmatched'] {
  const defaults = {storage: 'ack', pubsub: 'deadLetter'} as const;
  if (raw === undefined) return {...defaults};
  if (typeof raw === 'string') return {storage: raw, pubsub: raw};
  return {
    storage: raw.storage ?? defaults.storage,
    pubsub: raw.pubsub ?? defaults.pubsub,
  };
}

function compileRoutes(
  raw: (SalvagedRoute | undefined)[],
  environments: Map<string, Environment>,
  problems: string[],
  options: CompileOptions,
): Route[] {
  const seen = new Set<string>();
  const routes: Route[] = [];
  raw.forEach((r, i) => {
    if (!r) return;
    const at = `routes.${i}`;
    if (r.name !== undefined) {
      if (seen.has(r.name))
        problems.push(
          `${at}.name: duplicate route name '${r.name}'; rename one (the name is part of each dag_run_id)`,
        );
      seen.add(r.name);
    }
    const route = compileRoute(r, at, environments, problems, options);
    if (route) routes.push(route);
  });
  return routes;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}

/** The parts of an environment URL that can never work: Airflow's API paths are appended to it. */
function urlExtras(url: string): string[] {
  const u = new URL(url);
  const extras: string[] = [];
  if (u.username || u.password) extras.push('user info (user:password@)');
  if (u.search) extras.push('query (?…)');
  if (u.hash) extras.push('fragment (#…)');
  return extras;
}

/** Credentials never travel in clear text, and unauthenticated targets must be local. */
function transportProblems(
  name: string,
  url: string,
  auth: AuthConfig,
): string[] {
  const at = `environments.${name}`;
  const extras = urlExtras(url);
  // Never echo the URL here: its user info may hold a password.
  if (extras.length)
    return [
      `${at}.url: remove the ${extras.join(', ')}; the url is the Airflow web server's base (a path prefix behind a reverse proxy is fine, e.g. https://HOST/airflow), and credentials go in auth (e.g. auth: {mode: basic, username: USER, passwordEnv: VAR})`,
    ];
  const loopback = isLoopback(url);
  if (auth.mode === 'none' && !loopback)
    return [
      `${at}.auth: mode 'none' is only allowed for loopback URLs (got ${url}); use google, iap, basic or airflow-jwt`,
    ];
  if (url.startsWith('http://') && !loopback)
    return [
      `${at}.url: plain http:// is refused for non-loopback Airflow URLs; use https://`,
    ];
  return [];
}
