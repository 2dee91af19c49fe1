/**
 * Bounded work per event, under the real functions-framework with the heap
 * of a small instance: poison messages (JSON nested thousands deep, 3.5 MiB
 * of data, names past Cloud Storage's limit) end `rejected` with a dead
 * letter in Cloud Storage (fake-gcs-server) and a 2xx, never a 500 that the
 * platform redelivers forever; outcome lines stay under Cloud Logging's
 * 256 KB with the event's size, the whole event only in the record; and a
 * burst of maximum-size messages does not bring the process down.
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

const BUCKET = 'dead-letters';
const ok = (status: number) => status >= 200 && status < 300;
/** The bench's small instance (test/bench/bench.ts). */
const SMALL_HEAP = '--max-old-space-size=96 --max-semi-space-size=4';
const LOG_ENTRY_LIMIT = 256 * 1024;

describe('bounded work per event (functions-framework, small heap)', () => {
  let af: AirflowStandIn;
  let gcs: GcsEmulator;
  let fn: FunctionProcess;

  before(async () => {
    af = await new AirflowStandIn('v2', {refresh: {}, load_csv: {}}).start();
    gcs = await GcsEmulator.start([BUCKET]);
    fn = await FunctionProcess.start(
      {
        environments: {main: {url: af.url, api: 'v2', auth: 'none'}},
        requestTimeout: '5s',
        functionTimeout: '60s',
        deadLetters: `gs://${BUCKET}/launcher`,
        routes: [
          {
            name: 'csv',
            match: {type: 'storage'},
            dag: 'load_csv',
            conf: {uri: 'gs://{{ bucket }}/{{ name }}', json: '{{ metadata }}'},
          },
          {
            name: 'commands',
            match: {type: 'pubsub'},
            dag: "{{ json.dag | default: 'refresh' }}",
            allowedDags: ['refresh'],
          },
        ],
      },
      {
        NODE_OPTIONS: SMALL_HEAP,
        STORAGE_EMULATOR_HOST: gcs.host,
        GOOGLE_CLOUD_PROJECT: 'test-project',
      },
    );
  });

  after(async () => {
    await fn?.stop();
    await gcs?.stop();
    await af?.stop();
  });

  /** The outcome line of the event with this id (in the line's event when it could not be read), and its dead letter. */
  async function deadLetterOf(id: string) {
    const mentions = (l: Record<string, unknown>) =>
      l.eventId === id ||
      JSON.stringify([l.event, l.eventExcerpt]).includes(`id\\":\\"${id}`) ||
      JSON.stringify([l.event, l.eventExcerpt]).includes(`"id":"${id}"`);
    const deadline = Date.now() + 15_000;
    let line = fn.outcomes().find(mentions);
    while (!line && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 20));
      line = fn.outcomes().find(mentions);
    }
    assert.ok(line, `an outcome line for ${id}`);
    assert.equal(line.outcome, 'rejected', String(line.reason));
    const uri = String(line.deadLetter);
    assert.match(uri, new RegExp(`^gs://${BUCKET}/launcher/`));
    const name = uri.slice(`gs://${BUCKET}/`.length);
    return {line, record: await gcs.readJson(BUCKET, name)};
  }

  test('a Pub/Sub message whose data is JSON nested 5,000 deep: rejected with a dead letter and a 2xx, not a 500 redelivered forever', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const ce = pubsubCloudEvent(deep, {}, {id: 'deep-data'});
    const res = await fn.sendBinary(ce);
    assert.ok(ok(res.status), `answered ${res.status}: ${res.body}`);
    const {line, record} = await deadLetterOf('deep-data');
    assert.match(String(line.reason), /nested more than 100 levels deep/);
    const message = (record.event as {data: {message: {data: string}}}).data
      .message;
    assert.equal(
      Buffer.from(message.data, 'base64').toString(),
      deep,
      'the whole message in the record',
    );
  });

  test('a delivery nested 5,000 deep in the event itself: rejected, the record keeps it as JSON text', async () => {
    // Written out as text: JSON.stringify itself overflows on it.
    const nested = `${'['.repeat(5000)}"x"${']'.repeat(5000)}`;
    const data = JSON.stringify(storageData('in/deep.csv'));
    const ce = storageCloudEvent({}, {id: 'deep-event'});
    const res = await fn.sendBinary({
      ...ce,
      data: `${data.slice(0, -1)},"extra":${nested}}`,
    });
    assert.ok(ok(res.status), `answered ${res.status}: ${res.body}`);
    const {line, record} = await deadLetterOf('deep-event');
    assert.match(String(line.reason), /nested more than 100 levels deep/);
    const kept = record.event as {bodyBase64: string; id: string};
    assert.equal(kept.id, 'deep-event', 'named from its ce-id header');
    const text = Buffer.from(kept.bodyBase64, 'base64').toString();
    assert.ok(text.includes(`"extra":${nested}`), 'the whole body, as sent');
  });

  test('dense JSON (5 MiB of `{},`, 1.7 million objects) in message data: not parsed, so the small instance lives and decides it', async () => {
    const dense = `[${'{},'.repeat(1.75 * 2 ** 20)}{}]`;
    const ce = pubsubCloudEvent(dense, {}, {id: 'dense-data'});
    const res = await fn.sendBinary(ce);
    assert.ok(ok(res.status), `answered ${res.status}: ${res.body}`);
    // The route's `json.dag | default: 'refresh'` takes its default, as for data that is not JSON;
    // its default conf carries the message, which is over maxConfBytes.
    const {line} = await deadLetterOf('dense-data');
    assert.match(String(line.reason), /over maxConfBytes/);
    assert.equal(fn.exitCode, null, 'the process is alive');
  });

  test('a delivery that is dense JSON itself (a structured CloudEvent of 5 MiB of `{},`): rejected with the bytes in the record', async () => {
    const body = `{"specversion":"1.0","id":"dense-event","type":"google.cloud.pubsub.topic.v1.messagePublished","source":"//pubsub.googleapis.com/projects/p/topics/t","data":[${'{},'.repeat(1.75 * 2 ** 20)}{}]}`;
    const res = await fn.post(
      {'Content-Type': 'application/cloudevents+json'},
      body,
    );
    assert.ok(ok(res.status), `answered ${res.status}: ${res.body}`);
    const deadline = Date.now() + 15_000;
    const dense = () =>
      fn
        .outcomes({outcome: 'rejected'})
        .find(l =>
          /request body is JSON of more than 5,000 values/.test(
            String(l.reason),
          ),
        );
    while (!dense() && Date.now() < deadline)
      await new Promise(r => setTimeout(r, 20));
    const line = dense();
    assert.ok(line, 'an outcome line saying why');
    const uri = String(line.deadLetter);
    const record = await gcs.readJson(
      BUCKET,
      uri.slice(`gs://${BUCKET}/`.length),
    );
    const kept = record.event as {bodyBase64: string; bodyBytes: number};
    assert.equal(kept.bodyBytes, body.length);
    assert.equal(Buffer.from(kept.bodyBase64, 'base64').toString(), body);
    assert.equal(fn.exitCode, null, 'the process is alive');
  });

  test('a 3.5 MiB message: rejected with a dead letter holding the whole event, and a 2xx', async () => {
    const payload = JSON.stringify({
      dag: 'refresh',
      blob: 'b'.repeat(3.5 * 2 ** 20),
    });
    const ce = pubsubCloudEvent(payload, {}, {id: 'big-3.5'});
    const res = await fn.sendBinary(ce);
    assert.ok(ok(res.status), `answered ${res.status}: ${res.body}`);
    const {line, record} = await deadLetterOf('big-3.5');
    assert.match(String(line.reason), /over maxConfBytes/);
    const message = (record.event as {data: {message: {data: string}}}).data
      .message;
    assert.equal(Buffer.from(message.data, 'base64').toString(), payload);
  });

  test('the outcome line of a 3 MB event is under 256 KB and states the event size; the whole event is only in the dead letter', async () => {
    const payload = 'p'.repeat(3_000_000);
    const ce = pubsubCloudEvent(payload, {}, {id: 'big-line'});
    assert.ok(ok((await fn.sendBinary(ce)).status));
    const {line, record} = await deadLetterOf('big-line');
    const raw = fn.rawOutput.find(l => l.includes('"eventId":"big-line"'));
    assert.ok(raw, 'the raw outcome line');
    assert.ok(
      Buffer.byteLength(raw) < LOG_ENTRY_LIMIT,
      `line of ${Buffer.byteLength(raw)} bytes`,
    );
    assert.equal(line.event, undefined, 'no whole event in the line');
    assert.ok(
      Number(line.eventBytes) > 4_000_000,
      `eventBytes ${String(line.eventBytes)}`,
    );
    assert.equal(
      Number(line.eventBytes),
      Buffer.byteLength(JSON.stringify(record.event)),
      'the size of the event as the record keeps it',
    );
    assert.match(String(line.eventExcerpt), /^\{".*"id":"big-line"/);
    const data = (record.event as {data: {message: {data: string}}}).data
      .message.data;
    assert.equal(Buffer.from(data, 'base64').toString(), payload);
  });

  test("an object name over Cloud Storage's 1,024 bytes: rejected naming the limit", async () => {
    const ce = storageCloudEvent(storageData(`in/${'n'.repeat(1100)}.csv`), {
      id: 'long-name',
    });
    assert.ok(ok((await fn.sendBinary(ce)).status));
    const {line} = await deadLetterOf('long-name');
    assert.match(
      String(line.reason),
      /object name is 1107 bytes, over Cloud Storage's limit of 1,024 bytes/,
    );
  });

  test('a burst of 10 MB messages at once: every one answered 2xx and dead-lettered, the process stays up', async () => {
    const burst = 8;
    const payload = JSON.stringify({
      dag: 'refresh',
      blob: 'z'.repeat(10e6 - 40),
    });
    const answers = await Promise.all(
      Array.from({length: burst}, (_, i) =>
        fn.sendBinary(pubsubCloudEvent(payload, {}, {id: `burst-${i}`})),
      ),
    );
    assert.equal(fn.exitCode, null, 'the process is still running');
    assert.deepEqual(
      answers.map(a => a.status).filter(s => !ok(s)),
      [],
      'every delivery answered 2xx',
    );
    for (let i = 0; i < burst; i++) await deadLetterOf(`burst-${i}`);
  });
});

