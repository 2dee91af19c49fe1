/**
 * Real delivery, end to end: the Pub/Sub emulator of the Google Cloud CLI
 * pushes to the function under functions-framework, which triggers the real
 * Airflow 3 whose scheduler runs the DAG; the task's XCom shows the conf it
 * received. fake-gcs-server publishes object notifications to the emulator.
 * One emulator, one Airflow, one function for the whole suite.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {Storage} from '@google-cloud/storage';
import {RealAirflow} from '../support/airflow-server';
import {FunctionProcess} from '../support/function-process';
import {GcsEmulator} from '../support/gcs-emulator';
import {FaultProxy} from '../support/fault-proxy';
import {PUBSUB_PROJECT, PubsubEmulator} from '../support/pubsub-emulator';

const BUCKET = 'landing-zone';

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const got = await probe();
    if (got !== undefined) return got;
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('real delivery: Pub/Sub emulator -> function -> Airflow 3 with its scheduler', () => {
  let airflow: RealAirflow;
  let pubsub: PubsubEmulator;
  let gcs: GcsEmulator;
  let fn: FunctionProcess;
  /** Airflow behind a switch: "down" resets every connection. */
  let door: FaultProxy;
  let airflowDown = false;

  before(async () => {
    [airflow, pubsub] = await Promise.all([
      RealAirflow.start(3, {
        dags: [],
        echoDags: ['handle_command', 'load_file'],
        scheduler: true,
      }),
      PubsubEmulator.start(),
    ]);
    door = await new FaultProxy(airflow.url, {
      rate: 0.9,
      hangMs: 1_000,
      // 0.75 picks 'reset-before' (a connection reset, as from a server that is down); 0.99 passes.
      random: () => (airflowDown ? 0.75 : 0.99),
    }).start();
    gcs = await GcsEmulator.start([BUCKET], {
      pubsubHost: pubsub.host,
      project: PUBSUB_PROJECT,
      topic: 'gcs-notifications',
    });
    fn = await FunctionProcess.start(
      {
        environments: {
          local: {
            url: door.url,
            api: 'v2',
            auth: {mode: 'airflow-jwt', username: airflow.username},
          },
        },
        retry: {attempts: 1},
        subscriptionTopics: {
          [`projects/${PUBSUB_PROJECT}/subscriptions/commands-to-root`]: `projects/${PUBSUB_PROJECT}/topics/commands`,
        },
        routes: [
          {
            name: 'command',
            match: {topic: 'commands'},
            dag: 'handle_command',
            conf: {
              command: '{{ json }}',
              subscription: '{{ subscriptionId }}',
            },
          },
          {
            name: 'file',
            match: {bucket: BUCKET, name: {glob: 'incoming/**'}},
            dag: 'load_file',
            conf: {
              uri: 'gs://{{ bucket }}/{{ name }}',
              generation: '{{ generation }}',
              size: '{{ size }}',
            },
          },
        ],
      },
      {AIRFLOW_PASSWORD: airflow.password},
    );
  });

  after(async () => {
    await fn?.stop();
    await gcs?.stop();
    await door?.stop();
    await Promise.all([pubsub?.stop(), airflow?.stop()]);
  });

  test('a publish to a topic pushed to / (topic from subscriptionTopics): one run, success, the task saw the conf', async () => {
    await pubsub.pushTo('commands', 'commands-to-root', `${fn.url}/`);
    const messageId = await pubsub.client
      .topic('commands')
      .publishMessage({json: {action: 'reload', table: 'orders'}});
    const [run] = await until('the run', async () => {
      const runs = await airflow.runsOf('handle_command');
      return runs.length ? runs : undefined;
    });
    const done = await airflow.finishedRun('handle_command', run!.dag_run_id);
    assert.equal(done.state, 'success');
    const received = {
      command: {action: 'reload', table: 'orders'},
      subscription: 'commands-to-root',
    };
    assert.deepEqual(done.conf, received);
    assert.deepEqual(
      await airflow.returnValue('handle_command', run!.dag_run_id),
      received,
    );
    const line = fn.logs.find(l => l.outcome === 'triggered');
    assert.equal(line?.eventId, messageId);
    assert.equal((await airflow.runsOf('handle_command')).length, 1);
  });

  test('Airflow down at the first push: the emulator redelivers, still exactly one run', async () => {
    await pubsub.pushTo(
      'commands-retry',
      'commands-retry-push',
      `${fn.url}/projects/${PUBSUB_PROJECT}/topics/commands`,
    );
    const before = (await airflow.runsOf('handle_command')).length;
    airflowDown = true;
    const messageId = await pubsub.client
      .topic('commands-retry')
      .publishMessage({json: {action: 'retry-me'}});
    await until('a retry outcome', async () =>
      fn.logs.find(l => l.outcome === 'retry' && l.eventId === messageId),
    );
    airflowDown = false;
    const line = await until(
      'the redelivery',
      async () =>
        fn.logs.find(l => l.outcome === 'triggered' && l.eventId === messageId),
      120_000,
    );
    const done = await airflow.finishedRun(
      'handle_command',
      String(line.dagRunId),
    );
    assert.equal(done.state, 'success');
    assert.deepEqual(done.conf, {
      command: {action: 'retry-me'},
      subscription: 'commands-retry-push',
    });
    // Give the emulator time to push anything else it had queued.
    await new Promise(r => setTimeout(r, 3_000));
    assert.equal((await airflow.runsOf('handle_command')).length, before + 1);
  });

  test('an upload notified through Pub/Sub: one run with the object; the Eventarc event of the same generation is a duplicate', async () => {
    await pubsub.pushTo(
      'gcs-notifications',
      'gcs-notifications-push',
      `${fn.url}/projects/${PUBSUB_PROJECT}/topics/gcs-notifications`,
    );
    const storage = new Storage({
      apiEndpoint: gcs.url,
      projectId: 'test-project',
    });
    const name = 'incoming/2026-11-22/orders.csv';
    const [file] = await storage
      .bucket(BUCKET)
      .file(name)
      .save('id,qty\n1,3\n', {contentType: 'text/csv', resumable: false})
      .then(() => storage.bucket(BUCKET).file(name).getMetadata());
    const generation = String(file.generation);
    const [run] = await until('the run', async () => {
      const runs = await airflow.runsOf('load_file');
      return runs.length ? runs : undefined;
    });
    const done = await airflow.finishedRun('load_file', run!.dag_run_id);
    assert.equal(done.state, 'success');
    const conf = {uri: `gs://${BUCKET}/${name}`, generation, size: 11};
    assert.deepEqual(done.conf, conf);
    assert.deepEqual(
      await airflow.returnValue('load_file', run!.dag_run_id),
      conf,
    );

    const eventarc = await fn.sendBinary({
      specversion: '1.0',
      type: 'google.cloud.storage.object.v1.finalized',
      source: `//storage.googleapis.com/projects/_/buckets/${BUCKET}`,
      subject: `objects/${name}`,
      id: 'eventarc-1',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: {...file, generation},
    });
    assert.equal(eventarc.status, 204, eventarc.body);
    const dup = fn.logs.find(l => l.eventId === 'eventarc-1');
    assert.equal(dup?.outcome, 'duplicate');
    assert.equal(dup?.dagRunId, run!.dag_run_id);
    assert.equal((await airflow.runsOf('load_file')).length, 1);
  });
});
