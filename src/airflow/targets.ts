/**
 * Compiling a config's environments into Airflow targets (URL, API variant,
 * auth): above the auth and API modules, below the function's cold start.
 */
import {apiFor} from './choose-api';
import {createAuth} from '../auth/create';
import {discoverer} from './discover';
import type {Environment, LauncherConfig} from '../config/types';
import type {AirflowTarget} from './trigger';

export function buildTargets(
  config: LauncherConfig,
  env: NodeJS.ProcessEnv = process.env,
): Map<string, AirflowTarget> {
  return new TargetPool(env).targetsFor(config);
}

/**
 * Airflow targets by environment. A reloaded config gets the same target
 * (and so the same cached tokens and discovery) for every environment whose
 * definition did not change.
 */
export class TargetPool {
  private readonly credentials = new Map();
  private built = new Map<string, {key: string; target: AirflowTarget}>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  targetsFor(config: LauncherConfig): Map<string, AirflowTarget> {
    const targets = new Map<string, AirflowTarget>();
    const built = new Map<string, {key: string; target: AirflowTarget}>();
    for (const e of config.environments.values()) {
      const key = JSON.stringify([
        e,
        config.requestTimeoutMs,
        needsVersion(config, e),
      ]);
      const previous = this.built.get(e.name);
      const target =
        previous?.key === key
          ? previous.target
          : this.build(e, config.requestTimeoutMs, needsVersion(config, e));
      built.set(e.name, {key, target});
      targets.set(e.name, target);
    }
    this.built = built;
    return targets;
  }

  private build(
    e: Environment,
    timeoutMs: number,
    version: boolean,
  ): AirflowTarget {
    const auth = createAuth(e, this.credentials, {env: this.env, timeoutMs});
    const fixed = e.api !== 'auto' && !e.composer && !version;
    const target: AirflowTarget = {
      environment: {...e},
      api: apiFor(e.api === 'auto' ? 'v2' : e.api),
      auth,
      timeoutMs,
      ...(this.env.COMPOSER_API_ENDPOINT && {
        composerEndpoint: this.env.COMPOSER_API_ENDPOINT,
      }),
    };
    if (!fixed) {
      target.discover = discoverer(
        e,
        auth,
        timeoutMs,
        this.env.COMPOSER_API_ENDPOINT,
      );
      // Start at cold start; an error here is retried by the first event that needs it.
      target.discover().catch(() => undefined);
    } else {
      auth.warm?.();
    }
    return target;
  }
}

/**
 * A v1 environment whose routes send a logical date asks its version once:
 * Airflow before 2.2 calls it execution_date (see choose-api.ts). One with
 * asset routes too: Airflow before 2.9 cannot create asset events
 * (asset-events.ts says so instead of retrying).
 */
function needsVersion(config: LauncherConfig, e: Environment): boolean {
  return (
    e.api === 'v1' &&
    !e.composer &&
    config.routes.some(
      r => r.environment === e.name && (r.logicalDate || r.asset),
    )
  );
}
