/**
 * Airflow-native launching (issue 14) against the REAL Airflow 2 and 3 with
 * their schedulers: a logical date that a `{{ ds }}` DAG sees, the
 * same-logical-date collision, and asset events that schedule a DAG once per
 * event, also when the event is redelivered.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {RealAirflow} from '../support/airflow-server';
import {FunctionProcess} from '../support/function-process';
import {storageCloudEvent, storageData} from '../support/events';
import {MetadataServerStandIn} from '../support/metadata-server';
import {ComposerApiStandIn} from '../support/composer-api';

const ASSET = 'gs://lake/sales/daily';
const file = (name: string, id: string) =>
  storageCloudEvent(storageData(name), {id, time: new Date().toISOString()});

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const got = await probe();
    if (got !== undefined) return got;
    await new Promise(r => setTimeout(r, 1000));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A DAG whose one task renders `{{ ds }}` and the data interval (BashOperator: the last line is its XCom). */
function dsDag(major: 2 | 3): string {
  const bash =
    major === 3
      ? 'from airflow.providers.standard.operators.bash import BashOperator'
      : 'from airflow.operators.bash import BashOperator';
  const dag =
    major === 3 ? 'from airflow.sdk import DAG' : 'from airflow import DAG';
  return `from datetime import datetime
${dag}
${bash}
with DAG("ds_echo", start_date=datetime(2024, 1, 1), schedule=None, catchup=False, is_paused_upon_creation=False):
    BashOperator(task_id="echo_conf", bash_command='echo "{{ ds }}|{{ data_interval_start }}|{{ data_interval_end }}"')
`;
}

/** A DAG scheduled on the asset (Airflow 3) / dataset (Airflow 2.4+); its task returns the triggering events' keys. */
function assetDag(major: 2 | 3): string {
  const imports =
    major === 3
      ? 'from airflow.sdk import DAG, Asset as A, task'
      : 'from airflow import DAG\nfrom airflow.datasets import Dataset as A\nfrom airflow.decorators import task';
  const events =
    major === 3
      ? 'context["triggering_asset_events"]'
      : 'context["triggering_dataset_events"]';
  return `from datetime import datetime
${imports}
with DAG("on_sales", start_date=datetime(2024, 1, 1), schedule=[A(${JSON.stringify(ASSET)})], catchup=False, is_paused_upon_creation=False):
    @task(task_id="echo_conf")
    def keys(**context):
        return sorted(e.extra.get("dag_launcher_event", "") for evs in ${events}.values() for e in evs)
    keys()
`;
}

