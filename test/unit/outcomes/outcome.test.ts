/** The outcome contract, row by row (DESIGN.md). */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {decideOutcome, needsRunLookup} from '../../../src/outcomes/outcome';
import {apiExperimental} from '../../../src/airflow/api-experimental';
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
// Airflow 2.11's and 3.3's own bodies (api_connexion/endpoints/dag_run_endpoint.py, api_fastapi/common/exceptions.py, www/api/experimental).
const V1_OUR_RUN =
  '{"detail": "DAGRun with DAG ID: \'load\' and DAGRun ID: \'gcs__r__x\' already exists", "status": 409, "title": "Conflict"}';
const V1_LOGICAL_DATE =
  '{"detail": "DAGRun with DAG ID: \'load\' and DAGRun logical date: \'2026-01-02 03:04:05.678901+00:00\' already exists", "status": 409}';
const V2_CONFLICT =
  '{"detail": {"reason": "Unique constraint violation", "statement": "hidden", "orig_error": "hidden", "message": "Serious error ... ID abc"}}';
const EXPERIMENTAL_EXISTS =
  '{"error": "A DAG Run already exists for DAG load at 2026-01-02 03:04:05+00:00 with run id gcs__r__x"}';
const found = {kind: 'found', path: '/runs/x'} as const;
const absent = {kind: 'absent', path: '/runs/x', status: 404} as const;
const lookupFailed = {kind: 'failed', path: '/runs/x', message: 'x'} as const;

test('409 naming our dag_run_id (v1) -> duplicate, no look-up needed', () => {
  assert.equal(needsRunLookup(res(409, V1_OUR_RUN), apiV1), false);
  assert.equal(
    decideOutcome(res(409, V1_OUR_RUN), apiV1, old).outcome,
    'duplicate',
  );
});
test('a conflict that does not say whose run (v1 logical date, v2, experimental) -> look our run up; found -> duplicate', () => {
  for (const [r, api] of [
    [res(409, V1_LOGICAL_DATE), apiV1],
    [res(409, V2_CONFLICT), apiV2],
    [res(400, EXPERIMENTAL_EXISTS), apiExperimental],
  ] as const) {
    assert.equal(needsRunLookup(r, api), true, api.name);
    assert.equal(decideOutcome(r, api, young, found).outcome, 'duplicate');
    assert.match(decideOutcome(r, api, young, found).reason, /GET \/runs\/x/);
  }
});
test('a conflict and our run absent -> rejected (dead letter) with the reason, never a silent duplicate', () => {
  for (const [r, api] of [
    [res(409, V1_LOGICAL_DATE), apiV1],
    [res(409, V2_CONFLICT), apiV2],
    [res(400, EXPERIMENTAL_EXISTS), apiExperimental],
  ] as const) {
    const o = decideOutcome(r, api, young, absent);
    assert.equal(o.outcome, 'rejected');
    assert.match(o.reason, /not ours.*same logical date/);
  }
});
test('a conflict and the look-up failed -> retry, expired when old; no look-up -> retry', () => {
  const r = res(409, V2_CONFLICT);
  assert.equal(decideOutcome(r, apiV2, young, lookupFailed).outcome, 'retry');
  assert.equal(decideOutcome(r, apiV2, old, lookupFailed).outcome, 'expired');
  assert.equal(decideOutcome(r, apiV2, young).outcome, 'retry');
});
test('the experimental body asks Airflow to keep microseconds, so runs in one second do not collide', () =>
  assert.equal(
    apiExperimental.triggerBody({
      route: 'r',
      environment: 'e',
      dagId: 'd',
      dagRunId: 'x',
      conf: {},
    }).replace_microseconds,
    'false',
  ));
test('400 for a DAG with import errors (Airflow 2 and 3) -> retry while young, expired when old', () => {
  for (const [body, api] of [
    [
      '{"detail": "DAG with dag_id: \'load\' has import errors", "status": 400, "title": "DAG cannot be triggered"}',
      apiV1,
    ],
    [
      '{"detail":"Dag with dag_id: \'load\' has import errors and cannot be triggered"}',
      apiV2,
    ],
  ] as const) {
    assert.equal(decideOutcome(res(400, body), api, young).outcome, 'retry');
    assert.match(
      decideOutcome(res(400, body), api, young).reason,
      /import errors/,
    );
    assert.equal(decideOutcome(res(400, body), api, old).outcome, 'expired');
  }
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
