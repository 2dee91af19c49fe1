/**
 * Compiling a parsed config: shape from schema.ts, then meaning (references
 * between environments and routes, matchers, templates, transport rules),
 * every problem reported with its path, into the types of types.ts.
 */
import {ConfigError} from '../core/errors';

import {run} from './check';
import {
  ConfigSchema,
  RouteSchema,
  type AuthConfig,
  type RawConfig,
  type RawRoute,
} from './schema';
import {parseGsUri} from './gs-uri';
import {compileRoute} from './compile-route';
import type {Environment, LauncherConfig, Route} from './types';

/** Validates and compiles a parsed config; throws ConfigError listing every problem. */
export function compileConfig(raw: unknown, origin: string): LauncherConfig {
  const parsed = run(ConfigSchema, raw);
  if (!parsed.ok) {
    // Report the shape problems and, for the routes whose shape is fine, their meaning problems too.
    throw new ConfigError(
      [...parsed.problems, ...semanticProblems(raw)],
      origin,
    );
  }
  const cfg: RawConfig = parsed.value;
  const problems: string[] = [];

  const environments = new Map<string, Environment>();
  for (const [name, e] of Object.entries(cfg.environments)) {
    environments.set(name, {
      name,
      url: (e.url ?? '').replace(/\/+$/, ''),
      composer: e.composer,
      api: e.api,
      auth: e.auth,
    });
    if (e.url) problems.push(...transportProblems(name, e.url, e.auth));
    else if (e.auth.mode === 'none')
      problems.push(
        `environments.${name}.auth: mode 'none' is only allowed for loopback URLs`,
      );
  }
  if (environments.size === 0)
    problems.push('environments: at least one Airflow environment is required');
  if (cfg.requestTimeout >= cfg.functionTimeout) {
    problems.push(
      `requestTimeout: ${cfg.requestTimeout}ms must be below functionTimeout ${cfg.functionTimeout}ms`,
    );
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
    retry: {
      attempts: cfg.retry.attempts,
      initialBackoffMs: cfg.retry.initialBackoff,
      maxBackoffMs: cfg.retry.maxBackoff,
    },
    unmatched: unmatchedPolicy(cfg.unmatched),
    ...(cfg.deadLetters && {deadLetters: parseGsUri(cfg.deadLetters, true)}),
    origin,
  };
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
  raw: (RawRoute | undefined)[],
  environments: Map<string, Environment>,
  problems: string[],
): Route[] {
  const seen = new Set<string>();
  const routes: Route[] = [];
  raw.forEach((r, i) => {
    if (!r) return;
    const at = `routes.${i}`;
    if (seen.has(r.name))
      problems.push(`${at}.name: duplicate route name '${r.name}'`);
    seen.add(r.name);
    const route = compileRoute(r, at, environments, problems);
    if (route) routes.push(route);
  });
  return routes;
}

function semanticProblems(raw: unknown): string[] {
  if (!raw || typeof raw !== 'object') return [];
  const {environments, routes} = raw as {
    environments?: unknown;
    routes?: unknown;
  };
  if (!Array.isArray(routes)) return [];
  const envs = new Map<string, Environment>();
  if (environments && typeof environments === 'object') {
    for (const name of Object.keys(environments))
      envs.set(name, {
        name,
        url: '',
        api: 'v2',
        auth: {mode: 'google', scopes: []},
      });
  }
  const problems: string[] = [];
  compileRoutes(
    routes.map(r => {
      const p = run(RouteSchema, r);
      return p.ok ? p.value : undefined;
    }),
    envs,
    problems,
  );
  return problems;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}

/** Credentials never travel in clear text, and unauthenticated targets must be local. */
function transportProblems(
  name: string,
  url: string,
  auth: AuthConfig,
): string[] {
  const at = `environments.${name}`;
  const loopback = isLoopback(url);
  if (auth.mode === 'none' && !loopback)
    return [
      `${at}.auth: mode 'none' is only allowed for loopback URLs (got ${url})`,
    ];
  if (url.startsWith('http://') && !loopback)
    return [
      `${at}.url: plain http:// is refused for non-loopback Airflow URLs; use https://`,
    ];
  return [];
}
