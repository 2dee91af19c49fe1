/**
 * Finding out what an environment is, once per instance:
 * - `composer: projects/P/locations/L/environments/E`: the Composer API's
 *   environments.get (google-auth-library, the function's identity) gives
 *   `config.airflowUri` and the image version (`composer-3-airflow-3.x` = v2);
 * - `api: auto`: the server's version endpoint tells v2 (Airflow 3) from v1;
 * - `api: v1` with routes that send a logical date: the version endpoint
 *   tells Airflow 2.0/2.1 (`execution_date`) from 2.2+ (`logical_date`).
 * A failure is not cached: the event is retried and the next one asks again.
 */
import {apiFor} from './choose-api';
import type {AirflowApi} from './api';
import type {AirflowAuth} from '../auth/types';
import type {ApiName, Environment} from '../config/types';
import {RetryableError} from '../core/errors';
import {httpRequest} from '../core/http';
import {sharedGoogleAuth} from '../google/auth-client';

export const COMPOSER_ENDPOINT_DEFAULT = 'https://composer.googleapis.com';

export interface Discovered {
  url: string;
  api: AirflowApi;
  /** Airflow's version, when the version endpoint or Composer's image told it. */
  version?: string;
}

export function discoverer(
  env: Environment,
  auth: AirflowAuth,
  timeoutMs: number,
  endpoint = COMPOSER_ENDPOINT_DEFAULT,
): () => Promise<Discovered> {
  let done: Discovered | undefined;
  let inflight: Promise<Discovered> | undefined;
  return () => {
    if (done) return Promise.resolve(done);
    inflight ??= (async () => {
      try {
        let url = env.url;
        let api: ApiName | 'auto' = env.api;
        let version: string | undefined;
        if (env.composer) {
          const c = await composerEnvironment(
            env.composer,
            endpoint,
            timeoutMs,
          );
          url = c.url;
          version = c.version;
          if (api === 'auto') api = c.api;
        }
        if (api === 'auto' || (api === 'v1' && version === undefined)) {
          const probed = await probeApi(url, auth, timeoutMs, api);
          api = probed.api;
          version = probed.version;
        }
        done = {
          url,
          api: apiFor(api, version),
          ...(version !== undefined && {version}),
        };
        return done;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };
}

/** Airflow 3 serves /api/v2/version; Airflow 2 serves /api/v1/version and 404s the other. */
async function probeApi(
  url: string,
  auth: AirflowAuth,
  timeoutMs: number,
  only: 'auto' | ApiName,
): Promise<{api: ApiName; version?: string}> {
  for (const api of only === 'auto'
    ? (['v2', 'v1'] as const)
    : (['v1'] as const)) {
    const headers = await auth.headers(); // a credential failure says so itself
    let status: number;
    let body: string;
    try {
      ({status, body} = await httpRequest(`${url}/api/${api}/version`, {
        headers: {...headers, Accept: 'application/json'},
        timeoutMs,
      }));
    } catch (err) {
      throw new RetryableError(
        `cannot reach ${url} to detect its API version: ${(err as Error).message}`,
        err,
      );
    }
    if (status === 200) return {api, version: versionIn(body)};
    if (status !== 404 && status !== 405)
      throw new RetryableError(
        `GET ${url}/api/${api}/version answered ${status}; cannot detect the API version`,
      );
  }
  throw new RetryableError(
    `${url} serves neither /api/v2/version nor /api/v1/version: set api: v1, v2 or experimental`,
  );
}

function versionIn(body: string): string | undefined {
  try {
    const v = (JSON.parse(body) as {version?: unknown}).version;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

async function composerEnvironment(
  name: string,
  endpoint: string,
  timeoutMs: number,
): Promise<{url: string; api: ApiName; version?: string}> {
  let data: {
    config?: {airflowUri?: string; softwareConfig?: {imageVersion?: string}};
  };
  try {
    // ADC through google-auth-library, shared with auth mode `google` off Cloud Run (on Cloud Run that mode
    // reads the metadata server itself, so a Composer-named environment costs one more token at cold start).
    const client = await (await sharedGoogleAuth()).getClient();
    const res = await client.request<typeof data>({
      url: `${endpoint.replace(/\/+$/, '')}/v1/${name}`,
      timeout: timeoutMs,
    });
    data = res.data;
  } catch (err) {
    throw new RetryableError(
      `Composer API environments.get ${name} failed: ${(err as Error).message}`,
      err,
    );
  }
  const url = data.config?.airflowUri;
  if (!url)
    throw new RetryableError(
      `Composer environment ${name} has no config.airflowUri (is it still being created?)`,
    );
  const image = data.config?.softwareConfig?.imageVersion ?? '';
  // composer-3-airflow-3.1.0-build.1, composer-2.9.7-airflow-2.10.2: the Airflow major is after "airflow-".
  const version = /airflow-(\d+\.\d+(?:\.\d+)?)/.exec(image)?.[1];
  const airflowMajor = /airflow-(\d+)/.exec(image)?.[1];
  return {
    url: url.replace(/\/+$/, ''),
    api: airflowMajor === '3' ? 'v2' : 'v1',
    ...(version !== undefined && {version}),
  };
}
