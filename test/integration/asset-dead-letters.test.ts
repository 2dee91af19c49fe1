/**
 * Asset routes' outcome lines and dead letters name the asset (`assetUri`),
 * never an empty `dagId`; `dag-launcher replay` re-creates an asset event
 * from its record once the asset exists, and a redelivered one is a
 * duplicate. Against the Airflow stand-in's asset endpoints (v2, checked
 * against Airflow 3's spec), fake-gcs-server and the function under
 * functions-framework. Then what an environment on `api: auto` that turns
 * out to be an Airflow 2 older than 2.9 does with an asset event: rejected,
 * saying why.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Writable} from 'node:stream';
import {AirflowStandIn} from '../support/airflow-standin';
import {MetadataServerStandIn} from '../support/metadata-server';
import {FunctionProcess} from '../support/function-process';
import {GcsEmulator} from '../support/gcs-emulator';
import {storageCloudEvent, storageData} from '../support/events';
import {runCli} from '../support/cli';
import {dagRunId} from '../../src/routing/run-id';
import {normalizeEvent} from '../../src/events/normalize';
import {compileConfig} from '../../src/config/compile';
import {buildTargets} from '../../src/airflow/targets';
import {createHandler} from '../../src/handler';
import {createLogger} from '../../src/logging/logger';
import type {DeadLetterRecord} from '../../src/outcomes/dead-letters';

const BUCKET = 'dead-letters';
const ASSET = 'gs://lake/sales';
const hoursAgo = (h: number) =>
  new Date(Date.now() - h * 3600_000).toISOString();

describe('asset routes: outcome lines, dead letters and replay name the asset', () => {
  let md: MetadataServerStandIn;
  let af: AirflowStandIn;
  let gcs: GcsEmulator;
  let fn: FunctionProcess;
  let configPath: string;
  let env: Record<string, string>;

  before(async () => {
    md = await new MetadataServerStandIn().start();
    af = await new AirflowStandIn('v2').start();
    gcs = await GcsEmulator.start([BUCKET]);
    configPath = join(
      mkdtempSync(join(tmpdir(), 'dag-launcher-asset-')),
      'launcher.json',
    );
    writeFileSync(
      configPath,
      JSON.stringify({
        environments: {lake: {url: af.url, api: 'v2', auth: 'none'}},
        maxEventAge: '1h',
        requestTimeout: '2s',
        functionTimeout: '10s',
        deadLetters: `gs://${BUCKET}/launcher`,
        routes: [
          {
            name: 'sales',
            match: {type: 'storage', name: {prefix: 'sales/'}},
            asset: {uri: ASSET, extra: {object: '{{ name }}'}},
          },
        ],
      }),
    );
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

  const replay = async (...args: string[]) =>
    (
      await runCli(
        ['replay', `gs://${BUCKET}/launcher/`, '--config', configPath, ...args],
        env,
      )
    ).lines();

  test('an expired asset event: the line and the record carry assetUri and no dagId; replay creates it once the asset exists', async () => {
    const ce = storageCloudEvent(storageData('sales/2026-11-20.csv'), {
      time: hoursAgo(2),
    });
    assert.equal((await fn.sendBinary(ce)).status, 204);
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(line!.outcome, 'expired');
    assert.equal(line!.assetUri, ASSET);
    assert.equal('dagId' in line!, false, JSON.stringify(line));
    assert.match(String(line!.reason), /Airflow has no asset with URI/);

    const key = dagRunId(normalizeEvent(ce), 'sales');
    const name = `launcher/sales/${key}.json`;
    const record = await gcs.readJson(BUCKET, name);
    assert.equal(record.route, 'sales');
    assert.equal(record.assetUri, ASSET);
    assert.equal('dagId' in record, false, JSON.stringify(record));
    assert.equal(record.dagRunId, key);

    const dry = await replay('--dry-run');
    assert.deepEqual(dry[0]!.routes, [
      {
        route: 'sales',
        assetUri: ASSET,
        dagRunId: key,
        extra: {object: 'sales/2026-11-20.csv', dag_launcher_event: key},
        outcome: 'would-trigger',
        reason: 'dry run: nothing sent',
      },
    ]);

    af.declareAsset(ASSET); // the DAG scheduled on it is deployed
    const done = await replay();
    assert.equal(done[0]!.action, 'deleted', JSON.stringify(done));
    assert.deepEqual(done[0]!.routes, [
      {
        route: 'sales',
        assetUri: ASSET,
        dagRunId: key,
        outcome: 'triggered',
        httpStatus: 200,
        reason: 'asset event created',
      },
    ]);
    assert.deepEqual(
      af.assets.eventsOf(ASSET).map(e => e.extra),
      [
        {
          object: 'sales/2026-11-20.csv',
          dag_launcher_event: key,
          from_rest_api: true, // Airflow marks events made through its API
        },
      ],
    );
    assert.deepEqual(await gcs.list(BUCKET, 'launcher/'), []);

    // Delivered again (the platform's redelivery): found by its key, no second asset event.
    assert.equal((await fn.sendBinary(ce)).status, 204);
    const [, again] = await fn.waitOutcomes({eventId: ce.id}, 2);
    assert.equal(again!.outcome, 'duplicate', JSON.stringify(again));
    assert.equal(again!.assetUri, ASSET);
    assert.equal(af.assets.eventsOf(ASSET).length, 1);
  });
});

describe('an asset route on api: auto that finds an Airflow 2 before 2.9', () => {
  let af: AirflowStandIn;
  before(async () => {
    af = await new AirflowStandIn('v1').start();
    af.version = '2.7.3';
  });
  after(async () => af?.stop());

  test('is rejected saying the version, what to do, and that replay re-sends it; no retry, nothing sent but the version probe', async () => {
    const config = compileConfig(
      {
        environments: {old: {url: af.url, api: 'auto', auth: 'none'}},
        requestTimeout: '2s',
        functionTimeout: '10s',
        routes: [{name: 'sales', asset: {uri: ASSET}}],
      },
      'test',
    );
    const lines: Record<string, unknown>[] = [];
    const records: DeadLetterRecord[] = [];
    const handle = createHandler({
      config,
      logger: createLogger(
        new Writable({
          write(chunk: Buffer, _enc, done) {
            for (const l of chunk.toString('utf8').split('\n'))
              if (l.trim())
                lines.push(JSON.parse(l) as Record<string, unknown>);
            done();
          },
        }),
        {},
      ),
      targets: buildTargets(config, {}),
      deadLetters: {
        write: async r => {
          records.push(r);
          return 'memory';
        },
      },
    });
    await handle(storageCloudEvent(storageData('sales/a.csv')));
    await new Promise(r => setImmediate(r));
    const outcome = lines.find(l => 'outcome' in l)!;
    assert.equal(outcome.outcome, 'rejected');
    assert.equal(outcome.assetUri, ASSET);
    assert.equal('dagId' in outcome, false);
    assert.equal('httpStatus' in outcome, false, 'Airflow did not refuse it');
    assert.equal(
      outcome.reason,
      "asset events need Airflow 2.9+ (POST /api/v1/datasets/events), and environment 'old' runs Airflow 2.7.3: upgrade it, or trigger the DAGs scheduled on the asset with dag: routes; then replay this dead letter (dag-launcher replay)",
    );
    assert.equal(records.length, 1);
    assert.equal(records[0]!.assetUri, ASSET);
    assert.deepEqual(
      af.requests.map(r => `${r.method} ${r.path}`),
      ['GET /api/v2/version', 'GET /api/v1/version'],
    );
  });
});