for (const major of [3, 2] as const) {
  describe(`Airflow-native launching on real Airflow ${major}`, () => {
    let airflow: RealAirflow;
    let fn: FunctionProcess;
    let md: MetadataServerStandIn;
    let composerApi: ComposerApiStandIn;
    const PRIVATE = `projects/p/locations/europe-west1/environments/private${major}`;
    const auth = major === 3 ? 'airflow-jwt' : 'basic';

    before(async () => {
      airflow = await RealAirflow.start(major, {
        dags: ['collide_dag', 'private_dag'],
        dagFiles: {ds_echo: dsDag(major), on_sales: assetDag(major)},
        scheduler: true,
      });
      md = await new MetadataServerStandIn().start();
      composerApi = await new ComposerApiStandIn(md).start();
      // The web server URL is unreachable on purpose: a private-IP environment.
      composerApi.addEnvironment(
        PRIVATE,
        'http://127.0.0.1:9',
        major === 3
          ? 'composer-3-airflow-3.1.7-build.2'
          : 'composer-2.9.7-airflow-2.10.2',
        airflow.cli(),
      );
      fn = await FunctionProcess.start(
        {
          environments: {
            local: {
              url: airflow.url,
              api: major === 3 ? 'v2' : 'v1',
              auth: {mode: auth, username: airflow.username},
            },
            private: {composer: PRIVATE, api: 'composer-cli', auth: 'google'},
          },
          retry: {attempts: 1},
          // One `airflow dags trigger` is a Python process importing Airflow: 5-30 s on a loaded 2-core machine.
          requestTimeout: '55s',
          functionTimeout: '60s',
          routes: [
            {
              name: 'private',
              environment: 'private',
              match: {type: 'storage', name: {prefix: 'private/'}},
              dag: '{{ metadata.dag | default: "private_dag" }}',
              allowedDags: ['private_dag', 'not_deployed'],
              conf: {uri: 'gs://{{ bucket }}/{{ name }}'},
            },
            {
              name: 'private-ds',
              environment: 'private',
              match: {type: 'storage', name: {prefix: 'private-ds/'}},
              dag: 'ds_echo',
              logicalDate: '2026-10-01T12:00:00+02:00',
            },
            {
              name: 'ds',
              environment: 'local',
              match: {
                type: 'storage',
                name: {regex: '^ds/dt=(?<ds>\\d{4}-\\d{2}-\\d{2})/_SUCCESS$'},
              },
              dag: 'ds_echo',
              logicalDate: '{{ captures.ds }}',
              dataInterval: {
                start: '{{ captures.ds }}',
                end: '{{ captures.ds }}T23:59:59+00:00',
              },
            },
            {
              name: 'collide',
              environment: 'local',
              match: {type: 'storage', name: {prefix: 'collide/'}},
              dag: 'collide_dag',
              logicalDate: '2026-01-02',
            },
            {
              name: 'sales',
              environment: 'local',
              match: {type: 'storage', name: {prefix: 'sales/'}},
              asset: {
                uri: ASSET,
                extra: {object: 'gs://{{ bucket }}/{{ name }}'},
              },
            },
          ],
        },
        {
          AIRFLOW_PASSWORD: airflow.password,
          GCE_METADATA_HOST: md.host,
          GOOGLE_CLOUD_PROJECT: 'test-project',
          COMPOSER_API_ENDPOINT: composerApi.url,
        },
      );
    });

    after(async () => {
      await fn?.stop();
      await composerApi?.stop();
      await md?.stop();
      await airflow?.stop();
    });

    test('a DAG using {{ ds }} sees the logical date the route rendered from the partition path, and its data interval', async () => {
      const res = await fn.sendBinary(
        file('ds/dt=2026-11-20/_SUCCESS', 'ds-1'),
      );
      assert.equal(res.status, 204, res.body);
      const line = fn.logs.find(l => l.eventId === 'ds-1');
      assert.equal(line?.outcome, 'triggered', JSON.stringify(line));
      const done = await airflow.finishedRun('ds_echo', String(line!.dagRunId));
      assert.equal(done.state, 'success');
      assert.match(
        String(done.logical_date),
        /^2026-11-20T00:00:00(\+00:00|Z)$/,
      );
      const echoed = String(
        await airflow.returnValue('ds_echo', String(line!.dagRunId)),
      );
      const [ds, start, end] = echoed.split('|');
      assert.equal(ds, '2026-11-20');
      assert.match(start!, /^2026-11-20[T ]00:00:00/);
      assert.match(end!, /^2026-11-20[T ]23:59:59/);
    });

    test('a second event with the same logical date: not a duplicate (our run does not exist), rejected with the reason and a dead letter', async () => {
      const first = await fn.sendBinary(file('collide/a.csv', 'collide-1'));
      assert.equal(first.status, 204, first.body);
      assert.equal(
        fn.logs.find(l => l.eventId === 'collide-1')?.outcome,
        'triggered',
      );
      const second = await fn.sendBinary(file('collide/b.csv', 'collide-2'));
      assert.equal(second.status, 204, second.body);
      const line = fn.logs.find(l => l.eventId === 'collide-2');
      assert.equal(line?.outcome, 'rejected', JSON.stringify(line));
      assert.equal(line?.httpStatus, 409);
      assert.match(String(line?.reason), /not ours.*same logical date/);
      assert.ok(line?.deadLetter, 'a dead letter');
      // The first event redelivered is still a duplicate, and only one run exists.
      await fn.sendBinary(file('collide/a.csv', 'collide-1'));
      assert.equal(
        fn.logs.filter(l => l.eventId === 'collide-1').at(-1)?.outcome,
        'duplicate',
      );
      assert.equal((await airflow.runsOf('collide_dag')).length, 1);
    });

    test('asset route: one asset event per event, redeliveries are duplicates, and the scheduled DAG runs once per event', async () => {
      const names = ['sales/2026-11-20.csv', 'sales/2026-11-21.csv'];
      const keys: string[] = [];
      for (const [i, name] of names.entries()) {
        const id = `asset-${i}`;
        // Delivered, then redelivered twice (the platform's at-least-once).
        for (let d = 0; d < 3; d++) {
          const res = await fn.sendBinary(file(name, id));
          if (res.status !== 204) {
            // The asset is not registered yet (DAG still being parsed): retried, as the platform would.
            await new Promise(r => setTimeout(r, 2000));
            d--;
            continue;
          }
        }
        const outcomes = fn.logs
          .filter(l => l.eventId === id && l.outcome !== 'retry')
          .map(l => l.outcome);
        assert.deepEqual(outcomes, ['triggered', 'duplicate', 'duplicate']);
        const line = fn.logs.find(
          l => l.eventId === id && l.outcome === 'triggered',
        )!;
        assert.equal(line.assetUri, ASSET);
        keys.push(String(line.dagRunId));
        // Wait for the run this event schedules before sending the next (Airflow merges events queued together into one run).
        await until(`run ${i + 1} of on_sales`, async () => {
          const runs = await airflow.runsOf('on_sales');
          return runs.length === i + 1 ? runs : undefined;
        });
      }
      const runs = await airflow.runsOf('on_sales');
      assert.equal(runs.length, names.length);
      const seen: string[] = [];
      for (const run of runs) {
        const done = await airflow.finishedRun('on_sales', run.dag_run_id);
        assert.equal(done.state, 'success');
        seen.push(
          ...((await airflow.returnValue(
            'on_sales',
            run.dag_run_id,
          )) as string[]),
        );
      }
      assert.deepEqual(seen.sort(), [...keys].sort());
    });

    test('api: composer-cli: the real `airflow dags trigger` through executeAirflowCommand/pollAirflowCommand creates the run; a redelivery is a duplicate; an unknown DAG is a retry', async () => {
      const res = await fn.sendBinary(file('private/a.csv', 'private-1'));
      assert.equal(res.status, 204, res.body);
      const line = fn.logs.find(l => l.eventId === 'private-1');
      assert.equal(line?.outcome, 'triggered', JSON.stringify(line));
      const runs = await airflow.runsOf('private_dag');
      assert.deepEqual(
        runs.map(r => [r.dag_run_id, r.conf]),
        [[line!.dagRunId, {uri: 'gs://landing/private/a.csv'}]],
      );
      assert.deepEqual(composerApi.commands[0]!.slice(0, 4), [
        'dags',
        'trigger',
        'private_dag',
        '-r',
      ]);
      await fn.sendBinary(file('private/a.csv', 'private-1'));
      const again = fn.logs.filter(l => l.eventId === 'private-1').at(-1);
      assert.equal(again?.outcome, 'duplicate', JSON.stringify(again));
      assert.equal((await airflow.runsOf('private_dag')).length, 1);

      const unknown = await fn.sendBinary(
        storageCloudEvent(
          storageData('private/b.csv', {metadata: {dag: 'not_deployed'}}),
          {id: 'private-2', time: new Date().toISOString()},
        ),
      );
      assert.equal(unknown.status, 500);
      const retry = fn.logs.find(l => l.eventId === 'private-2');
      assert.equal(retry?.outcome, 'retry', JSON.stringify(retry));
      assert.equal(retry?.httpStatus, 404);
    });

    test('api: composer-cli with a logical date: the run has it (-e on Airflow 2, -l on Airflow 3)', async () => {
      const res = await fn.sendBinary(file('private-ds/x', 'private-ds-1'));
      assert.equal(res.status, 204, res.body);
      const line = fn.logs.find(l => l.eventId === 'private-ds-1');
      assert.equal(line?.outcome, 'triggered', JSON.stringify(line));
      const done = await airflow.finishedRun('ds_echo', String(line!.dagRunId));
      assert.match(
        String(done.logical_date),
        /^2026-10-01T10:00:00(\+00:00|Z)$/,
      );
      assert.match(
        String(await airflow.returnValue('ds_echo', String(line!.dagRunId))),
        /^2026-10-01\|/,
      );
    });
  });
}
