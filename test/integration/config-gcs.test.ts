/**
 * LAUNCHER_CONFIG=gs://bucket/object: the function under functions-framework
 * loads its config from a real Cloud Storage emulator (fake-gcs-server, real
 * @google-cloud/storage), picks up a new generation without a redeploy,
 * refuses a broken one while keeping the last good, and redelivers (never
 * drops) events while no good config exists.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {AirflowStandIn} from '../support/airflow-standin';
import {MetadataServerStandIn} from '../support/metadata-server';
import {FunctionProcess} from '../support/function-process';
import {GcsEmulator} from '../support/gcs-emulator';
import {storageCloudEvent, storageData} from '../support/events';
import {refreshIntervalMs} from '../../src/config/gcs-source';

const BUCKET = 'launcher-config';
const ok = (status: number) => status >= 200 && status < 300;

function yamlConfig(airflowUrl: string, dag: string): string {
  return [
    'environments:',
    `  main: { url: "${airflowUrl}", api: v2, auth: google }`,
    'requestTimeout: 2s',
    'functionTimeout: 10s',
    'routes:',
    '  - name: landing',
    '    match: { type: storage, name: { prefix: "in/" } }',
    `    dag: ${dag}`,
    '',
  ].join('\n');
}

describe('config in Cloud Storage (gs://bucket/object)', () => {
  let md: MetadataServerStandIn;
  let af: AirflowStandIn;
  let gcs: GcsEmulator;
  let env: Record<string, string>;
  const started: FunctionProcess[] = [];
  let n = 0;

  const start = async (uri: string, refresh: string) => {
    const fn = await FunctionProcess.start(uri, {
      ...env,
      LAUNCHER_CONFIG_REFRESH: refresh,
    });
    started.push(fn);
    return fn;
  };
  /** Sends fresh events until one is triggered in `dag` (a background reload lands between events). */
  const untilDag = async (fn: FunctionProcess, dag: string, tries = 50) => {
    for (let i = 0; i < tries; i++) {
      const ce = storageCloudEvent(storageData(`in/file-${n++}.csv`));
      await fn.sendBinary(ce);
      const [line] = await fn.waitOutcomes({eventId: ce.id});
      if (line?.dagId === dag && line.outcome === 'triggered') return i;
      await new Promise(r => setTimeout(r, 50));
    }
    throw new Error(
      `no event reached ${dag} in ${tries} tries:\n${fn.rawOutput.slice(-20).join('\n')}`,
    );
  };

  before(async () => {
    md = await new MetadataServerStandIn().start();
    af = await new AirflowStandIn('v2', {
      load_v1: {},
      load_v2: {},
      load_v3: {},
    }).start();
    af.expectedToken = () => md.currentToken;
    gcs = await GcsEmulator.start([BUCKET]);
    env = {
      GCE_METADATA_HOST: md.host,
      GOOGLE_CLOUD_PROJECT: 'test-project',
      STORAGE_EMULATOR_HOST: gcs.host,
    };
  });

  after(async () => {
    for (const fn of started) await fn.stop();
    await gcs?.stop();
    await af?.stop();
    await md?.stop();
  });

  test('loaded at cold start; a new generation takes effect without a redeploy; a broken one is refused and the last good kept', async () => {
    const first = await gcs.write(
      BUCKET,
      'prod/launcher.yaml',
      yamlConfig(af.url, 'load_v1'),
      'application/yaml',
    );
    const fn = await start(`gs://${BUCKET}/prod/launcher.yaml`, '0');
    assert.equal(
      await untilDag(fn, 'load_v1', 1),
      0,
      'the first event already runs on the gs:// config',
    );
    const ready = fn.logs.find(l => l.message === 'dag-launcher ready');
    assert.equal(
      ready?.configOrigin,
      `gs://${BUCKET}/prod/launcher.yaml#${first.generation}`,
    );
    const tokensBefore = md.tokenRequests;

    // A route change: upload a new generation.
    const second = await gcs.write(
      BUCKET,
      'prod/launcher.yaml',
      yamlConfig(af.url, 'load_v2'),
      'application/yaml',
    );
    assert.notEqual(second.generation, first.generation);
    await untilDag(fn, 'load_v2', 20);
    const reloaded = fn.logs.filter(
      l =>
        l.generation === second.generation &&
        /reloaded/.test(String(l.message)),
    );
    assert.equal(reloaded.length, 1, 'one INFO line per new generation');
    assert.equal(reloaded[0]!.severity, 'INFO');
    assert.equal(reloaded[0]!.previousGeneration, first.generation);
    assert.equal(
      md.tokenRequests,
      tokensBefore,
      'the unchanged environment keeps its target and its cached token',
    );

    // A broken generation: unknown environment and a bad duration.
    const broken = await gcs.write(
      BUCKET,
      'prod/launcher.yaml',
      yamlConfig(af.url, 'load_v3')
        .replace('functionTimeout: 10s', 'functionTimeout: soon')
        .replace(
          '    dag: load_v3',
          '    environment: nowhere\n    dag: load_v3',
        ),
      'application/yaml',
    );
    const deadline = Date.now() + 10_000;
    let refusals: typeof fn.logs = [];
    while (Date.now() < deadline && refusals.length === 0) {
      await untilDag(fn, 'load_v2', 1); // still routed by the last good config
      refusals = fn.logs.filter(
        l => l.generation === broken.generation && l.severity === 'ERROR',
      );
    }
    assert.equal(
      refusals.length,
      1,
      'one ERROR line for the refused generation',
    );
    assert.equal(refusals[0]!.keptGeneration, second.generation);
    const problems = (refusals[0]!.problems as string[]).join('\n');
    assert.match(problems, /functionTimeout/);
    assert.match(
      problems,
      /routes\.0\.environment: unknown environment 'nowhere'/,
    );
    for (let i = 0; i < 5; i++) await untilDag(fn, 'load_v2', 1);
    assert.equal(
      fn.logs.filter(
        l => l.generation === broken.generation && l.severity === 'ERROR',
      ).length,
      1,
      'checked again, not logged again',
    );

    // Fixed: the next good generation takes over.
    await gcs.write(
      BUCKET,
      'prod/launcher.yaml',
      yamlConfig(af.url, 'load_v3'),
      'application/yaml',
    );
    await untilDag(fn, 'load_v3', 20);
    assert.equal(
      fn.logs.filter(l => l.outcome === 'retry').length,
      0,
      'no event had to be redelivered throughout',
    );
  });

  test('the refresh interval is honoured: within it, a new generation is not read', async () => {
    await gcs.write(
      BUCKET,
      'slow/launcher.yaml',
      yamlConfig(af.url, 'load_v1'),
      'application/yaml',
    );
    const fn = await start(`gs://${BUCKET}/slow/launcher.yaml`, '1h');
    await untilDag(fn, 'load_v1', 1);
    await gcs.write(
      BUCKET,
      'slow/launcher.yaml',
      yamlConfig(af.url, 'load_v2'),
      'application/yaml',
    );
    for (let i = 0; i < 5; i++) await untilDag(fn, 'load_v1', 1);
    assert.equal(
      fn.logs.filter(l => /reloaded/.test(String(l.message))).length,
      0,
    );
  });

  test('JSON configs are read as JSON (by the object name)', async () => {
    const json = {
      environments: {main: {url: af.url, api: 'v2', auth: 'google'}},
      routes: [{name: 'j', match: {type: 'storage'}, dag: 'load_v3'}],
    };
    await gcs.write(BUCKET, 'json/launcher.json', JSON.stringify(json));
    const fn = await start(`gs://${BUCKET}/json/launcher.json`, '60');
    await untilDag(fn, 'load_v3', 1);
  });

  test('no good config yet (missing object, then a broken one): events are redelivered, not dropped, until it is fixed', async () => {
    const fn = await start(`gs://${BUCKET}/later/launcher.yaml`, '0');
    const ce = storageCloudEvent(storageData('in/waiting.csv'));
    const missing = await fn.sendBinary(ce);
    assert.ok(
      !ok(missing.status),
      `redeliver while the object is missing (got ${missing.status})`,
    );
    const [line] = await fn.waitOutcomes({eventId: ce.id, outcome: 'retry'});
    assert.equal(line?.severity, 'ERROR');
    assert.match(
      String(line?.reason),
      /no usable configuration from gs:\/\/launcher-config\/later\/launcher\.yaml: cannot read/,
    );

    await gcs.write(
      BUCKET,
      'later/launcher.yaml',
      'routes: [',
      'application/yaml',
    );
    const brokenTry = await fn.sendBinary(ce);
    assert.ok(!ok(brokenTry.status));
    const lines = await fn.waitOutcomes({eventId: ce.id, outcome: 'retry'}, 2);
    assert.match(String(lines[1]?.reason), /is invalid: not valid YAML/);

    await gcs.write(
      BUCKET,
      'later/launcher.yaml',
      yamlConfig(af.url, 'load_v1'),
      'application/yaml',
    );
    const fixed = await fn.sendBinary(ce);
    assert.ok(ok(fixed.status), 'the redelivery after the fix is acked');
    const [done] = await fn.waitOutcomes({
      eventId: ce.id,
      outcome: 'triggered',
    });
    assert.equal(done?.dagId, 'load_v1');
    assert.equal(
      af
        .runsOf('load_v1')
        .filter(
          r => r.conf && JSON.stringify(r.conf).includes('in/waiting.csv'),
        ).length,
      1,
    );
  });

  test('LAUNCHER_CONFIG_REFRESH: durations or seconds; nonsense refuses to start', async () => {
    assert.equal(refreshIntervalMs(undefined), 60_000);
    assert.equal(refreshIntervalMs('30'), 30_000);
    assert.equal(refreshIntervalMs('5m'), 300_000);
    assert.equal(refreshIntervalMs('0'), 0);
    assert.throws(() => refreshIntervalMs('often'), /LAUNCHER_CONFIG_REFRESH/);
    const failed = await FunctionProcess.startFailing(`gs://${BUCKET}/x.yaml`, {
      ...env,
      LAUNCHER_CONFIG_REFRESH: 'often',
    });
    assert.notEqual(failed.code, 0);
    assert.match(failed.output, /LAUNCHER_CONFIG_REFRESH/);
    const folder = await FunctionProcess.startFailing(`gs://${BUCKET}/`, env);
    assert.match(folder.output, /expected gs:\/\/bucket\/object/);
  });
});
