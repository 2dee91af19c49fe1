import {test} from 'node:test';
import assert from 'node:assert/strict';
import {toLogicalDate} from '../../../src/routing/logical-date';
import {RejectedError} from '../../../src/core/errors';
import {normalizeEvent} from '../../../src/events/normalize';
import {routeEvent} from '../../../src/routing/route';
import {renderRun, type DagRunRequest} from '../../../src/routing/render';
import {apiV1, apiV1ExecutionDate} from '../../../src/airflow/api-v1';
import {apiV2} from '../../../src/airflow/api-v2';
import {apiExperimental} from '../../../src/airflow/api-experimental';
import {apiFor} from '../../../src/airflow/choose-api';
import {explainEvent} from '../../../src/cli/explain';
import {configWith} from '../../support/config';
import {storageCloudEvent, storageData} from '../../support/events';

test('logical dates: date-only is midnight UTC, no offset is UTC, an offset keeps its instant, microseconds kept', () => {
  assert.equal(toLogicalDate('2026-11-20', 'x'), '2026-11-20T00:00:00Z');
  assert.equal(toLogicalDate('20261120', 'x'), '2026-11-20T00:00:00Z');
  assert.equal(toLogicalDate('2026-11-20T06:30', 'x'), '2026-11-20T06:30:00Z');
  assert.equal(
    toLogicalDate('2026-11-20 06:30:15', 'x'),
    '2026-11-20T06:30:15Z',
  );
  assert.equal(
    toLogicalDate('2026-11-20T01:00:00+02:00', 'x'),
    '2026-11-19T23:00:00Z',
  );
  assert.equal(
    toLogicalDate('2026-11-20T10:00:00.123456789Z', 'x'),
    '2026-11-20T10:00:00.123456Z',
  );
  assert.equal(
    toLogicalDate('2026-11-20T10:00:00.500-0130', 'x'),
    '2026-11-20T11:30:00.5Z',
  );
});

test('logical dates: what is not a real ISO 8601 date is a clear rejection', () => {
  for (const bad of [
    '2026-02-30',
    '2026-13-01',
    'yesterday',
    '',
    '2026-11-20T25:00:00Z',
    '2026-11-20T10:00:00+24:00',
    null,
    {},
    'x'.repeat(1000),
  ])
    assert.throws(
      () => toLogicalDate(bad, "route 'r': logicalDate"),
      (e: Error) =>
        e instanceof RejectedError &&
        /logicalDate rendered to .*ISO 8601/.test(e.message),
      String(bad),
    );
});

const partition = storageCloudEvent(
  storageData('sales/dt=2026-11-20/_SUCCESS'),
  {id: 'ev-ld', time: '2026-11-21T03:04:05Z'},
);

function render(route: Record<string, unknown>) {
  const config = configWith([{name: 'r', ...route}]);
  const event = normalizeEvent(partition);
  const [m] = routeEvent(config, event);
  // These routes trigger DAGs: a DAG run request.
  return {run: renderRun(config, m!, event) as DagRunRequest, config};
}

const byPartition = {
  dag: 'load_sales',
  match: {name: {regex: '^sales/dt=(?<ds>\\d{4}-\\d{2}-\\d{2})/_SUCCESS$'}},
  logicalDate: '{{ captures.ds }}',
  dataInterval: {start: '{{ captures.ds }}', end: '{{ event.time }}'},
};

test('logicalDate from a partition path, data interval, and the body each API variant expects', () => {
  const {run} = render(byPartition);
  assert.equal(run.logicalDate, '2026-11-20T00:00:00Z');
  assert.deepEqual(run.dataInterval, {
    start: '2026-11-20T00:00:00Z',
    end: '2026-11-21T03:04:05Z',
  });
  const v2 = apiV2.triggerBody(run);
  assert.equal(v2.logical_date, '2026-11-20T00:00:00Z');
  assert.equal(v2.data_interval_start, '2026-11-20T00:00:00Z');
  assert.equal(v2.data_interval_end, '2026-11-21T03:04:05Z');
  const v1 = apiV1.triggerBody(run);
  assert.equal(v1.logical_date, '2026-11-20T00:00:00Z');
  assert.equal('execution_date' in v1, false);
  const v1old = apiV1ExecutionDate.triggerBody(run);
  assert.equal(v1old.execution_date, '2026-11-20T00:00:00Z');
  assert.equal('logical_date' in v1old, false);
  assert.equal(
    apiExperimental.triggerBody(run).execution_date,
    '2026-11-20T00:00:00Z',
  );
});

test('without logicalDate nothing changes: v2 sends null, v1 and experimental send no date', () => {
  const {run} = render({dag: 'load_sales'});
  assert.equal(apiV2.triggerBody(run).logical_date, null);
  assert.equal('logical_date' in apiV1.triggerBody(run), false);
  assert.equal('execution_date' in apiExperimental.triggerBody(run), false);
});

test('the v1 variant follows the Airflow version: execution_date before 2.2, logical_date from 2.2', () => {
  assert.equal(apiFor('v1', '2.1.4'), apiV1ExecutionDate);
  assert.equal(apiFor('v1', '2.0.2'), apiV1ExecutionDate);
  assert.equal(apiFor('v1', '2.2.0'), apiV1);
  assert.equal(apiFor('v1', '2.10.2'), apiV1);
  assert.equal(apiFor('v1'), apiV1);
});

test('a logicalDate that renders to no date rejects the route with the reason', () => {
  assert.throws(
    () =>
      render({
        dag: 'd',
        logicalDate: '{{ metadata.missing | default: "soon" }}',
      }),
    /route 'r': logicalDate rendered to "soon"/,
  );
});

test('explain prints logicalDate and dataInterval as sent', () => {
  const config = configWith([{name: 'r', ...byPartition}]);
  const out = explainEvent(config, partition);
  assert.equal(out.triggers[0]!.logicalDate, '2026-11-20T00:00:00Z');
  assert.deepEqual(out.triggers[0]!.dataInterval, {
    start: '2026-11-20T00:00:00Z',
    end: '2026-11-21T03:04:05Z',
  });
});

test('validate: dataInterval needs logicalDate; templates in both are checked', () => {
  assert.throws(
    () =>
      configWith([
        {name: 'r', dag: 'd', dataInterval: {start: '{{ name }}', end: 'x'}},
      ]),
    /routes\.0\.dataInterval: needs logicalDate/,
  );
  assert.throws(
    () => configWith([{name: 'r', dag: 'd', logicalDate: '{{ nope }}'}]),
    /routes\.0\.logicalDate/,
  );
});
