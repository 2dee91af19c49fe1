/**
 * The Airflow stand-in holds asset (dataset) requests to the OpenAPI spec
 * inside the provisioned Airflow package, as it does DAG-run requests: the
 * launcher's asset route passes it (request bodies, path and query
 * parameters, and the stand-in's own answers against the response schemas),
 * and a malformed asset request is refused with 400, recorded, and creates
 * nothing. And what the soak found on real Airflow, shown here in seconds:
 * a redelivery to an asset with a long history finds its event (the list is
 * searched as it streams, not cut at a 2 KB excerpt), an asset among many
 * sharing its URI prefix is found, a POST that Airflow commits after the
 * request timeout is found before the delivery gives up, and copies of one
 * event on one instance make one asset event.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {AirflowStandIn} from '../support/airflow-standin';
import {FunctionProcess} from '../support/function-process';
import {storageCloudEvent, storageData} from '../support/events';

const URI = 'gs://lake/sales/daily';
/** An asset with 30 others whose URIs start with its own. */
const CROWDED = 'gs://lake/crowded';
const ok = (status: number) => status >= 200 && status < 300;

describe('stand-in: asset endpoints checked against the Airflow packages’ OpenAPI specs', () => {
  let af2: AirflowStandIn;
  let af3: AirflowStandIn;
  let fn: FunctionProcess;

  before(async () => {
    af2 = await new AirflowStandIn('v1', {load: {}}).start();
    af3 = await new AirflowStandIn('v2', {load: {}}).start();
    for (const af of [af2, af3]) {
      for (let i = 0; i < 30; i++) af.declareAsset(`${CROWDED}/part-${i}`);
      af.declareAsset(CROWDED);
      af.declareAsset(URI);
    }
    fn = await FunctionProcess.start({
      environments: {
        af2: {url: af2.url, api: 'v1', auth: 'none'},
        af3: {url: af3.url, api: 'v2', auth: 'none'},
      },
      maxEventAge: '1h',
      requestTimeout: '2s',
      functionTimeout: '10s',
      routes: [
        ...['af2', 'af3'].map(environment => ({
          name: `${environment}-asset`,
          environment,
          match: {type: 'storage', name: {prefix: `${environment}/`}},
          asset: {uri: URI, extra: {object: 'gs://{{ bucket }}/{{ name }}'}},
        })),
        ...['af2', 'af3'].map(environment => ({
          name: `${environment}-crowded`,
          environment,
          match: {type: 'storage', name: {prefix: `${environment}-crowded/`}},
          asset: {uri: CROWDED},
        })),
        ...['af2', 'af3'].map(environment => ({
          name: `${environment}-run`,
          environment,
          match: {type: 'storage', name: {prefix: `${environment}-run/`}},
          dag: 'load',
        })),
      ],
    });
  });

  after(async () => {
    await fn?.stop();
    await af2?.stop();
    await af3?.stop();
  });

  for (const env of ['af2', 'af3'] as const) {
    const api = env === 'af2' ? 'v1' : 'v2';
    const standIn = () => (env === 'af2' ? af2 : af3);

    test(`${api}: the launcher's asset event and its redelivery pass the spec both ways: one event, then a duplicate`, async () => {
      const ce = storageCloudEvent(storageData(`${env}/sales.csv`));
      assert.ok(ok((await fn.sendBinary(ce)).status));
      assert.ok(ok((await fn.sendStructured(ce)).status));
      const lines = await fn.waitOutcomes({eventId: ce.id}, 2);
      assert.deepEqual(
        lines.map(l => l.outcome),
        ['triggered', 'duplicate'],
      );
      const events = standIn().assets.eventsOf(URI);
      assert.equal(events.length, 1);
      assert.equal(
        events[0]!.extra.object,
        `gs://landing/${env}/sales.csv`,
        'the rendered extra reached Airflow',
      );
      // Every asset endpoint the launcher uses was called, and checked.
      const called = standIn().requests.map(r => `${r.method} ${r.path}`);
      const expected =
        api === 'v2'
          ? [
              'GET /api/v2/assets',
              'GET /api/v2/assets/events',
              'POST /api/v2/assets/events',
            ]
          : [
              `GET /api/v1/datasets/${encodeURIComponent(URI)}`,
              'GET /api/v1/datasets/events',
              'POST /api/v1/datasets/events',
            ];
      for (const e of expected)
        assert.ok(called.includes(e), `${e} in ${called.join(', ')}`);
      assert.deepEqual(standIn().invalidRequests, []);
      assert.deepEqual(standIn().invalidResponses, []);
    });

    test(`${api}: the stand-in's DAG-run answers match the response schemas too`, async () => {
      const ce = storageCloudEvent(storageData(`${env}-run/a.csv`));
      assert.ok(ok((await fn.sendBinary(ce)).status));
      assert.ok(ok((await fn.sendBinary(ce)).status));
      const lines = await fn.waitOutcomes({eventId: ce.id}, 2);
      assert.deepEqual(
        lines.map(l => l.outcome),
        ['triggered', 'duplicate'],
      );
      assert.deepEqual(standIn().invalidRequests, []);
      assert.deepEqual(standIn().invalidResponses, []);
    });

    test(`${api}: malformed asset requests are refused with 400, recorded, and create nothing`, async () => {
      const id = standIn().declareAsset(URI);
      const before = standIn().assets.eventsOf(URI).length;
      const p = `/api/${api}`;
      const malformed: [string, string, unknown?][] =
        api === 'v2'
          ? [
              // asset_id must be an integer
              ['POST', `${p}/assets/events`, {asset_id: 'sales', extra: {}}],
              // Airflow 2's body on Airflow 3: asset_id missing, dataset_uri not allowed
              ['POST', `${p}/assets/events`, {dataset_uri: URI, extra: {}}],
              // extra must be an object
              ['POST', `${p}/assets/events`, {asset_id: id, extra: 'x'}],
              ['GET', `${p}/assets/events?asset_id=sales`],
              // a query parameter the operation does not have
              ['GET', `${p}/assets?uri=${encodeURIComponent(URI)}`],
              ['GET', `${p}/assets?limit=-1`],
            ]
          : [
              // dataset_uri is required
              ['POST', `${p}/datasets/events`, {uri: URI, extra: {}}],
              ['POST', `${p}/datasets/events`, {dataset_uri: 7, extra: {}}],
              ['POST', `${p}/datasets/events`, {dataset_uri: URI, extra: []}],
              ['GET', `${p}/datasets/events?dataset_id=sales`],
              [
                'GET',
                `${p}/datasets/events?dataset_uri=${encodeURIComponent(URI)}`,
              ],
            ];
      for (const [method, path, body] of malformed) {
        const seen = standIn().invalidRequests.length;
        const res = await fetch(standIn().url + path, {
          method,
          headers: {'Content-Type': 'application/json'},
          ...(body !== undefined && {body: JSON.stringify(body)}),
        });
        assert.equal(
          res.status,
          400,
          `${method} ${path} ${JSON.stringify(body)}`,
        );
        const refused = standIn().invalidRequests.slice(seen);
        assert.equal(refused.length, 1, `${method} ${path} recorded`);
        assert.equal(refused[0]!.path, path);
      }
      assert.equal(standIn().assets.eventsOf(URI).length, before);
      assert.deepEqual(standIn().invalidResponses, []);
    });

    test(`${api}: an asset with a long history: the redelivery still finds its event among the latest 100`, async () => {
      const refused = standIn().invalidRequests.length;
      const first = storageCloudEvent(storageData(`${env}/history-0.csv`));
      assert.ok(ok((await fn.sendBinary(first)).status));
      // 60 events since, each with an extra of a few hundred bytes: a list far past any kept excerpt.
      const id = standIn().declareAsset(URI);
      for (let i = 0; i < 60; i++) {
        const res = await fetch(
          `${standIn().url}/api/${api}/${api === 'v2' ? 'assets' : 'datasets'}/events`,
          {
            method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify(
              api === 'v2'
                ? {asset_id: id, extra: {other: 'x'.repeat(300), i}}
                : {dataset_uri: URI, extra: {other: 'x'.repeat(300), i}},
            ),
          },
        );
        assert.equal(res.status, 200);
      }
      assert.ok(ok((await fn.sendStructured(first)).status));
      const lines = await fn.waitOutcomes({eventId: first.id}, 2);
      assert.deepEqual(
        lines.map(l => l.outcome),
        ['triggered', 'duplicate'],
      );
      assert.equal(
        standIn()
          .assets.eventsOf(URI)
          .filter(e => e.extra.object === `gs://landing/${env}/history-0.csv`)
          .length,
        1,
      );
      assert.deepEqual(standIn().invalidRequests.slice(refused), []);
    });

    test(`${api}: an asset among 30 whose URIs start with its own is found, and its event created once`, async () => {
      const refused = standIn().invalidRequests.length;
      const ce = storageCloudEvent(storageData(`${env}-crowded/a.csv`));
      assert.ok(ok((await fn.sendBinary(ce)).status));
      assert.ok(ok((await fn.sendBinary(ce)).status));
      const lines = await fn.waitOutcomes({eventId: ce.id}, 2);
      assert.deepEqual(
        lines.map(l => l.outcome),
        ['triggered', 'duplicate'],
      );
      assert.equal(standIn().assets.eventsOf(CROWDED).length, 1);
      assert.deepEqual(standIn().invalidRequests.slice(refused), []);
      assert.deepEqual(standIn().invalidResponses, []);
    });

    test(`${api}: a POST that Airflow commits after the request timeout is found before the delivery gives up: one event, acked`, async () => {
      // The asset's id is cached first, so the next delivery makes two requests: the look-up, the POST.
      const warm = storageCloudEvent(storageData(`${env}/late-warm.csv`));
      assert.ok(ok((await fn.sendBinary(warm)).status));
      const ce = storageCloudEvent(storageData(`${env}/late.csv`));
      standIn().faults.push({}, {hangMs: 3000}); // the POST: handled after 3 s, past requestTimeout 2s
      const res = await fn.sendBinary(ce);
      assert.ok(ok(res.status), `acked (${res.status})`);
      const [line] = await fn.waitOutcomes({eventId: ce.id});
      assert.equal(line!.outcome, 'triggered');
      assert.match(
        String(line!.reason),
        /no answer within the request timeout.*found the event afterwards/,
      );
      // A redelivery after it is a duplicate, not a second event.
      assert.ok(ok((await fn.sendBinary(ce)).status));
      assert.equal(
        (await fn.waitOutcomes({eventId: ce.id}, 2))[1]!.outcome,
        'duplicate',
      );
      assert.equal(
        standIn()
          .assets.eventsOf(URI)
          .filter(e => e.extra.object === `gs://landing/${env}/late.csv`)
          .length,
        1,
      );
    });

    test(`${api}: three copies of one event at the same moment on one instance make one asset event`, async () => {
      const ce = storageCloudEvent(storageData(`${env}/copies.csv`));
      const answers = await Promise.all([
        fn.sendBinary(ce),
        fn.sendStructured(ce),
        fn.sendBinary(ce),
      ]);
      assert.ok(answers.every(a => ok(a.status)));
      const lines = await fn.waitOutcomes({eventId: ce.id}, 3);
      assert.deepEqual(lines.map(l => l.outcome).sort(), [
        'duplicate',
        'duplicate',
        'triggered',
      ]);
      assert.equal(
        standIn()
          .assets.eventsOf(URI)
          .filter(e => e.extra.object === `gs://landing/${env}/copies.csv`)
          .length,
        1,
      );
    });
  }
});
