/**
 * trigger: the one step that talks to Airflow. Returns what happened (a
 * response or a transport failure) and never decides what it means; that is
 * `outcome`'s job.
 */
import type { AirflowApi } from './api';
import type { AirflowAuth } from './auth';
import type { Environment } from './config';
import type { RunRequest } from './render';
import { parseRetryAfter } from './retry';
import { errorCode, httpRequest, HttpTimeoutError } from './http';

export type TriggerResult =
  | { kind: 'response'; status: number; body: string; latencyMs: number; retryAfterMs?: number }
  | { kind: 'failure'; failure: 'timeout' | 'network' | 'credentials' | 'discovery'; message: string; latencyMs: number; code?: string };

export { BODY_EXCERPT_MAX } from './http';

export interface AirflowTarget {
  environment: Environment;
  /** Set at build time, or by `discover` for `api: auto` / Composer-by-name environments. */
  api: AirflowApi;
  auth: AirflowAuth;
  timeoutMs: number;
  /** Resolves the URL and API variant once per instance (see discover.ts). */
  discover?: () => Promise<{ url: string; api: AirflowApi }>;
}

export async function triggerDagRun(target: AirflowTarget, run: RunRequest): Promise<TriggerResult> {
  const started = performance.now();
  if (target.discover) {
    try {
      const found = await target.discover();
      target.api = found.api;
      target.environment.url = found.url;
    } catch (err) {
      return { kind: 'failure', failure: 'discovery', message: (err as Error).message, latencyMs: since(started) };
    }
  }
  const body = JSON.stringify(target.api.triggerBody(run));
  const url = target.environment.url + target.api.triggerPath(run.dagId);
  const first = await send(target, url, body, started);
  // A rejected credential may just have expired early: one resend with a fresh one, when the auth mode says it may help.
  return first.resend ? (await send(target, url, body, started)).result : first.result;
}

async function send(
  target: AirflowTarget,
  url: string,
  body: string,
  started: number,
): Promise<{ result: TriggerResult; resend?: boolean }> {
  let headers = target.auth.ready?.();
  if (!headers) {
    try {
      headers = await target.auth.headers();
    } catch (err) {
      return { result: { kind: 'failure', failure: 'credentials', message: (err as Error).message, latencyMs: since(started) } };
    }
  }
  try {
    const res = await httpRequest(url, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json', Accept: 'application/json' },
      body,
      timeoutMs: target.timeoutMs,
    });
    const resend = res.status === 401 && (target.auth.onUnauthorized?.(headers) ?? false);
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return { result: { kind: 'response', status: res.status, body: res.body, latencyMs: since(started), ...(retryAfterMs !== undefined && { retryAfterMs }) }, resend };
  } catch (err) {
    const timeout = err instanceof HttpTimeoutError;
    const code = timeout ? undefined : errorCode(err);
    return {
      result: {
        kind: 'failure',
        failure: timeout ? 'timeout' : 'network',
        message: timeout ? `no response within ${target.timeoutMs}ms` : code && !(err as Error).message.includes(code) ? `${code}: ${(err as Error).message}` : (err as Error).message,
        latencyMs: since(started),
        ...(code !== undefined && { code }),
      },
    };
  }
}

function since(started: number): number {
  return Math.round(performance.now() - started);
}
