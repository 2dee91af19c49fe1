/**
 * Cold start: load and compile the config (a bad one refuses to start), build
 * one Airflow target per environment, and the handler over them.
 */
import { apiFor } from './api';
import { createAuth } from './auth';
import { loadConfig, type LauncherConfig } from './config';
import { logDeadLetters, type DeadLetterSink } from './deadletter';
import { GcsDeadLetterSink } from './deadletter-gcs';
import { PausedCache } from './paused';
import { discoverer } from './discover';
import { createHandler } from './handler';
import { createLogger, type Logger } from './logger';
import type { AirflowTarget } from './trigger';

export function buildTargets(config: LauncherConfig, env: NodeJS.ProcessEnv = process.env): Map<string, AirflowTarget> {
  const targets = new Map<string, AirflowTarget>();
  const credentials = new Map();
  for (const e of config.environments.values()) {
    const auth = createAuth(e, credentials, { env, timeoutMs: config.requestTimeoutMs });
    const fixed = e.api !== 'auto' && !e.composer;
    const target: AirflowTarget = { environment: { ...e }, api: apiFor(e.api === 'auto' ? 'v2' : e.api), auth, timeoutMs: config.requestTimeoutMs };
    if (!fixed) {
      target.discover = discoverer(e, auth, config.requestTimeoutMs, env.COMPOSER_API_ENDPOINT);
      // Start at cold start; an error here is retried by the first event that needs it.
      target.discover().catch(() => undefined);
    }
    targets.set(e.name, target);
  }
  return targets;
}

export function createLauncher(env: NodeJS.ProcessEnv = process.env, logger: Logger = createLogger(undefined, env)) {
  let config: LauncherConfig;
  let targets: Map<string, AirflowTarget>;
  try {
    config = loadConfig(env);
    targets = buildTargets(config, env);
  } catch (err) {
    logger.fatal({ err: { message: (err as Error).message } }, 'configuration refused; the function will not start');
    throw err;
  }
  logger.info(
    {
      configOrigin: config.origin,
      routes: config.routes.length,
      environments: [...config.environments.keys()],
      deadLetters: config.deadLetters ? `gs://${config.deadLetters.bucket}/${config.deadLetters.prefix}` : 'log',
    },
    'dag-launcher ready',
  );
  return createHandler({ config, logger, targets, deadLetters: deadLetterSink(config), paused: new PausedCache() });
}

export function deadLetterSink(config: LauncherConfig): DeadLetterSink {
  return config.deadLetters ? new GcsDeadLetterSink(config.deadLetters.bucket, config.deadLetters.prefix) : logDeadLetters;
}
