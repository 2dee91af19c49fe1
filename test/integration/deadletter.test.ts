/**
 * Dead letters in a real Cloud Storage emulator (fake-gcs-server, through
 * STORAGE_EMULATOR_HOST and the real @google-cloud/storage) and
 * `dag-launcher replay`, with the function under functions-framework against
 * the Airflow stand-in and the metadata-server stand-in.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {AirflowStandIn} from '../support/airflow-standin';
import {MetadataServerStandIn} from '../support/metadata-server';
import {FunctionProcess} from '../support/function-process';
import {GcsEmulator} from '../support/gcs-emulator';
import {
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../support/events';
import {runCli} from '../support/cli';
import {dagRunId} from '../../src/routing/run-id';
import {normalizeEvent} from '../../src/events/normalize';
import {VERSION} from '../../src/core/version';

const ok = (status: number) => status >= 200 && status < 300;
const hoursAgo = (h: number) =>
  new Date(Date.now() - h * 3600_000).toISOString();
const BUCKET = 'dead-letters';

describe('dead letters in Cloud Storage, and replay', () => {
  let md: MetadataServerStandIn;
  let af: AirflowStandIn;
  let gcs: GcsEmulator;
  let fn: FunctionProcess;
  let configPath: string;
  let env: Record<string, string>;

  before(async () => {
    md = await new MetadataServerStandIn().start();
    af = await new AirflowStandIn('v2', {load_csv: {}, refresh: {}}).start();
    af.expectedToken = () => md.currentToken;
    gcs = await GcsEmulator.start([BUCKET]);
    const config = {
      environments: {main: {url: af.url, api: 'v2', auth: 'google'}},
      maxEventAge: '1h',
      requestTimeout: '2s',
      functionTimeout: '10s',
      deadLetters: `gs://${BUCKET}/launcher`,
      routes: [
        {
          name: 'csv',
          match: {type: 'storage', name: {prefix: 'in/'}},
          dag: 'load_csv',
          conf: {uri: 'gs://{{ bucket }}/{{ name }}'},
        },
        {
          name: 'late',
          match: {type: 'storage', name: {prefix: 'late/'}},
          dag: 'arrives_later',
        },
        {
          name: 'commands',
          match: {type: 'pubsub'},
          dag: '{{ json.dag }}',
          allowedDags: ['refresh'],
        },
      ],
    };
    configPath = join(
      mkdtempSync(join(tmpdir(), 'dag-launcher-dl-')),
      'launcher.json',
    );
    writeFileSync(configPath, JSON.stringify(config));
    env = {
      GCE_METADATA_HOST: md.host,
      GOOGLE_CLOUD_PROJECT: 'test-project',
      STORAGE_EMULATOR_HOST: gcs.host,
    };
    fn = await FunctionProcess.start(configPath, env);
  });

  after(async () => {
    await fn?.stop();
    await gcs?.stop();
    await af?.stop();
    await md?.stop();
  });

  const records = async () => gcs.list(BUCKET, 'launcher/');

  test('a rejected event: one JSON record with everything needed to act on it, one ERROR line; redelivery writes no second record', async () => {
    const ce = storageCloudEvent(storageData('in/refused.csv'));
    af.faults.push({
      status: 400,
      body: JSON.stringify({detail: 'conf is not valid for this DAG'}),
    });
    assert.ok(ok((await fn.sendBinary(ce)).status), 'rejected is acked');
    const name = `launcher/csv/${dagRunId(normalizeEvent(ce), 'csv')}.json`;
    const stored = (await records()).filter(o => o.name === name);
    assert.equal(stored.length, 1, `record at ${name}`);
    const record = await gcs.readJson(BUCKET, name);
    assert.equal(record.outcome, 'rejected');
    assert.equal(record.route, 'csv');
    assert.equal(record.dagId, 'load_csv');
    assert.equal(record.httpStatus, 400);
    assert.match(
      String(record.responseExcerpt),
      /conf is not valid for this DAG/,
    );
    assert.match(String(record.reason), /400/);
    assert.equal(record.launcherVersion, VERSION);
    assert.ok(!Number.isNaN(Date.parse(String(record.firstSeen))));
    assert.equal(
      (record.event as {id: string}).id,
      ce.id,
      'the original event',
    );
    assert.deepEqual((record.event as {data: unknown}).data, ce.data);
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(line!.severity, 'ERROR');
    assert.equal(line!.deadLetter, `gs://${BUCKET}/${name}`);

    af.faults.push({status: 400});
    assert.ok(ok((await fn.sendBinary(ce)).status));
    await fn.waitOutcomes({eventId: ce.id}, 2);
    const again = (await records()).filter(o => o.name === name);
    assert.equal(again.length, 1);
    assert.equal(
      again[0]!.generation,
      stored[0]!.generation,
      'the first record is kept, not overwritten',
    );
  });

  test('an expired event (unknown DAG, older than maxEventAge) and an unreadable event are dead-lettered too', async () => {
    const old = storageCloudEvent(storageData('late/a.csv'), {
      time: hoursAgo(2),
    });
    assert.ok(ok((await fn.sendBinary(old)).status));
    const rec = await gcs.readJson(
      BUCKET,
      `launcher/late/${dagRunId(normalizeEvent(old), 'late')}.json`,
    );
    assert.equal(rec.outcome, 'expired');
    assert.equal(rec.httpStatus, 404);

    const bad = {
      ...pubsubCloudEvent('x'),
      id: 'unreadable-1',
      data: {message: {data: '%%%not-base64'}},
    };
    assert.ok(ok((await fn.sendBinary(bad)).status));
    const unrouted = (await records()).filter(o =>
      o.name.startsWith('launcher/_unrouted/'),
    );
    assert.equal(unrouted.length, 1);
    const r = await gcs.readJson(BUCKET, unrouted[0]!.name);
    assert.match(String(r.reason), /base64/);
    assert.equal((r.event as {id: string}).id, 'unreadable-1');
  });

  test('if the dead letter cannot be written, the event is not acked: the platform redelivers it', async () => {
    const broken = await FunctionProcess.start(
      {
        environments: {main: {url: af.url, api: 'v2', auth: 'google'}},
        deadLetters: 'gs://no-such-bucket/x/',
        routes: [{name: 'csv', match: {type: 'storage'}, dag: 'load_csv'}],
      },
      env,
    );
    try {
      const ce = storageCloudEvent(storageData('in/nowhere.csv'));
      af.faults.push({status: 422});
      const res = await broken.sendBinary(ce);
      assert.ok(res.status >= 500, `status ${res.status}: redeliver`);
      const [line] = await broken.waitOutcomes({eventId: ce.id});
      assert.equal(line!.outcome, 'retry');
      assert.equal(line!.wouldBe, 'rejected');
      assert.match(String(line!.deadLetterError), /no-such-bucket/);
    } finally {
      await broken.stop();
    }
  });

  // Asynchronously: the stand-ins it talks to live in this process.
  const replay = async (...args: string[]) => {
    const r = await runCli(
      ['replay', `gs://${BUCKET}/launcher/`, '--config', configPath, ...args],
      env,
    );
    const lines = r.lines();
    // The timing fields (elapsedMs, recordsPerSecond) vary; the rest is asserted.
    const {elapsedMs, recordsPerSecond, ...summary} = lines.at(-1)!
      .summary as Record<string, number>;
    assert.ok(elapsedMs! >= 0 && recordsPerSecond! >= 0);
    return {status: r.status, lines, stderr: r.stderr, summary};
  };

  test('replay --dry-run reports what it would trigger and changes nothing', async () => {
    const before = (await records()).map(o => o.name).sort();
    const {status, lines, summary} = await replay('--dry-run');
    assert.equal(status, 3, 'some records would stay');
    assert.equal(summary.records, before.length);
    const late = lines.find(l => String(l.record).includes('/late/'))!;
    assert.equal(late.action, 'would-replay');
    assert.equal((late.routes as {dagId: string}[])[0]!.dagId, 'arrives_later');
    assert.deepEqual((await records()).map(o => o.name).sort(), before);
    assert.equal(af.runsOf('arrives_later').length, 0);
  });

  test('replay after the fix: same run ids, records that now succeed are deleted, a run that already exists is a duplicate, the rest stay', async () => {
    af.dags.arrives_later = {}; // the operator deploys the missing DAG
    const refusedName = (await records()).find(o =>
      o.name.startsWith('launcher/csv/'),
    )!.name;
    const refusedRecord = await gcs.read(BUCKET, refusedName);

    const first = await replay();
    assert.equal(first.status, 3, first.stderr);
    const byRoute = (route: string) =>
      first.lines.find(l => String(l.record).includes(`/${route}/`))!;
    assert.equal(byRoute('late').action, 'deleted');
    assert.equal(
      (byRoute('late').routes as {outcome: string}[])[0]!.outcome,
      'triggered',
    );
    assert.equal(byRoute('csv').action, 'deleted');
    assert.equal(byRoute('_unrouted').action, 'kept');
    assert.match(
      String(byRoute('_unrouted').reason),
      /still not a valid event/,
    );
    assert.equal(af.runsOf('arrives_later').length, 1);
    const [lateRun] = af.runsOf('arrives_later');
    assert.match(lateRun!.dag_run_id, /late/);
    assert.deepEqual(
      (await records()).map(o => o.name.split('/')[1]),
      ['_unrouted'],
    );

    // The same record again (say, restored from a backup): its run exists, so it is a duplicate, not a second run.
    await gcs.write(BUCKET, refusedName, refusedRecord);
    const second = await replay();
    const dup = second.lines.find(
      l => l.record === `gs://${BUCKET}/${refusedName}`,
    )!;
    assert.equal((dup.routes as {outcome: string}[])[0]!.outcome, 'duplicate');
    assert.equal(dup.action, 'deleted');
    assert.equal(
      af
        .runsOf('load_csv')
        .filter(r => r.conf.uri === 'gs://landing/in/refused.csv').length,
      1,
    );
    assert.deepEqual(second.summary, {
      records: 2,
      replayed: 1,
      kept: 1,
      skipped: 0,
      dryRun: false,
    });
  });
});
