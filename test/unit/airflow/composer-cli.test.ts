import {test} from 'node:test';
import assert from 'node:assert/strict';
import {classify, triggerCommand} from '../../../src/airflow/composer-cli';
import {apiComposerCli} from '../../../src/airflow/api-composer-cli';
import {decideOutcome} from '../../../src/outcomes/outcome';
import {configWith} from '../../support/config';

const age = {eventAgeMs: 0, maxEventAgeMs: 3_600_000};
const run = {
  dagId: 'd',
  dagRunId: 'gcs__r__x__1',
  conf: {a: 1},
  route: 'r',
  environment: 'e',
};
const outcome = (
  code: number,
  out: string,
  r: {dagRunId: string; logicalDate?: string} = run,
  major: 2 | 3 = 3,
) => {
  const c = classify(code, out, undefined, r, major);
  return decideOutcome(
    {kind: 'response', status: c.status, body: c.body, latencyMs: 1},
    apiComposerCli,
    age,
  ).outcome;
};

test('composer-cli: dags trigger with run id, conf, the logical date flag of the Airflow major, and no truncation to the second', () => {
  assert.deepEqual(triggerCommand(run, 3).parameters, [
    'd',
    '-r',
    'gcs__r__x__1',
    '-c',
    '{"a":1}',
    '--no-replace-microseconds',
  ]);
  assert.deepEqual(
    triggerCommand(
      {...run, logicalDate: '2026-11-20T00:00:00Z'},
      2,
    ).parameters.slice(5, 7),
    ['-e', '2026-11-20T00:00:00Z'],
  );
  assert.deepEqual(
    triggerCommand(
      {...run, logicalDate: '2026-11-20T00:00:00Z'},
      3,
    ).parameters.slice(5, 7),
    ['-l', '2026-11-20T00:00:00Z'],
  );
});

test('composer-cli: the CLI exit code and output on the outcome contract', () => {
  assert.equal(outcome(0, 'Created <DagRun d @ …>'), 'triggered');
  // Airflow 3 names the existing run: ours -> duplicate, another -> a conflict, never acked.
  assert.equal(
    outcome(
      1,
      'DagRunAlreadyExists: A DAG Run already exists for DAG d with run id gcs__r__x__1',
    ),
    'duplicate',
  );
  assert.equal(
    outcome(1, 'A DAG Run already exists for DAG d with run id manual__2026'),
    'rejected',
  );
  // Airflow 2 names the requested id: ours only when no logical date was sent.
  const a2 =
    'A DAG Run already exists for DAG d at 2026-11-20 00:00:00+00:00 with run id gcs__r__x__1';
  assert.equal(outcome(1, a2, run, 2), 'duplicate');
  assert.equal(
    outcome(1, a2, {...run, logicalDate: '2026-11-20T00:00:00Z'}, 2),
    'rejected',
  );
  assert.equal(
    outcome(
      1,
      'psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint "dag_run_dag_id_logical_date_key"',
    ),
    'rejected',
  );
  assert.equal(
    outcome(
      1,
      'airflow.exceptions.DagNotFound: Dag id nope not found in DagModel',
    ),
    'retry',
  );
  assert.equal(
    outcome(1, 'sqlalchemy.exc.OperationalError: connection refused'),
    'retry',
  );
});

test('validate: composer-cli needs composer:, asset routes take no dag/conf/logicalDate, every route needs dag or asset', () => {
  assert.throws(
    () =>
      configWith([{name: 'r', dag: 'd'}], {
        environments: {e: {url: 'http://127.0.0.1:1', api: 'composer-cli'}},
      }),
    /api: composer-cli .* name the environment with composer/,
  );
  assert.throws(
    () => configWith([{name: 'r', dag: 'd', asset: {uri: 'gs://x/y'}}]),
    /has both dag and asset/,
  );
  assert.throws(() => configWith([{name: 'r'}]), /needs dag .* or asset/);
  assert.throws(
    () =>
      configWith([
        {
          name: 'r',
          asset: {uri: 'gs://x/y'},
          logicalDate: '2026-01-01',
          conf: {a: 1},
        },
      ]),
    /belong to DAG runs[\s\S]*asset event has no conf/,
  );
  assert.ok(
    configWith([
      {
        name: 'r',
        asset: {uri: 'gs://{{ bucket }}/x', extra: {n: '{{ name }}'}},
      },
    ]).routes[0]!.asset,
  );
});
