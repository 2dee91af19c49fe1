/**
 * retry: a bounded second chance inside one delivery, for the failures that
 * pass in seconds (429 and 502/503/504 from an overloaded web server or its
 * load balancer, a connection reset, a token or discovery call that failed),
 * with jittered exponential backoff that honours `Retry-After`, and never past
 * the delivery's budget (the function's timeout less a margin). What is still
 * failing then goes back to the platform (the handler throws), whose own
 * backoff takes over. Safe because dag_run_id is deterministic: a POST that
 * did reach Airflow before the connection broke comes back as a 409 duplicate.
 *
 * Timeouts are not retried here: a request that hung for requestTimeout has
 * used the time a second one would need.
 */
import type {RetryPolicy} from '../config/types';
import type {TriggerResult} from '../airflow/trigger';

const RETRY_STATUS = new Set([429, 502, 503, 504]);
const RESET_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNABORTED',
]);

/** Whether a result is worth another try within this delivery. */
export function retryableNow(result: TriggerResult): boolean {
  if (result.kind === 'response') return RETRY_STATUS.has(result.status);
  if (result.failure === 'credentials' || result.failure === 'discovery')
    return true;
  return (
    result.failure === 'network' &&
    result.code !== undefined &&
    RESET_CODES.has(result.code)
  );
}

/** Full jitter: uniform in [0, min(max, initial * 2^n)]; a Retry-After is a floor, plus up to 10% jitter. */
export function backoffMs(
  policy: RetryPolicy,
  retryNumber: number,
  retryAfterMs?: number,
  random = Math.random,
): number {
  const cap = Math.min(
    policy.maxBackoffMs,
    policy.initialBackoffMs * 2 ** retryNumber,
  );
  const jittered = Math.round(random() * cap);
  if (retryAfterMs === undefined) return jittered;
  return Math.round(
    retryAfterMs + random() * Math.min(retryAfterMs * 0.1, 1000),
  );
}

export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export const realClock: RetryClock = {
  now: () => performance.now(),
  sleep: ms => new Promise(r => setTimeout(r, ms)),
  random: Math.random,
};

export interface Attempts {
  result: TriggerResult;
  attempts: number;
}

/**
 * Calls `once` until it gives a result not worth retrying now, the policy's
 * attempts are spent, or the next wait plus a full request would overrun
 * `budgetMs` (measured from the call).
 */
export interface RetryOptions {
  policy: RetryPolicy;
  /** The delivery's budget and one request's timeout, in ms. */
  budgetMs: number;
  requestTimeoutMs: number;
  clock?: RetryClock;
  /** The first try, when the caller made it already (at `startedAt` on `clock`). */
  first?: {result: TriggerResult; startedAt: number};
}

export async function withRetry(
  once: () => Promise<TriggerResult>,
  options: RetryOptions,
): Promise<Attempts> {
  const {policy, first, budgetMs, requestTimeoutMs} = options;
  const clock = options.clock ?? realClock;
  const started = first ? first.startedAt : clock.now();
  let result = first ? first.result : await once();
  let attempts = 1;
  for (;;) {
    if (attempts >= policy.attempts || !retryableNow(result))
      return {result, attempts};
    const wait = backoffMs(
      policy,
      attempts - 1,
      result.kind === 'response' ? result.retryAfterMs : undefined,
      clock.random,
    );
    const elapsed = clock.now() - started;
    if (elapsed + wait + requestTimeoutMs > budgetMs) return {result, attempts};
    await clock.sleep(wait);
    result = await once();
    attempts++;
  }
}

/** The share of the function's timeout one delivery may spend on retries: all of it but a margin for logging and dead letters. */
export function deliveryBudgetMs(functionTimeoutMs: number): number {
  return Math.max(
    functionTimeoutMs - Math.min(10_000, functionTimeoutMs * 0.2),
    functionTimeoutMs * 0.5,
  );
}
