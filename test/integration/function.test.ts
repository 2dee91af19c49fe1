/**
 * The function under the real functions-framework, fed as Eventarc feeds it,
 * against Airflow stand-ins that validate every request against the official
 * OpenAPI specs, with tokens from the metadata-server stand-in. Assertions
 * follow the outcome contract: 2xx for triggered, duplicate and rejected;
 * 5xx for retry.
 *
 * Over 300 lines: one suite per server set-up (functions-framework + stand-ins), one case per row of the outcome contract.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {AirflowStandIn} from '../support/airflow-standin';
import {MetadataServerStandIn} from '../support/metadata-server';
import {FunctionProcess} from '../support/function-process';
import {
  legacyPubsub,
  legacyStorage,
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../support/events';
import {dagRunId} from '../../src/routing/run-id';
import {normalizeEvent} from '../../src/events/normalize';

const ok = (status: number) => status >= 200 && status < 300;
const hoursAgo = (h: number) =>
  new Date(Date.now() - h * 3600_000).toISOString();

describe('function under functions-framework -> Airflow stand-ins', () => {
  let md: MetadataServerStandIn;
  let af3: AirflowStandIn;
  let af2: AirflowStandIn;
  let fn: FunctionProcess;

  before(async () => {
    md = await new MetadataServerStandIn().start();
    af3 = await new AirflowStandIn('v2', {
      load_csv: {},
      audit: {},
      refresh: {},
    }).start();
    af2 = await new AirflowStandIn('v1', {legacy_load: {}}).start();
    for (const a of [af3, af2]) a.expectedToken = () => md.currentToken;
    fn = await FunctionProcess.start(
      {
        environments: {
          af3: {url: af3.url, api: 'v2', auth: 'google'},
          af2: {url: af2.url, api: 'v1', auth: {mode: 'google'}},
        },
        maxEventAge: '1h',
        requestTimeout: '2s',
        functionTimeout: '10s',
        routes: [
          {
            name: 'csv',
            environment: 'af3',
            match: {
              type: 'storage',
              bucket: 'landing',
              name: {glob: 'in/**/*.csv'},
            },
            dag: 'load_csv',
            conf: {
              uri: 'gs://{{ bucket }}/{{ name }}',
              size: '{{ size }}',
              meta: '{{ metadata }}',
            },
            note: 'from {{ basename }}',
          },
          {
            name: 'audit',
            environment: 'af3',
            match: {type: 'storage', metadata: {audit: 'true'}},
            dag: 'audit',
          },
          {
            name: 'v1',
            environment: 'af2',
            match: {type: 'storage', name: {prefix: 'v1/'}},
            dag: 'legacy_load',
            conf: {name: '{{ name }}'},
          },
          {
            name: 'unknown',
            environment: 'af3',
            match: {type: 'storage', name: {prefix: 'unknown/'}},
            dag: 'not_deployed',
          },
          {
            name: 'faulty',
            environment: 'af3',
            match: {type: 'storage', name: {prefix: 'faulty/'}},
            dag: 'load_csv',
          },
          {
            name: 'commands',
            environment: 'af3',
            match: {
              type: 'pubsub',
              topic: 'commands',
              attributes: {kind: 'command'},
            },
            dag: '{{ json.dag }}',
            allowedDags: ['refresh'],
            conf: {
              params: '{{ json.params | default: {} }}',
              by: "{{ attributes.requester | default: 'unknown' }}",
            },
          },
        ],
      },
      {GCE_METADATA_HOST: md.host, GOOGLE_CLOUD_PROJECT: 'test-project'},
    );
  });

  after(async () => {
    await fn?.stop();
    await af3?.stop();
    await af2?.stop();
    await md?.stop();
  });

  test('a Storage event in Eventarc binary mode creates a DAG run with the rendered conf, as the service account', async () => {
    const ce = storageCloudEvent(
      storageData('in/2026/orders.csv', {metadata: {source: 'erp'}}),
    );
    const res = await fn.sendBinary(ce);
    assert.ok(ok(res.status), `status ${res.status}`);
    const [run] = af3
      .runsOf('load_csv')
      .filter(r => r.conf.uri === 'gs://landing/in/2026/orders.csv');
    assert.deepEqual(run, {
      dag_id: 'load_csv',
      dag_run_id: dagRunId(normalizeEvent(ce), 'csv'),
      conf: {
        uri: 'gs://landing/in/2026/orders.csv',
        size: 1234,
        meta: {source: 'erp'},
      },
      logical_date: null,
      note: 'from orders.csv',
    });
    const req = af3.requests.find(
      r => (r.body as {dag_run_id?: string})?.dag_run_id === run!.dag_run_id,
    )!;
    assert.equal(req.headers.authorization, `Bearer ${md.currentToken}`);
    assert.equal(req.path, '/api/v2/dags/load_csv/dagRuns');
    assert.deepEqual(af3.invalidRequests, []);
  });

  test('redelivery in binary, structured and gen1 legacy form: 409 -> duplicate, still exactly one run', async () => {
    const ce = storageCloudEvent(storageData('in/redelivered.csv'));
    assert.ok(ok((await fn.sendBinary(ce)).status));
    assert.ok(ok((await fn.sendBinary(ce)).status));
    assert.ok(ok((await fn.sendStructured(ce)).status));
    assert.ok(ok((await fn.sendLegacy(legacyStorage(ce))).status));
    assert.equal(
      af3
        .runsOf('load_csv')
        .filter(r => r.conf.uri === 'gs://landing/in/redelivered.csv').length,
      1,
    );
    const lines = await fn.waitOutcomes({eventId: ce.id, route: 'csv'}, 4);
    assert.deepEqual(
      lines.map(l => l.outcome),
      ['triggered', 'duplicate', 'duplicate', 'duplicate'],
    );
    assert.deepEqual(
      lines.map(l => l.httpStatus),
      [200, 409, 409, 409],
    );
  });

  test('fan-out: two routes matching one event create two runs in two DAGs, each reported on its own', async () => {
    const ce = storageCloudEvent(
      storageData('in/fan.csv', {metadata: {audit: 'true'}}),
    );
    assert.ok(ok((await fn.sendBinary(ce)).status));
    assert.equal(
      af3
        .runsOf('load_csv')
        .filter(r => r.conf.uri === 'gs://landing/in/fan.csv').length,
      1,
    );
    assert.equal(
      af3.runsOf('audit').filter(r => r.conf.name === 'in/fan.csv').length,
      1,
    );
    assert.deepEqual(
      (await fn.waitOutcomes({eventId: ce.id}, 2))
        .map(l => `${l.route}:${l.outcome}`)
        .sort(),
      ['audit:triggered', 'csv:triggered'],
    );
  });

  test('an Airflow 2 environment gets the /api/v1 body, valid against the v1 spec', async () => {
    const ce = storageCloudEvent(storageData('v1/file.txt'));
    assert.ok(ok((await fn.sendBinary(ce)).status));
    const [run] = af2.runsOf('legacy_load');
    assert.equal(run!.conf.name, 'v1/file.txt');
    const req = af2.requests.find(
      r => r.path === '/api/v1/dags/legacy_load/dagRuns',
    )!;
    assert.deepEqual(Object.keys(req.body as object).sort(), [
      'conf',
      'dag_run_id',
    ]);
    assert.deepEqual(af2.invalidRequests, []);
  });

  test('Pub/Sub command messages choose an allowlisted DAG; one outside the allowlist is rejected and acked', async () => {
    const good = pubsubCloudEvent(
      {dag: 'refresh', params: {full: true}},
      {kind: 'command', requester: 'ana'},
    );
    assert.ok(ok((await fn.sendBinary(good)).status));
    const [run] = af3.runsOf('refresh');
    assert.deepEqual(run!.conf, {params: {full: true}, by: 'ana'});

    const evil = pubsubCloudEvent({dag: 'drop_everything'}, {kind: 'command'});
    const res = await fn.sendBinary(evil);
    assert.ok(ok(res.status), 'rejected events are acked, not redelivered');
    const [line] = await fn.waitOutcomes({eventId: evil.id});
    assert.equal(line!.outcome, 'rejected');
    assert.equal(line!.severity, 'ERROR');
    assert.match(String(line!.reason), /not in the route's allowedDags/);
    assert.ok(line!.event, 'the dead-letter line carries the whole event');
  });

  test('the gen1 legacy Pub/Sub body routes exactly as its gen2 twin', async () => {
    const ce = pubsubCloudEvent(
      {dag: 'refresh', params: {n: 1}},
      {kind: 'command'},
      {id: 'twin-1'},
    );
    assert.ok(ok((await fn.sendLegacy(legacyPubsub(ce))).status));
    assert.ok(ok((await fn.sendBinary(ce)).status));
    assert.deepEqual(
      (await fn.waitOutcomes({eventId: 'twin-1'}, 2)).map(l => l.outcome),
      ['triggered', 'duplicate'],
    );
  });

  test('unknown DAG (404): retried (5xx) while the event is young, dead-lettered once older than maxEventAge', async () => {
    const young = storageCloudEvent(storageData('unknown/a.csv'));
    const r1 = await fn.sendBinary(young);
    assert.ok(r1.status >= 500, `young 404 -> ${r1.status}`);
    assert.equal(
      (await fn.waitOutcomes({eventId: young.id}))[0]!.outcome,
      'retry',
    );
    const old = storageCloudEvent(storageData('unknown/b.csv'), {
      time: hoursAgo(2),
    });
    const r2 = await fn.sendBinary(old);
    assert.ok(ok(r2.status), `old 404 -> ${r2.status}`);
    const [line] = await fn.waitOutcomes({eventId: old.id});
    assert.equal(line!.outcome, 'expired');
    assert.equal(line!.severity, 'ERROR');
    assert.equal(line!.httpStatus, 404);
    assert.deepEqual((line!.event as {data: unknown}).data, old.data);
  });

  test('an event time far in the future is rejected, and an event without a time is not retried forever (unknown DAG: expired at once)', async () => {
    const future = storageCloudEvent(storageData('unknown/c.csv'), {
      time: '2999-01-01T00:00:00Z',
    });
    assert.ok(ok((await fn.sendBinary(future)).status));
    const [ahead] = await fn.waitOutcomes({eventId: future.id});
    assert.equal(ahead!.outcome, 'rejected');
    assert.match(
      String(ahead!.reason),
      /event time 2999-01-01T00:00:00Z is \d+ minutes ahead/,
    );
    // No CloudEvent time, and no object timestamps to fall back on.
    const timeless = storageCloudEvent(
      storageData('unknown/d.csv', {
        timeCreated: undefined,
        updated: undefined,
      }),
    );
    delete timeless.time;
    assert.ok(ok((await fn.sendStructured(timeless)).status));
    const [line] = await fn.waitOutcomes({eventId: timeless.id});
    assert.equal(line!.outcome, 'expired');
    assert.match(String(line!.reason), /the event carries no time/);
  });

  test('a body Airflow refuses (422): rejected, acked, dead-lettered with the response excerpt', async () => {
    af3.faults.push({
      status: 422,
      body: JSON.stringify({detail: 'conf is not valid'}),
    });
    const ce = storageCloudEvent(storageData('faulty/x.csv'));
    assert.ok(ok((await fn.sendBinary(ce)).status));
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(line!.outcome, 'rejected');
    assert.match(String(line!.responseExcerpt), /conf is not valid/);
  });

  test('429 (Retry-After honoured), 503 and a connection reset are retried inside the delivery: one delivery, one run', async () => {
    const ce = storageCloudEvent(storageData('faulty/inside.csv'));
    af3.faults.push(
      {status: 429, headers: {'Retry-After': '1'}},
      {status: 503},
      {reset: true},
    );
    const started = Date.now();
    assert.ok(ok((await fn.sendBinary(ce)).status));
    assert.ok(
      Date.now() - started >= 1000,
      'waited the 1 s Retry-After asked for',
    );
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(line!.outcome, 'triggered');
    assert.equal(line!.attempts, 4);
    assert.equal(
      af3
        .runsOf('load_csv')
        .filter(r => r.conf.uri === 'gs://landing/faulty/inside.csv').length,
      1,
    );
  });

  test('a failure that outlasts the in-delivery retries goes back to the platform (5xx), whose redelivery then succeeds', async () => {
    const ce = storageCloudEvent(storageData('faulty/retry.csv'));
    af3.faults.push({status: 503}, {status: 503}, {status: 503}, {status: 503});
    assert.ok(
      (await fn.sendBinary(ce)).status >= 500,
      'four 503s: handed back to the platform',
    );
    af3.faults.push({status: 500});
    assert.ok(
      (await fn.sendBinary(ce)).status >= 500,
      'a 500 is not retried in the delivery: the platform backs off',
    );
    assert.ok(ok((await fn.sendBinary(ce)).status));
    const lines = await fn.waitOutcomes({eventId: ce.id}, 3);
    assert.deepEqual(
      lines.map(l => `${l.outcome}:${l.httpStatus}:${l.attempts}`),
      ['retry:503:4', 'retry:500:1', 'triggered:200:1'],
    );
  });

  test('an Airflow that hangs past requestTimeout: retry well inside the function timeout', async () => {
    af3.faults.push({hangMs: 4000, status: 200});
    const ce = storageCloudEvent(storageData('faulty/hang.csv'));
    const started = Date.now();
    const res = await fn.sendBinary(ce);
    assert.ok(res.status >= 500);
    assert.ok(Date.now() - started < 3900, 'gave up at the 2s request timeout');
    assert.match(
      String((await fn.waitOutcomes({eventId: ce.id}))[0]!.reason),
      /timeout/,
    );
  });

  test('events that are not ours or malformed: a clear rejection line and an ack, never a 500 loop', async () => {
    const cases: [string, () => Promise<{status: number}>, RegExp][] = [
      [
        'another event type',
        () =>
          fn.sendBinary({
            specversion: '1.0',
            id: 'bad-1',
            type: 'google.cloud.firestore.document.v1.written',
            source: '//firestore',
            data: {},
          }),
        /unsupported event type/,
      ],
      [
        'invalid base64 in a Pub/Sub message',
        () =>
          fn.sendBinary({
            ...pubsubCloudEvent('x'),
            id: 'bad-2',
            data: {message: {data: '%%%not-base64'}},
          }),
        /not valid base64/,
      ],
      [
        'a storage event without a name',
        () =>
          fn.sendBinary({
            ...storageCloudEvent(storageData('x')),
            id: 'bad-3',
            subject: undefined,
            data: {bucket: 'landing'},
          }),
        /no object name/,
      ],
      [
        'a body that is no event at all',
        () => fn.sendLegacy({hello: 'world'}),
        /neither a CloudEvent/,
      ],
      [
        'a gen1 event of another type',
        () =>
          fn.sendLegacy({
            data: {},
            context: {
              eventId: 'bad-5',
              eventType: 'providers/cloud.firestore/eventTypes/document.write',
              resource: 'projects/p/databases/(default)/documents/x',
            },
          }),
        /unsupported|Unable/,
      ],
    ];
    for (const [what, send, reason] of cases) {
      const before = fn.outcomes({outcome: 'rejected'}).length;
      const res = await send();
      assert.ok(ok(res.status), `${what}: status ${res.status}`);
      const lines = await fn.waitOutcomes({outcome: 'rejected'}, before + 1);
      assert.equal(lines.length, before + 1, `${what}: one rejection line`);
      assert.match(String(lines.at(-1)!.reason), reason, what);
    }
  });

  test('one token for many concurrent events; every outcome line carries the fields operators need and no token', async () => {
    const events = Array.from({length: 30}, (_, i) =>
      storageCloudEvent(storageData(`in/concurrent/${i}.csv`)),
    );
    const statuses = await Promise.all(
      events.map(e => fn.sendBinary(e).then(r => r.status)),
    );
    assert.ok(statuses.every(ok));
    assert.equal(
      md.tokenRequests,
      1,
      'one token fetch for the whole instance lifetime so far',
    );
    await fn.waitOutcomes({outcome: 'triggered'}, 30);
    for (const line of fn.outcomes({outcome: 'triggered'})) {
      for (const k of [
        'eventId',
        'source',
        'route',
        'environment',
        'dagId',
        'dagRunId',
        'httpStatus',
        'latencyMs',
        'severity',
        'message',
      ]) {
        assert.ok(
          line[k] !== undefined,
          `${k} missing in ${JSON.stringify(line)}`,
        );
      }
    }
    const all = fn.rawOutput.join('\n');
    for (const token of md.tokens)
      assert.ok(!all.includes(token), 'a token leaked into the logs');
  });

  test('traceparent from the event becomes Cloud Logging trace correlation', async () => {
    const ce = storageCloudEvent(storageData('in/traced.csv'));
    await fn.sendBinary(ce, {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(
      line!['logging.googleapis.com/trace'],
      'projects/test-project/traces/4bf92f3577b34da6a3ce929d0e0e4736',
    );
    assert.equal(line!['logging.googleapis.com/spanId'], '00f067aa0ba902b7');
  });
});

describe('function start-up and credentials', () => {
  test('a bad config refuses to start, listing every problem', async () => {
    const {code, output} = await FunctionProcess.startFailing({
      environments: {a: {url: 'nope', api: 'v2'}},
      routes: [{name: 'r', dag: 'bad dag'}],
    });
    assert.notEqual(code, 0);
    assert.match(output, /environments\.a\.url/);
    assert.match(
      output,
      /routes\.0\.dag: 'bad dag' is not a valid Airflow dag_id/,
    );
  });

  test('quick mode from env (AIRFLOW_URL + AIRFLOW_DAG_ID), and a token-fetch failure is a retry', async () => {
    const md = new MetadataServerStandIn();
    const af = new AirflowStandIn('v2', {quick_dag: {}});
    let fn: FunctionProcess | undefined;
    try {
      await md.start();
      await af.start();
      af.expectedToken = () => md.currentToken;
      fn = await FunctionProcess.start(undefined, {
        GCE_METADATA_HOST: md.host,
        AIRFLOW_URL: af.url,
        AIRFLOW_DAG_ID: 'quick_dag',
        GOOGLE_CLOUD_PROJECT: 'p',
      });
      md.failTokens = 503;
      const ce = storageCloudEvent(storageData('any/file.bin'));
      const r1 = await fn!.sendBinary(ce);
      assert.ok(r1.status >= 500, 'no token -> retry');
      assert.match(
        String((await fn!.waitOutcomes({eventId: ce.id}))[0]!.reason),
        /cannot get a Google access token/,
      );
      md.failTokens = undefined;
      assert.ok(ok((await fn!.sendBinary(ce)).status));
      assert.equal(af.runsOf('quick_dag').length, 1);
      assert.equal(
        af.runsOf('quick_dag')[0]!.conf.uri,
        'gs://landing/any/file.bin',
      );
    } finally {
      await fn?.stop();
      await af.stop();
      await md.stop();
    }
  });
});
