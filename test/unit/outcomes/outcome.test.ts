/** The outcome contract, row by row (DESIGN.md). */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {decideOutcome} from '../../../src/outcomes/outcome';
import {apiV1} from '../../../src/airflow/api-v1';
import {apiV2} from '../../../src/airflow/api-v2';
import type {TriggerResult} from '../../../src/airflow/trigger';

const young = {eventAgeMs: 1000, maxEventAgeMs: 3600_000};
const old = {eventAgeMs: 7200_000, maxEventAgeMs: 3600_000};
const res = (status: number, body = ''): TriggerResult => ({
  kind: 'response',
  status,
  body,
  latencyMs: 1,
});
const fail = (
  failure: 'timeout' | 'network' | 'credentials',
): TriggerResult => ({kind: 'failure', failure, message: 'x', latencyMs: 1});

test('200 -> triggered', () =>
  assert.equal(decideOutcome(res(200), apiV2, young).outcome, 'triggered'));
test('409 -> duplicate, on both APIs', () => {
  assert.equal(decideOutcome(res(409), apiV2, young).outcome, 'duplicate');
  assert.equal(decideOutcome(res(409), apiV1, old).outcome, 'duplicate');
});
test('429, 5xx, timeout, connection error, token failure -> retry', () => {
  for (const r of [
    res(429),
    res(500),
    res(502),
    res(503),
    res(504),
    fail('timeout'),
    fail('network'),
    fail('credentials'),
  ]) {
    assert.equal(decideOutcome(r, apiV2, young).outcome, 'retry');
  }
});
test('401/403/404 -> retry while young, dead-letter (expired) when old', () => {
  for (const s of [401, 403, 404]) {
    assert.equal(decideOutcome(res(s), apiV2, young).outcome, 'retry');
    assert.equal(decideOutcome(res(s), apiV2, old).outcome, 'expired');
  }
  assert.match(decideOutcome(res(403), apiV2, young).reason, /Op role/);
});
test('400 / 422 for a body we built -> rejected, never retried', () => {
  for (const s of [400, 422])
    assert.equal(decideOutcome(res(s), apiV2, young).outcome, 'rejected');
});
test('a retryable failure of an event past maxEventAge -> expired, not retried forever', () => {
  const o = decideOutcome(res(503), apiV2, old);
  assert.equal(o.outcome, 'expired');
  assert.match(o.reason, /past maxEventAge/);
});
