/**
 * Loading the configuration, once per instance at cold start.
 *
 * Sources, in order:
 * 1. `LAUNCHER_CONFIG`: a YAML or JSON file (relative to the function's source dir),
 *    or a `gs://bucket/object` (see gcs-source.ts: loaded at cold start, re-checked);
 * 2. quick mode: `AIRFLOW_URL` + `AIRFLOW_DAG_ID` (+ `AIRFLOW_API`, default v2),
 *    one route that triggers that DAG for every Storage or Pub/Sub event;
 * 3. `launcher.yaml` / `launcher.json` in the working directory.
 *
 * Every problem is reported with its path, and a bad config refuses to start.
 */
import {readFileSync, existsSync} from 'node:fs';
import {extname, resolve} from 'node:path';
import {ConfigError} from '../core/errors';
import {compileConfig} from './compile';
import type {CompileOptions} from './compile-match';
import type {LauncherConfig} from './types';

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): LauncherConfig {
  if (env.LAUNCHER_CONFIG)
    return loadConfigFile(resolve(cwd, env.LAUNCHER_CONFIG));
  if (env.AIRFLOW_URL || env.AIRFLOW_DAG_ID) return quickConfig(env);
  for (const name of ['launcher.yaml', 'launcher.yml', 'launcher.json']) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return loadConfigFile(path);
  }
  throw new ConfigError(
    [
      'no configuration: set LAUNCHER_CONFIG to a YAML/JSON file, or AIRFLOW_URL and AIRFLOW_DAG_ID for a single route',
    ],
    'environment',
  );
}

export function loadConfigFile(
  path: string,
  options: CompileOptions = {},
): LauncherConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      [`cannot read ${path}: ${(err as Error).message}`],
      path,
    );
  }
  return parseConfigText(text, path, undefined, options);
}

/** `format` defaults from the origin's extension: `.json` is JSON, anything else YAML. */
export function parseConfigText(
  text: string,
  origin: string,
  format: 'json' | 'yaml' = extname(origin) === '.json' ? 'json' : 'yaml',
  options: CompileOptions = {},
): LauncherConfig {
  let raw: unknown;
  try {
    // JSON configs never load the YAML parser (cold start).
    raw =
      format === 'json'
        ? JSON.parse(text)
        : (require('yaml') as typeof import('yaml')).parse(text);
  } catch (err) {
    throw new ConfigError(
      [
        `not valid ${format === 'json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
      ],
      origin,
    );
  }
  return compileConfig(raw, origin, options);
}

function quickConfig(env: NodeJS.ProcessEnv): LauncherConfig {
  const problems: string[] = [];
  if (!env.AIRFLOW_URL)
    problems.push('AIRFLOW_URL: required with AIRFLOW_DAG_ID');
  if (!env.AIRFLOW_DAG_ID)
    problems.push('AIRFLOW_DAG_ID: required with AIRFLOW_URL');
  if (problems.length) throw new ConfigError(problems, 'environment');
  return compileConfig(
    {
      environments: {
        default: {
          url: env.AIRFLOW_URL,
          api: env.AIRFLOW_API ?? 'auto',
          auth: quickAuth(env),
        },
      },
      routes: [
        {
          name: 'default',
          match: {type: ['storage', 'pubsub']},
          dag: env.AIRFLOW_DAG_ID,
        },
      ],
      ...(env.LAUNCHER_MAX_EVENT_AGE
        ? {maxEventAge: env.LAUNCHER_MAX_EVENT_AGE}
        : {}),
      ...(env.LAUNCHER_DEAD_LETTERS
        ? {deadLetters: env.LAUNCHER_DEAD_LETTERS}
        : {}),
    },
    'environment (AIRFLOW_URL, AIRFLOW_DAG_ID)',
  );
}

function quickAuth(env: NodeJS.ProcessEnv): unknown {
  const mode = env.AIRFLOW_AUTH ?? 'google';
  if (mode === 'basic' || mode === 'airflow-jwt')
    return {
      mode,
      username: env.AIRFLOW_USERNAME,
      passwordEnv: 'AIRFLOW_PASSWORD',
    };
  if (mode === 'iap') return {mode, audience: env.AIRFLOW_IAP_AUDIENCE};
  return mode;
}
