/**
 * trigger: the one step that talks to Airflow. Returns what happened (a
 * response or a transport failure) and never decides what it means; that is
 * `outcome`'s job.
 */
import type {AirflowApi} from './api';
import type {AirflowAuth} from '../auth/types';
import type {Environment} from '../config/types';
import type {DagRunRequest} from '../routing/render';
import {parseRetryAfter} from '../core/http';
import {errorCode, httpRequest, HttpTimeoutError} from '../core/http';
import {scrubServerText, serverExcerpt} from '../logging/secrets';

export type TriggerResult =
  | {
      kind: 'response';
      status: number;
      body: string;
      latencyMs: number;
      retryAfterMs?: number;
    }
  | {
      kind: 'failure';
      /** `unsupported`: the launcher cannot send this to that Airflow (asset-events.ts); never retried. */
      failure:
        'timeout' | 'network' | 'credentials' | 'discovery' | 'unsupported';
      message: string;
      latencyMs: number;
      code?: string;
    };

export interface AirflowTarget {
  environment: Environment;
  /** Set at build time, or by `discover` for `api: auto` / Composer-by-name environments. */
  api: AirflowApi;
  auth: AirflowAuth;
  timeoutMs: number;
  /** Resolves the URL and API variant once per instance (see discover.ts). */
  discover?: () => Promise<{url: string; api: AirflowApi; version?: string}>;
  /** Airflow's version, when discovery read it (e.g. 2.7.3). */
  airflowVersion?: string;
  /** The Composer API's base URL, for `api: composer-cli` (composer-cli.ts). */
  composerEndpoint?: string;
}

/**
 * One POST of the run. The common case (API known, a fresh credential in
 * hand) is a straight promise chain with no async frames: under
 * functions-framework every promise and await is tracked by its
 * per-request domain, which made them a third of the launcher's own cost.
 */
export function triggerDagRun(
  target: AirflowTarget,
  run: DagRunRequest,
): Promise<TriggerResult> {
  const started = performance.now();
  const headers = target.discover ? undefined : target.auth.ready?.();
  if (!headers) return triggerAfterSetup(target, run, started);
  return post(postOf(target, run, started), headers, true);
}

/** One trigger request: where, what, and when its first try started. */
interface Post {
  target: AirflowTarget;
  url: string;
  body: string;
  started: number;
}

function postOf(
  target: AirflowTarget,
  run: DagRunRequest,
  started: number,
): Post {
  return {
    target,
    url: target.environment.url + target.api.triggerPath(run.dagId),
    body: JSON.stringify(target.api.triggerBody(run)),
    started,
  };
}

/** The first call of an `auto` / Composer-named environment (API discovery), or a credential still to fetch. */
/** Resolves an `auto` / Composer-named target's URL and API once, for the life of the target. */
export async function settleDiscovery(target: AirflowTarget): Promise<void> {
  if (!target.discover) return;
  const found = await target.discover();
  target.api = found.api;
  target.environment.url = found.url;
  if (found.version !== undefined) target.airflowVersion = found.version;
  target.discover = undefined;
}

async function triggerAfterSetup(
  target: AirflowTarget,
  run: DagRunRequest,
  started: number,
): Promise<TriggerResult> {
  if (target.discover) {
    try {
      await settleDiscovery(target);
    } catch (err) {
      return {
        kind: 'failure',
        failure: 'discovery',
        message: scrubServerText((err as Error).message),
        latencyMs: since(started),
      };
    }
  }
  return send(postOf(target, run, started), true);
}

async function send(req: Post, mayResend: boolean): Promise<TriggerResult> {
  const {target, started} = req;
  let headers = target.auth.ready?.();
  if (!headers) {
    try {
      headers = await target.auth.headers();
    } catch (err) {
      return {
        kind: 'failure',
        failure: 'credentials',
        message: scrubServerText((err as Error).message),
        latencyMs: since(started),
      };
    }
  }
  return post(req, headers, mayResend);
}

function post(
  req: Post,
  headers: Record<string, string>,
  mayResend: boolean,
): Promise<TriggerResult> {
  const {target, url, body, started} = req;
  return httpRequest(url, {
    method: 'POST',
    headers: {
      ...headers,
      'Content-Type': 'application/json',
      Accept: 'application/json',
    },
    body,
    timeoutMs: target.timeoutMs,
    excerpt: serverExcerpt,
  }).then(
    (res): TriggerResult | Promise<TriggerResult> => {
      // A rejected credential may just have expired early: one resend with a fresh one, when the auth mode says it may help.
      if (
        res.status === 401 &&
        (target.auth.onUnauthorized?.(headers) ?? false) &&
        mayResend
      )
        return send(req, false);
      const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
      return {
        kind: 'response',
        status: res.status,
        body: res.body,
        latencyMs: since(started),
        ...(retryAfterMs !== undefined && {retryAfterMs}),
      };
    },
    (err: unknown): TriggerResult => {
      const timeout = err instanceof HttpTimeoutError;
      const code = timeout ? undefined : errorCode(err);
      const message = scrubServerText((err as Error).message);
      return {
        kind: 'failure',
        failure: timeout ? 'timeout' : 'network',
        message: timeout
          ? `no response within ${target.timeoutMs}ms`
          : code && !message.includes(code)
            ? `${code}: ${message}`
            : message,
        latencyMs: since(started),
        ...(code !== undefined && {code}),
      };
    },
  );
}

function since(started: number): number {
  return Math.round(performance.now() - started);
}