describe('a burst of small dense messages (each under the admission threshold) on a small heap', () => {
  let af: AirflowStandIn;
  let fn: FunctionProcess;

  before(async () => {
    af = await new AirflowStandIn('v2', {d1: {}}).start();
    fn = await FunctionProcess.start(
      {
        environments: {main: {url: af.url, api: 'v2', auth: 'none'}},
        requestTimeout: '10s',
        functionTimeout: '60s',
        routes: [
          {
            name: 'commands',
            match: {type: 'pubsub', json: {dag: {exists: true}}},
            dag: '{{ json.dag }}',
            allowedDags: ['d1'],
            conf: {d: '{{ json.dag }}'},
          },
        ],
      },
      {NODE_OPTIONS: SMALL_HEAP},
    );
  });

  after(async () => {
    await fn?.stop();
    await af?.stop();
  });

  test('40 messages of 47,000 objects each, all waiting on a slow Airflow at once: the parsed data is let go while they wait, every one triggers, the process lives', async () => {
    const burst = 40;
    for (let i = 0; i < burst; i++) af.faults.push({hangMs: 2000});
    const data = `{"dag":"d1","x":[${'{},'.repeat(46_999)}{}]}`;
    const answers = await Promise.all(
      Array.from({length: burst}, (_, i) =>
        fn.sendBinary(pubsubCloudEvent(data, {}, {id: `dense-${i}`})),
      ),
    );
    assert.equal(fn.exitCode, null, 'the process is alive');
    assert.deepEqual(
      answers.map(a => a.status).filter(s => !ok(s)),
      [],
    );
    const lines = await fn.waitOutcomes({outcome: 'triggered'}, burst, 20_000);
    assert.equal(lines.length, burst);
  });
});
