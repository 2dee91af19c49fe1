/**
 * `unmatched`: a Pub/Sub message no route matches (a command whose data is
 * not JSON) is dead-lettered by default, with why each route did not match;
 * a Storage object no route wants is acked with an INFO line. The function
 * under functions-framework, records in the Cloud Storage emulator.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {AirflowStandIn} from '../support/airflow-standin';
import {FunctionProcess} from '../support/function-process';
import {GcsEmulator} from '../support/gcs-emulator';
import {
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../support/events';

const BUCKET = 'unmatched-letters';

describe('unmatched events: dead letters for Pub/Sub, acks for Storage', () => {
  let af: AirflowStandIn;
  let gcs: GcsEmulator;
  let fn: FunctionProcess;

  before(async () => {
    af = await new AirflowStandIn('v2', {load: {}}).start();
    gcs = await GcsEmulator.start([BUCKET]);
    fn = await FunctionProcess.start(
      {
        environments: {af: {url: af.url, api: 'v2', auth: 'none'}},
        requestTimeout: '2s',
        functionTimeout: '10s',
        deadLetters: `gs://${BUCKET}/dl/`,
        routes: [
          {
            name: 'orders',
            match: {type: 'storage', name: {glob: 'incoming/**/*.csv'}},
            dag: 'load',
          },
          {
            name: 'commands',
            match: {type: 'pubsub', json: {dag_id: {exists: true}}},
            dag: '{{ json.dag_id }}',
            allowedDags: ['load'],
          },
        ],
      },
      {STORAGE_EMULATOR_HOST: gcs.host},
    );
  });

  after(async () => {
    await fn?.stop();
    await gcs?.stop();
    await af?.stop();
  });

  test('a command whose data is not JSON: a dead letter saying why each route did not match, at ERROR, acked', async () => {
    const ce = pubsubCloudEvent('run load now please');
    const res = await fn.sendBinary(ce);
    assert.ok(res.status >= 200 && res.status < 300, 'acked once stored');
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(line!.outcome, 'unmatched');
    assert.equal(line!.severity, 'ERROR');
    assert.deepEqual(line!.routes, [
      'route orders: type is google.cloud.pubsub.topic.v1.messagePublished, the route takes google.cloud.storage.object.v1.finalized',
      'route commands: json.dag_id: data is not JSON: "run load now please"',
    ]);
    assert.match(String(line!.deadLetter), /^gs:\/\/unmatched-letters\/dl\//);
    const [object] = await gcs.list(BUCKET);
    const record = await gcs.readJson(BUCKET, object!.name);
    assert.equal(record.outcome, 'unmatched');
    assert.match(String(record.reason), /json.dag_id: data is not JSON/);
    assert.equal(record.eventId, ce.id);
    // Redelivered: the same record, not a second one.
    await fn.sendBinary(ce);
    await fn.waitOutcomes({eventId: ce.id}, 2);
    assert.equal((await gcs.list(BUCKET)).length, 1);
  });

  test('an object no route wants: acked with an INFO line that says why, no record', async () => {
    const before = (await gcs.list(BUCKET)).length;
    const ce = storageCloudEvent(storageData('archive/old.csv'));
    const res = await fn.sendBinary(ce);
    assert.equal(res.status, 204);
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(line!.outcome, 'unmatched');
    assert.equal(line!.severity, 'INFO');
    assert.deepEqual(line!.routes, [
      'route orders: name did not match glob incoming/**/*.csv',
      'route commands: type is google.cloud.storage.object.v1.finalized, the route takes google.cloud.pubsub.topic.v1.messagePublished',
    ]);
    assert.equal((await gcs.list(BUCKET)).length, before);
  });
});
