/**
 * Cold start: load and compile the config (a bad one refuses to start), build
 * one Airflow target per environment, and the handler over them.
 */
import {loadConfig} from './config/load';
import type {LauncherConfig} from './config/types';
import {
  ConfigUnavailableError,
  GcsConfigSource,
  refreshIntervalMs,
} from './config/gcs-source';
import {logDeadLetters, type DeadLetterSink} from './outcomes/dead-letters';
import {GcsDeadLetterSink} from './outcomes/dead-letters-gcs';
import {sharedStorage} from './google/storage';
import {PausedCache} from './airflow/paused';
import {buildTargets, TargetPool} from './airflow/targets';

import {createHandler, RedeliverError} from './handler';
import {deliveredEventId} from './events/event';
import {createLogger, type Logger} from './logging/logger';
import type {AirflowTarget} from './airflow/trigger';

export type Handler = (delivered: unknown) => Promise<void>;

export function createLauncher(
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = createLogger(undefined, env),
): Handler {
  if (env.LAUNCHER_CONFIG?.startsWith('gs://'))
    return createGcsLauncher(env.LAUNCHER_CONFIG, env, logger);
  let config: LauncherConfig;
  let targets: Map<string, AirflowTarget>;
  try {
    config = loadConfig(env);
    targets = buildTargets(config, env);
  } catch (err) {
    refuse(logger, err);
  }
  logReady(logger, config);
  return createHandler({
    config,
    logger,
    targets,
    deadLetters: deadLetterSink(config),
    paused: new PausedCache(),
  });
}

/**
 * LAUNCHER_CONFIG=gs://bucket/object: the first load starts at cold start;
 * each event runs on the config in force when it arrives, and a reloaded
 * config gets a new handler over the same targets where they did not change.
 */
function createGcsLauncher(
  uri: string,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Handler {
  let source: GcsConfigSource;
  try {
    source = new GcsConfigSource(uri, {
      storage: () => sharedStorage(env),
      logger,
      refreshMs: refreshIntervalMs(env.LAUNCHER_CONFIG_REFRESH),
    });
  } catch (err) {
    refuse(logger, err);
  }
  void source.check();
  const pool = new TargetPool(env);
  const paused = new PausedCache();
  let active: {config: LauncherConfig; handle: Handler} | undefined;
  return async function handleWithLiveConfig(
    delivered: unknown,
  ): Promise<void> {
    let config: LauncherConfig;
    try {
      config = await source.current();
    } catch (err) {
      if (!(err instanceof ConfigUnavailableError)) throw err;
      logger.error(
        {
          eventId: deliveredEventId(delivered),
          outcome: 'retry',
          reason: err.message,
        },
        `retry: ${err.message}`,
      );
      throw new RedeliverError(err.message);
    }
    if (active?.config !== config) {
      let targets: Map<string, AirflowTarget>;
      try {
        targets = pool.targetsFor(config);
      } catch (err) {
        // Only a credential problem (a passwordEnv not set) gets here; the event waits for a fix.
        logger.error(
          {
            outcome: 'retry',
            reason: (err as Error).message,
            configOrigin: config.origin,
          },
          `retry: ${(err as Error).message}`,
        );
        throw new RedeliverError((err as Error).message);
      }
      if (!active) logReady(logger, config);
      active = {
        config,
        handle: createHandler({
          config,
          logger,
          targets,
          deadLetters: deadLetterSink(config),
          paused,
        }),
      };
    }
    return active.handle(delivered);
  };
}

function refuse(logger: Logger, err: unknown): never {
  logger.fatal(
    {err: {message: (err as Error).message}},
    'configuration refused; the function will not start',
  );
  throw err;
}

function logReady(logger: Logger, config: LauncherConfig): void {
  logger.info(
    {
      configOrigin: config.origin,
      routes: config.routes.length,
      environments: [...config.environments.keys()],
      deadLetters: config.deadLetters
        ? `gs://${config.deadLetters.bucket}/${config.deadLetters.prefix}`
        : 'log',
    },
    'dag-launcher ready',
  );
}

export function deadLetterSink(config: LauncherConfig): DeadLetterSink {
  return config.deadLetters
    ? new GcsDeadLetterSink(
        config.deadLetters.bucket,
        config.deadLetters.prefix,
      )
    : logDeadLetters;
}
