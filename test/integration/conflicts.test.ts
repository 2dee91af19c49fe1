/**
 * "A run already exists" is a duplicate only when the run with our
 * dag_run_id exists. Airflow 2 (v1) also answers 409 for another run holding
 * the same logical date, and Airflow 3's 409 does not say which constraint
 * it met: the function looks its run up (a GET validated against the
 * official spec) and dead-letters a conflict that is not its own.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {AirflowStandIn} from '../support/airflow-standin';
import {FunctionProcess} from '../support/function-process';
import {storageCloudEvent, storageData} from '../support/events';
import {dagRunId} from '../../src/routing/run-id';
import {normalizeEvent} from '../../src/events/normalize';

const ok = (status: number) => status >= 200 && status < 300;

describe('conflicts: duplicate only when our run exists (stand-ins)', () => {
  let af2: AirflowStandIn;
  let af3: AirflowStandIn;
  let fn: FunctionProcess;

  before(async () => {
    af2 = await new AirflowStandIn('v1', {load: {}}).start();
    af3 = await new AirflowStandIn('v2', {load: {}}).start();
    fn = await FunctionProcess.start({
      environments: {
        af2: {url: af2.url, api: 'v1', auth: 'none'},
        af3: {url: af3.url, api: 'v2', auth: 'none'},
      },
      maxEventAge: '1h',
      requestTimeout: '2s',
      functionTimeout: '10s',
      routes: ['af2', 'af3'].map(environment => ({
        name: environment,
        environment,
        match: {type: 'storage', name: {prefix: `${environment}/`}},
        dag: 'load',
      })),
    });
  });

  after(async () => {
    await fn?.stop();
    await af2?.stop();
    await af3?.stop();
  });

  for (const env of ['af2', 'af3'] as const) {
    const api = env === 'af2' ? 'v1' : 'v2';
    const standIn = () => (env === 'af2' ? af2 : af3);

    test(`${api}: a 409 for another run with the same logical date is not a duplicate: rejected, dead-lettered with the reason, acked`, async () => {
      standIn().takeLogicalDate('load');
      const ce = storageCloudEvent(storageData(`${env}/clash.csv`));
      assert.ok(ok((await fn.sendBinary(ce)).status));
      const [line] = await fn.waitOutcomes({eventId: ce.id});
      assert.equal(line!.outcome, 'rejected');
      assert.equal(line!.httpStatus, 409);
      assert.equal(line!.severity, 'ERROR');
      assert.ok(line!.deadLetter, 'a dead letter was stored');
      assert.match(String(line!.reason), /not ours.*same logical date/);
      const runId = dagRunId(normalizeEvent(ce), env);
      assert.ok(
        standIn().requests.some(
          r =>
            r.method === 'GET' &&
            r.path.endsWith(`/dags/load/dagRuns/${runId}`),
        ),
        'our run was looked up',
      );
      assert.equal(standIn().runsOf('load').length, 0);
      assert.deepEqual(standIn().invalidRequests, []);
    });

    test(`${api}: a redelivery meets our own run: duplicate, one run`, async () => {
      const ce = storageCloudEvent(storageData(`${env}/again.csv`));
      assert.ok(ok((await fn.sendBinary(ce)).status));
      assert.ok(ok((await fn.sendBinary(ce)).status));
      const lines = await fn.waitOutcomes({eventId: ce.id}, 2);
      assert.deepEqual(
        lines.map(l => `${l.outcome}:${l.httpStatus}`),
        ['triggered:200', 'duplicate:409'],
      );
      const lookups = standIn().requests.filter(
        r => r.method === 'GET' && r.path.includes('/dagRuns/'),
      ).length;
      // v1 names our run id in its 409: no look-up; v2's 409 does not: one.
      assert.equal(lookups, api === 'v1' ? 1 : 2, 'look-ups so far');
      assert.equal(
        standIn()
          .runsOf('load')
          .filter(r => r.dag_run_id === dagRunId(normalizeEvent(ce), env))
          .length,
        1,
      );
      assert.deepEqual(standIn().invalidRequests, []);
    });
  }

  test('a conflict whose look-up fails is retried (5xx) with the reason, never acked as a duplicate', async () => {
    const ce = storageCloudEvent(storageData('af3/lookup-fails.csv'));
    af3.faults.push(
      {status: 409, body: JSON.stringify({detail: {reason: 'x'}})},
      {status: 503},
    );
    assert.ok((await fn.sendBinary(ce)).status >= 500);
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(line!.outcome, 'retry');
    assert.match(String(line!.reason), /looking up the run .* failed/);
  });
});
