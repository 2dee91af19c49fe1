/**
 * Deliveries functions-framework's own CloudEvent handling fails on, and
 * what reaches stdout/stderr: the function under the real framework, fed
 * malformed and hostile deliveries. Every one gets a clear outcome (never a
 * 500 the platform would redeliver forever), and every line printed is a JSON
 * log line: nothing the event controls, and no stack, outside JSON strings.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {AirflowStandIn} from '../support/airflow-standin';
import {FunctionProcess} from '../support/function-process';
import {
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../support/events';
import {gzipSync} from 'node:zlib';
import {STORAGE_FINALIZED} from '../../src/events/event';
import {normalizeEvent} from '../../src/events/normalize';
import {dagRunId} from '../../src/routing/run-id';

describe('malformed deliveries and log hygiene under functions-framework', () => {
  let af: AirflowStandIn;
  let fn: FunctionProcess;

  before(async () => {
    af = await new AirflowStandIn('v2', {load: {}}).start();
    fn = await FunctionProcess.start({
      environments: {af: {url: af.url, api: 'v2', auth: 'none'}},
      requestTimeout: '2s',
      functionTimeout: '10s',
      retry: {attempts: 1},
      routes: [
        {name: 'files', match: {type: 'storage'}, dag: 'load'},
        {
          name: 'commands',
          match: {type: 'pubsub'},
          dag: '{{ json.dag | default: "load" }}',
          allowedDags: ['load'],
        },
      ],
    });
  });

  after(async () => {
    await fn?.stop();
    await af?.stop();
  });

  /** Every line printed so far is one JSON object, and none is a stack frame. */
  function assertOnlyJsonLines(): void {
    for (const line of fn.rawOutput) {
      assert.doesNotMatch(line, /^\s+at /, 'no stack trace');
      assert.doesNotThrow(() => JSON.parse(line), `not a JSON line: ${line}`);
    }
  }

  test('a retried event whose id carries a newline and a forged JSON line: only JSON lines, no stack, nothing forged', async () => {
    af.faults.push({status: 500});
    const forged = '{"severity":"ERROR","message":"forged by the event"}';
    const res = await fn.sendStructured(
      storageCloudEvent(storageData('in/forged.csv'), {
        id: `evt-1\n${forged}\n`,
      }),
    );
    assert.equal(res.status, 500, 'the retry is a 5xx: redelivered');
    const [line] = await fn.waitOutcomes({outcome: 'retry'});
    assert.equal(line!.eventId, `evt-1\n${forged}\n`, 'kept, inside JSON');
    await new Promise(r => setTimeout(r, 100));
    assertOnlyJsonLines();
    assert.ok(
      !fn.logs.some(l => l.message === 'forged by the event'),
      'no forged line',
    );
  });

  test('a binary-mode event sent as text/plain: rejected as not JSON and acked, not a 500 loop', async () => {
    const res = await fn.post(
      {
        'Content-Type': 'text/plain',
        'ce-specversion': '1.0',
        'ce-id': 'text-1',
        'ce-type': STORAGE_FINALIZED,
        'ce-source': '//storage.googleapis.com/projects/_/buckets/landing',
      },
      'hello\n{"severity":"ERROR"}',
    );
    assert.equal(res.status, 204);
    const [line] = await fn.waitOutcomes({eventId: 'text-1'});
    assert.equal(line!.outcome, 'rejected');
    assert.match(String(line!.reason), /data is not JSON: hello/);
    assertOnlyJsonLines();
  });

  /** What functions-framework's body parsers answered themselves, with a plain-text stack: here each is an outcome. */
  const binaryHeaders = (id: string) => ({
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-type': STORAGE_FINALIZED,
    'ce-source': '//storage.googleapis.com/projects/_/buckets/landing',
  });

  test('a body that is not the JSON its Content-Type claims: rejected with a dead letter and acked, not a plain-text 400', async () => {
    const res = await fn.post(
      {'Content-Type': 'application/json', ...binaryHeaders('badjson-1')},
      '{"name": "in/a.csv", oops',
    );
    assert.equal(res.status, 204);
    const [line] = await fn.waitOutcomes({eventId: 'badjson-1'});
    assert.equal(line!.outcome, 'rejected');
    assert.match(
      String(line!.reason),
      /request body is not JSON \(Content-Type "application\/json"\): "\{\\"name/,
    );
    assert.ok(line!.deadLetter, 'a dead letter keeps it');
    const push = await fn.post(
      {'Content-Type': 'application/json'},
      '{"message": {"data": "e30=", "messageId": "m-1"',
    );
    assert.equal(push.status, 204);
    await new Promise(r => setTimeout(r, 300));
    assert.ok(
      fn.logs.some(
        l =>
          l.outcome === 'rejected' &&
          /request body is not JSON/.test(String(l.reason)) &&
          typeof l.deadLetter === 'string' &&
          l.eventId === undefined,
      ),
    );
    assertOnlyJsonLines();
  });

  test('a gzip body (which the framework would inflate, up to 1 GB): rejected naming the encoding, the bytes kept as sent', async () => {
    const body = gzipSync(JSON.stringify(storageData('in/zipped.csv')));
    const res = await fn.post(
      {
        'Content-Type': 'application/json',
        'Content-Encoding': 'gzip',
        ...binaryHeaders('gzip-1'),
      },
      body,
    );
    assert.equal(res.status, 204);
    const [line] = await fn.waitOutcomes({eventId: 'gzip-1'});
    assert.equal(line!.outcome, 'rejected');
    assert.match(String(line!.reason), /Content-Encoding "gzip"/);
    const event = line!.event as Record<string, unknown>;
    assert.equal(event.bodyBase64, body.toString('base64'));
    assert.equal(event.contentEncoding, 'gzip');
    assert.equal(event.id, 'gzip-1');
    // A body that does not even inflate: the same, where the framework answered 400 with a zlib stack.
    const broken = await fn.post(
      {'Content-Encoding': 'deflate', ...binaryHeaders('gzip-2')},
      'not deflated',
    );
    assert.equal(broken.status, 204);
    const [second] = await fn.waitOutcomes({eventId: 'gzip-2'});
    assert.match(String(second!.reason), /Content-Encoding "deflate"/);
    assertOnlyJsonLines();
  });

  test('a charset other than UTF-8: rejected naming it, not a plain-text 415', async () => {
    const res = await fn.post(
      {
        'Content-Type': 'application/json; charset=latin1',
        ...binaryHeaders('latin1-1'),
      },
      JSON.stringify(storageData('in/latin.csv')),
    );
    assert.equal(res.status, 204);
    const [line] = await fn.waitOutcomes({eventId: 'latin1-1'});
    assert.equal(line!.outcome, 'rejected');
    assert.match(
      String(line!.reason),
      /charset is "latin1"; this function reads UTF-8/,
    );
    assertOnlyJsonLines();
  });

  test('a body over the largest delivery (16 MiB) is not read: rejected by its size, the record keeps its headers and size', async () => {
    const size = 17 * 2 ** 20;
    const res = await fn.post(
      {'Content-Type': 'application/json', ...binaryHeaders('huge-1')},
      Buffer.alloc(size, 0x61),
    );
    assert.equal(res.status, 204);
    const [line] = await fn.waitOutcomes({eventId: 'huge-1'});
    assert.equal(line!.outcome, 'rejected');
    assert.match(
      String(line!.reason),
      /is 17,825,792 bytes, over the largest delivery/,
    );
    const event = line!.event as Record<string, unknown>;
    assert.equal(event.bodyBytes, size);
    assert.equal(event.bodyBase64, '');
    assertOnlyJsonLines();
  });

  test('a push body is read as JSON whatever its Content-Type (curl -d sends a form type); one that is not UTF-8 is rejected saying so', async () => {
    const push = (id: string) =>
      JSON.stringify({
        subscription: 'projects/acme/subscriptions/push',
        message: {
          data: 'e30=',
          messageId: id,
          publishTime: new Date().toISOString(),
        },
      });
    const form = await fn.post(
      {'Content-Type': 'application/x-www-form-urlencoded'},
      push('form-1'),
    );
    assert.equal(form.status, 204);
    assert.equal(
      (await fn.waitOutcomes({eventId: 'form-1'}))[0]!.outcome,
      'triggered',
    );
    const latin = Buffer.concat([
      Buffer.from(push('latin-2').slice(0, -3)),
      Buffer.from([0xe9]),
      Buffer.from('"}}'),
    ]);
    assert.equal(
      (await fn.post({'Content-Type': 'application/json'}, latin)).status,
      204,
    );
    await new Promise(r => setTimeout(r, 300));
    assert.ok(
      fn.logs.some(l =>
        /request body is not UTF-8 \(Content-Type "application\/json"\)/.test(
          String(l.reason),
        ),
      ),
    );
  });

  test('a body without Content-Type is read as JSON (the event is kept, not null)', async () => {
    const res = await fn.post(
      binaryHeaders('notype-1'),
      JSON.stringify(storageData('in/notype.csv', {bucket: 'landing'})),
    );
    assert.equal(res.status, 204);
    const [line] = await fn.waitOutcomes({eventId: 'notype-1'});
    assert.equal(line!.outcome, 'triggered');
  });

  test('a push to a path the router cannot decode (a stray %, %FF): read literally and triggered, not a plain-text 400', async () => {
    for (const [path, id] of [
      ['/projects/acme/topics/100%', 'pct-1'],
      ['/projects/acme/topics/%FF', 'pct-2'],
    ]) {
      const res = await fetch(`${fn.url}${path}`, {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({
          subscription: 'projects/acme/subscriptions/push',
          message: {
            data: 'e30=',
            messageId: id,
            publishTime: new Date().toISOString(),
          },
        }),
      });
      assert.equal(res.status, 204, path);
      const [line] = await fn.waitOutcomes({eventId: id});
      assert.ok(line, `an outcome for ${path}`);
    }
    assertOnlyJsonLines();
  });

  test('a GET: 405 and one JSON line, not a 500', async () => {
    const res = await fetch(`${fn.url}/projects/p?x=%0A{"severity":"ERROR"}`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    await new Promise(r => setTimeout(r, 100));
    assert.ok(fn.logs.some(l => l.httpMethod === 'GET'));
    assertOnlyJsonLines();
  });

  test('a gen1 Storage body whose resource names a real project (the framework cannot split it) is triggered', async () => {
    const res = await fn.sendLegacy({
      data: storageData('in/gen1.csv', {bucket: 'landing'}),
      context: {
        eventId: 'gen1-1',
        timestamp: new Date().toISOString(),
        eventType: 'google.storage.object.finalize',
        resource: {
          service: 'storage.googleapis.com',
          name: 'projects/acme-data/buckets/landing/objects/in/gen1.csv',
          type: 'storage#object',
        },
      },
    });
    assert.equal(res.status, 204);
    const [line] = await fn.waitOutcomes({eventId: 'gen1-1'});
    assert.equal(line!.outcome, 'triggered');
  });

  test('a Pub/Sub push body posted straight to the function (the emulator) is triggered, topic from the path', async () => {
    const res = await fetch(`${fn.url}/projects/acme/topics/commands`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({
        subscription: 'projects/acme/subscriptions/push',
        message: {
          data: Buffer.from('{"x":1}').toString('base64'),
          messageId: 'push-1',
          publishTime: new Date().toISOString(),
        },
      }),
    });
    assert.equal(res.status, 204);
    const [line] = await fn.waitOutcomes({eventId: 'push-1'});
    assert.equal(line!.outcome, 'triggered');
    assert.equal(
      line!.source,
      '//pubsub.googleapis.com/projects/acme/topics/commands',
    );
    assertOnlyJsonLines();
  });

  test('the line of an event that cannot be read names it from the delivery: eventId, eventType, source (strings, cut to 256)', async () => {
    await fn.sendStructured({
      specversion: '1.0',
      id: 'unreadable-1',
      type: 'com.example.unsupported',
      source: `//example/${'s'.repeat(1000)}`,
      data: {},
    });
    const [line] = await fn.waitOutcomes({eventId: 'unreadable-1'});
    assert.equal(line!.outcome, 'rejected');
    assert.equal(line!.eventType, 'com.example.unsupported');
    assert.equal(String(line!.source).length, 257);
    await fn.sendLegacy({
      data: {},
      context: {
        eventId: 'gen1-bad',
        eventType: 'google.storage.object.delete',
        resource: 7,
      },
    });
    const [gen1] = await fn.waitOutcomes({eventId: 'gen1-bad'});
    assert.equal(gen1!.eventType, 'google.storage.object.delete');
    assert.equal(gen1!.source, undefined, 'a non-string is left out');
  });

  test('an allowlist rejection names the DAG and run id it would have triggered', async () => {
    const ce = pubsubCloudEvent({dag: 'not_allowed'});
    await fn.sendStructured(ce);
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(line!.outcome, 'rejected');
    assert.equal(line!.dagId, 'not_allowed');
    assert.equal(line!.dagRunId, dagRunId(normalizeEvent(ce), 'commands'));
  });
});
