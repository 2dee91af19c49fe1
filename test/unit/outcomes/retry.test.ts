import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  backoffMs,
  deliveryBudgetMs,
  retryableNow,
  withRetry,
  type RetryClock,
} from '../../../src/outcomes/retry';
import {parseRetryAfter} from '../../../src/core/http';
import type {TriggerResult} from '../../../src/airflow/trigger';

const response = (status: number, retryAfterMs?: number): TriggerResult => ({
  kind: 'response',
  status,
  body: '',
  latencyMs: 1,
  ...(retryAfterMs !== undefined && {retryAfterMs}),
});
const failure = (
  failure: 'timeout' | 'network' | 'credentials' | 'discovery',
  code?: string,
): TriggerResult => ({
  kind: 'failure',
  failure,
  message: failure,
  latencyMs: 1,
  ...(code && {code}),
});

/** A clock that only moves when the code under test sleeps, and records the sleeps. */
function fakeClock(random = () => 0.5): RetryClock & {sleeps: number[]} {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async ms => {
      sleeps.push(ms);
      t += ms;
    },
    random,
  };
}

const policy = {attempts: 4, initialBackoffMs: 200, maxBackoffMs: 5_000};

test('retried within the delivery: 429, 502, 503, 504, connection resets, token and discovery failures', () => {
  for (const s of [429, 502, 503, 504])
    assert.ok(retryableNow(response(s)), String(s));
  for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'ECONNREFUSED'])
    assert.ok(retryableNow(failure('network', code)), code);
  assert.ok(retryableNow(failure('credentials')));
  assert.ok(retryableNow(failure('discovery')));
});

test('left to the platform: success, 409, 4xx, 500, timeouts and unknown network errors', () => {
  for (const s of [200, 409, 400, 401, 404, 422, 500])
    assert.ok(!retryableNow(response(s)), String(s));
  assert.ok(!retryableNow(failure('timeout')));
  assert.ok(!retryableNow(failure('network', 'ENOTFOUND')));
  assert.ok(!retryableNow(failure('network')));
});

test('Retry-After: delta seconds and HTTP dates; garbage is ignored', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter(' 0 '), 0);
  const now = Date.parse('2026-11-21T10:00:00Z');
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 10:00:05 GMT', now), 5000);
  assert.equal(
    parseRetryAfter('Sat, 21 Nov 2026 09:00:00 GMT', now),
    0,
    'a date in the past: now',
  );
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(null), undefined);
});

test('backoff: full jitter under an exponential cap; Retry-After is a floor with a little jitter', () => {
  for (let n = 0; n < 8; n++) {
    const cap = Math.min(5_000, 200 * 2 ** n);
    assert.equal(
      backoffMs(policy, n, undefined, () => 0.999999),
      Math.round(0.999999 * cap),
    );
    assert.equal(
      backoffMs(policy, n, undefined, () => 0),
      0,
    );
  }
  assert.equal(
    backoffMs(policy, 0, 2000, () => 0),
    2000,
  );
  assert.equal(
    backoffMs(policy, 0, 2000, () => 1),
    2200,
  );
  assert.equal(
    backoffMs(policy, 0, 60_000, () => 1),
    61_000,
    'jitter on a long Retry-After is at most 1 s',
  );
});

test('withRetry: retries until success, honouring Retry-After', async () => {
  const clock = fakeClock();
  const results = [
    response(429, 1500),
    response(503),
    failure('network', 'ECONNRESET'),
    response(200),
  ];
  const {result, attempts} = await withRetry(async () => results.shift()!, {
    policy,
    budgetMs: 50_000,
    requestTimeoutMs: 10_000,
    clock: clock,
  });
  assert.equal(attempts, 4);
  assert.deepEqual(result, response(200));
  assert.ok(clock.sleeps[0]! >= 1500, 'waited at least Retry-After');
  assert.deepEqual(
    clock.sleeps.slice(1),
    [400, 800].map(cap => Math.round(0.5 * cap)),
    'the 2nd and 3rd retries: caps 400 and 800 ms',
  );
});

test("withRetry: stops after the policy's attempts, and at once for what is not retryable now", async () => {
  let calls = 0;
  const spent = await withRetry(
    async () => {
      calls++;
      return response(503);
    },
    {
      policy,
      budgetMs: 50_000,
      requestTimeoutMs: 1_000,
      clock: fakeClock(),
    },
  );
  assert.equal(spent.attempts, 4);
  assert.equal(calls, 4);
  calls = 0;
  const once = await withRetry(
    async () => {
      calls++;
      return response(500);
    },
    {
      policy,
      budgetMs: 50_000,
      requestTimeoutMs: 1_000,
      clock: fakeClock(),
    },
  );
  assert.equal(once.attempts, 1);
});

test('withRetry: never plans a try that could overrun the delivery budget; a long Retry-After goes back to the platform', async () => {
  const clock = fakeClock();
  let calls = 0;
  const r = await withRetry(
    async () => {
      calls++;
      return response(429, 30_000);
    },
    {
      policy,
      budgetMs: 50_000,
      requestTimeoutMs: 30_000,
      clock: clock,
    },
  );
  assert.equal(r.attempts, 1, '30 s wait + 30 s request > 50 s budget');
  assert.deepEqual(clock.sleeps, []);
  assert.equal(calls, 1);
});

test('the delivery budget leaves a margin inside the function timeout', () => {
  assert.equal(deliveryBudgetMs(60_000), 50_000);
  assert.equal(deliveryBudgetMs(10_000), 8_000);
  assert.equal(deliveryBudgetMs(540_000), 530_000);
  assert.ok(deliveryBudgetMs(1_000) >= 500);
});

test('withRetry: a first try made by the caller counts, and its start is where the budget is measured from', async () => {
  let calls = 0;
  const ok = await withRetry(
    async () => {
      calls++;
      return response(200);
    },
    {
      policy,
      budgetMs: 50_000,
      requestTimeoutMs: 1_000,
      clock: fakeClock(),
      first: {result: response(503), startedAt: 0},
    },
  );
  assert.deepEqual(
    [ok.result.kind === 'response' && ok.result.status, ok.attempts, calls],
    [200, 2, 1],
  );
  const done = await withRetry(
    async () => {
      calls++;
      return response(200);
    },
    {
      policy,
      budgetMs: 50_000,
      requestTimeoutMs: 1_000,
      clock: fakeClock(),
      first: {result: response(409), startedAt: 0},
    },
  );
  assert.deepEqual(
    [done.attempts, calls],
    [1, 1],
    'not retryable: no further call',
  );
  const late = await withRetry(
    async () => {
      calls++;
      return response(200);
    },
    {
      policy,
      budgetMs: 50_000,
      requestTimeoutMs: 1_000,
      clock: fakeClock(),
      first: {result: response(503), startedAt: -49_500},
    },
  );
  assert.deepEqual(
    [late.attempts, calls],
    [1, 1],
    'the first try already used the budget',
  );
});
