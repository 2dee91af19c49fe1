/**
 * End to end through functions-framework into the REAL Apache Airflow 2 and 3
 * (from PyPI, test/airflow/provision.sh), in every auth mode and API variant.
 * Google identity is stood in for by the metadata-server and Composer
 * front-door stand-ins; everything else is real. Runs are read back from
 * Airflow's own API.
 *
 * Over 300 lines: one shared real Airflow per generation is expensive to start, so every case that needs it lives in this one suite.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {RealAirflow} from '../support/airflow-server';
import {ComposerFrontDoorStandIn} from '../support/composer-front-door';
import {FunctionProcess} from '../support/function-process';
import {MetadataServerStandIn} from '../support/metadata-server';
import {ComposerApiStandIn} from '../support/composer-api';
import {storageCloudEvent, storageData} from '../support/events';
import {dagRunId} from '../../src/routing/run-id';
import {normalizeEvent} from '../../src/events/normalize';

const ok = (s: number) => s >= 200 && s < 300;
const IAP_AUDIENCE = '123456789-abcdef.apps.googleusercontent.com';
const file = (
  name: string,
  extra: Record<string, unknown> = {},
  over: Record<string, unknown> = {},
) => storageCloudEvent(storageData(name, extra), over);

for (const major of [3, 2] as const) {
  describe(`real Airflow ${major}`, () => {
    let airflow: RealAirflow;
    let md: MetadataServerStandIn;
    let composer: ComposerFrontDoorStandIn;
    let iapDoor: ComposerFrontDoorStandIn;
    let fn: FunctionProcess;
    let composerApi: ComposerApiStandIn;
    const COMPOSER_NAME = `projects/test-project/locations/us-central1/environments/airflow${major}`;
    const api = major === 3 ? 'v2' : 'v1';
    const nativeAuth = major === 3 ? 'airflow-jwt' : 'basic';

    before(async () => {
      airflow = await RealAirflow.start(major, {
        dags: ['load_csv', 'audit', 'typed_load', 'paused_dag', 'broken_load'],
        paused: ['paused_dag'],
        experimentalApi: major === 2,
      });
      md = await new MetadataServerStandIn().start();
      composer = await new ComposerFrontDoorStandIn(md, airflow).start();
      iapDoor = await new ComposerFrontDoorStandIn(md, airflow, {
        iapAudience: IAP_AUDIENCE,
      }).start();
      composerApi = await new ComposerApiStandIn(md).start();
      composerApi.addEnvironment(
        COMPOSER_NAME,
        composer.url,
        major === 3
          ? 'composer-3-airflow-3.1.7-build.2'
          : 'composer-2.9.7-airflow-2.10.2',
      );
      const route = (
        name: string,
        environment: string,
        prefix: string,
        dag: string,
        extra: Record<string, unknown> = {},
      ) => ({
        name,
        environment,
        match: {type: 'storage', name: {prefix}},
        dag,
        conf: {uri: 'gs://{{ bucket }}/{{ name }}', size: '{{ size }}'},
        ...extra,
      });
      const environments: Record<string, unknown> = {
        composer: {url: composer.url, api, auth: 'google'},
        iap: {
          url: iapDoor.url,
          api,
          auth: {mode: 'iap', audience: IAP_AUDIENCE},
        },
        native: {
          url: airflow.url,
          api,
          auth: {
            mode: nativeAuth,
            username: airflow.username,
            passwordEnv: 'AIRFLOW_PASSWORD',
          },
        },
        open: {url: composer.url, api, auth: 'none'},
        auto: {url: composer.url, api: 'auto', auth: 'google'},
        named: {composer: COMPOSER_NAME, auth: 'google'},
      };
      const routes = [
        route('google', 'composer', 'google/', 'load_csv'),
        route('fan-a', 'composer', 'fan/', 'load_csv'),
        route('fan-b', 'composer', 'fan/', 'audit'),
        route('unknown', 'composer', 'unknown/', 'not_deployed'),
        route('refused', 'composer', 'refused/', 'typed_load', {
          conf: {n: 'not-a-number'},
        }),
        route('iap', 'iap', 'iap/', 'load_csv'),
        route('native', 'native', 'native/', 'load_csv'),
        route('open', 'open', 'open/', 'load_csv'),
        route('paused', 'composer', 'paused/', 'paused_dag'),
        route('auto', 'auto', 'auto/', 'load_csv'),
        route('named', 'named', 'named/', 'load_csv'),
        route('note', 'composer', 'note/', 'load_csv', {
          note: 'loaded from {{ name }} ({{ metadata.origin }})',
        }),
        route('broken', 'native', 'broken/', 'broken_load'),
      ];
      if (major === 2) {
        environments.experimental = {
          url: airflow.url,
          api: 'experimental',
          auth: {
            mode: 'basic',
            username: airflow.username,
            passwordEnv: 'AIRFLOW_PASSWORD',
          },
        };
        routes.push(route('experimental', 'experimental', 'exp/', 'load_csv'));
        routes.push(route('burst', 'experimental', 'burst/', 'audit'));
      }
      fn = await FunctionProcess.start(
        {
          environments,
          routes,
          maxEventAge: '1h',
          requestTimeout: '20s',
          functionTimeout: '60s',
        },
        {
          GCE_METADATA_HOST: md.host,
          GOOGLE_CLOUD_PROJECT: 'test-project',
          AIRFLOW_PASSWORD: airflow.password,
          COMPOSER_API_ENDPOINT: composerApi.url,
        },
      );
    });

    after(async () => {
      await fn?.stop();
      await iapDoor?.stop();
      await composer?.stop();
      await composerApi?.stop();
      await md?.stop();
      await airflow?.stop();
    });

    const runsFor = async (dag: string, uri: string) =>
      (await airflow.runsOf(dag)).filter(r => r.conf.uri === uri);

    test(`auth google (Composer ${major === 3 ? '3' : '2'}): a Storage event creates the run; redelivery is a 409 duplicate, still one run`, async () => {
      const ce = file('google/orders.csv');
      assert.ok(ok((await fn.sendBinary(ce)).status));
      const runs = await runsFor('load_csv', 'gs://landing/google/orders.csv');
      assert.equal(runs.length, 1);
      assert.equal(runs[0]!.dag_run_id, dagRunId(normalizeEvent(ce), 'google'));
      assert.deepEqual(runs[0]!.conf, {
        uri: 'gs://landing/google/orders.csv',
        size: 1234,
      });
      assert.ok(ok((await fn.sendBinary(ce)).status));
      assert.deepEqual(
        (await fn.waitOutcomes({eventId: ce.id}, 2)).map(
          l => `${l.outcome}:${l.httpStatus}`,
        ),
        ['triggered:200', 'duplicate:409'],
      );
      assert.equal(
        (await runsFor('load_csv', 'gs://landing/google/orders.csv')).length,
        1,
      );
      assert.ok(composer.admitted >= 2);
    });

    test('two routes matching one event create two runs in two DAGs', async () => {
      const ce = file('fan/x.csv');
      assert.ok(ok((await fn.sendBinary(ce)).status));
      assert.equal(
        (await runsFor('load_csv', 'gs://landing/fan/x.csv')).length,
        1,
      );
      assert.equal(
        (await runsFor('audit', 'gs://landing/fan/x.csv')).length,
        1,
      );
    });

    test('unknown DAG: 404 -> retry while young, expired (dead-lettered) when older than maxEventAge', async () => {
      const young = file('unknown/a.csv');
      assert.ok((await fn.sendBinary(young)).status >= 500);
      assert.deepEqual(
        (await fn.waitOutcomes({eventId: young.id})).map(
          l => `${l.outcome}:${l.httpStatus}`,
        ),
        ['retry:404'],
      );
      const old = file(
        'unknown/b.csv',
        {},
        {time: new Date(Date.now() - 2 * 3600_000).toISOString()},
      );
      assert.ok(ok((await fn.sendBinary(old)).status));
      assert.deepEqual(
        (await fn.waitOutcomes({eventId: old.id})).map(
          l => `${l.outcome}:${l.httpStatus}`,
        ),
        ['expired:404'],
      );
    });

    test("a body Airflow refuses (conf breaks the DAG's params): rejected with Airflow's 400, acked, no run", async () => {
      const ce = file('refused/x.csv');
      assert.ok(ok((await fn.sendBinary(ce)).status));
      const [line] = await fn.waitOutcomes({eventId: ce.id});
      assert.equal(line!.outcome, 'rejected');
      assert.equal(line!.httpStatus, 400);
      assert.equal((await airflow.runsOf('typed_load')).length, 0);
    });

    test('auth iap (Composer 1 / IAP): an ID token for the IAP client id from the metadata server', async () => {
      const ce = file('iap/x.csv');
      assert.ok(ok((await fn.sendBinary(ce)).status));
      assert.equal(
        (await runsFor('load_csv', 'gs://landing/iap/x.csv')).length,
        1,
      );
      assert.ok(md.idTokens.some(t => t.audience === IAP_AUDIENCE));
      assert.ok(iapDoor.admitted >= 1);
    });

    test(`auth ${nativeAuth} (self-managed Airflow ${major}): Airflow's own credentials, password from an env var`, async () => {
      const events = [
        file('native/1.csv'),
        file('native/2.csv'),
        file('native/3.csv'),
      ];
      for (const ce of events) assert.ok(ok((await fn.sendBinary(ce)).status));
      for (const i of [1, 2, 3])
        assert.equal(
          (await runsFor('load_csv', `gs://landing/native/${i}.csv`)).length,
          1,
        );
    });

    test('auth none against a loopback URL', async () => {
      // The front door refuses requests without a Google token: 401 -> retry, which is the contract for auth failures.
      const ce = file('open/x.csv');
      assert.ok((await fn.sendBinary(ce)).status >= 500);
      assert.deepEqual(
        (await fn.waitOutcomes({eventId: ce.id})).map(
          l => `${l.outcome}:${l.httpStatus}`,
        ),
        ['retry:401'],
      );
    });

    if (major === 2) {
      test('experimental API (Airflow 1.10 contract on Airflow 2): triggers; its "already exists" 400 is a duplicate once the run list shows our run', async () => {
        const ce = file('exp/x.csv');
        assert.ok(ok((await fn.sendBinary(ce)).status));
        assert.ok(ok((await fn.sendBinary(ce)).status));
        const lines = await fn.waitOutcomes({eventId: ce.id}, 2);
        assert.deepEqual(
          lines.map(l => `${l.outcome}:${l.httpStatus}`),
          ['triggered:200', 'duplicate:400'],
        );
        assert.match(
          String(lines[1]!.reason),
          /GET \/api\/v1\/dags\/load_csv\/dagRuns\/\S+ found the run/,
        );
        assert.equal(
          (await runsFor('load_csv', 'gs://landing/exp/x.csv')).length,
          1,
        );
      });
    }

    if (major === 2) {
      test('experimental API: 5 distinct files delivered at once make 5 runs (no execution date shared within the second)', async () => {
        const events = [1, 2, 3, 4, 5].map(n => file(`burst/${n}.csv`));
        const answers = await Promise.all(events.map(ce => fn.sendBinary(ce)));
        assert.ok(answers.every(a => ok(a.status)));
        const outcomes = await Promise.all(
          events.map(
            async ce => (await fn.waitOutcomes({eventId: ce.id}))[0]!.outcome,
          ),
        );
        assert.deepEqual(outcomes, Array(5).fill('triggered'));
        const runs = (await airflow.runsOf('audit')).filter(r =>
          String(r.conf.uri).startsWith('gs://landing/burst/'),
        );
        assert.equal(runs.length, 5);
        assert.deepEqual(
          runs.map(r => r.dag_run_id).sort(),
          events.map(ce => dagRunId(normalizeEvent(ce), 'burst')).sort(),
        );
      });
    }

    test(`a DAG whose file fails to import (a deploy in progress): ${major === 3 ? '404' : '400'} -> retry while young, expired past maxEventAge`, async () => {
      await airflow.breakDagFile('broken_load');
      const young = file('broken/a.csv');
      assert.ok((await fn.sendBinary(young)).status >= 500);
      const [retry] = await fn.waitOutcomes({eventId: young.id});
      assert.equal(retry!.outcome, 'retry');
      // Airflow's own bodies: Airflow 2 keeps the DAG active and refuses it
      // (api_connexion dag_run_endpoint.py); Airflow 3 marks it stale when
      // its file fails to import (dag_processing/collection.py), so the
      // trigger endpoint no longer finds it.
      if (major === 2) {
        assert.equal(retry!.httpStatus, 400);
        assert.match(
          String(retry!.responseExcerpt),
          /"detail": ?"DAG with dag_id: 'broken_load' has import errors"/,
        );
        assert.match(String(retry!.reason), /import errors/);
      } else {
        assert.equal(retry!.httpStatus, 404);
        assert.match(
          String(retry!.responseExcerpt),
          /"detail": ?"Dag with dag_id: 'broken_load' not found"/,
        );
      }
      const old = file(
        'broken/b.csv',
        {},
        {time: new Date(Date.now() - 2 * 3600_000).toISOString()},
      );
      assert.ok(ok((await fn.sendBinary(old)).status));
      const [expired] = await fn.waitOutcomes({eventId: old.id});
      assert.equal(expired!.outcome, 'expired');
      assert.equal(expired!.httpStatus, major === 3 ? 404 : 400);
      assert.ok(expired!.deadLetter);
    });

    test('a paused DAG: the run is created and the outcome line warns it will not start until unpaused (is_paused cached)', async () => {
      for (const n of [1, 2]) {
        const ce = file(`paused/${n}.csv`);
        assert.ok(ok((await fn.sendBinary(ce)).status));
        const [line] = await fn.waitOutcomes({eventId: ce.id});
        assert.equal(line!.outcome, 'triggered');
        assert.equal(line!.severity, 'WARNING');
        assert.equal(line!.dagPaused, true);
        assert.match(String(line!.message), /paused/);
      }
      assert.equal((await airflow.runsOf('paused_dag')).length, 2);
      const lookups = composer.requests.filter(p =>
        /\/dags\/paused_dag$/.test(p),
      );
      assert.equal(lookups.length, 1, 'is_paused fetched once for the DAG');
    });

    test(`api: auto asks the server once and uses ${api}`, async () => {
      for (const n of [1, 2]) {
        const ce = file(`auto/${n}.csv`);
        assert.ok(ok((await fn.sendBinary(ce)).status));
        assert.equal(
          (await runsFor('load_csv', `gs://landing/auto/${n}.csv`)).length,
          1,
        );
      }
      const probes = composer.requests.filter(p =>
        /\/api\/v\d\/version$/.test(p),
      );
      assert.deepEqual(
        probes,
        major === 3
          ? ['/api/v2/version']
          : ['/api/v2/version', '/api/v1/version'],
        'probed once per instance',
      );
      assert.equal(
        composer.requests.filter(p => p === `/api/${api}/dags/load_csv/dagRuns`)
          .length >= 2,
        true,
      );
    });

    test(`a Composer environment by name: environments.get gives airflowUri and the image version (${api})`, async () => {
      const ce = file('named/x.csv');
      assert.ok(ok((await fn.sendBinary(ce)).status));
      assert.equal(
        (await runsFor('load_csv', 'gs://landing/named/x.csv')).length,
        1,
      );
      assert.deepEqual(
        composerApi.calls,
        [`/v1/${COMPOSER_NAME}`],
        'called once, at cold start',
      );
    });

    test(`a 1,500-character note (Airflow keeps 1,000): the run is created with the note cut to 1,000 characters, the last one '…', no astral character split (${api})`, async () => {
      // The name fits Cloud Storage's 1,024 bytes; the emoji is the 999th character of the note, so a cut counting UTF-16 units would split it.
      const name = `note/${'n'.repeat(981)}\u{1F600}${'m'.repeat(30)}.csv`;
      const origin = 'o'.repeat(480);
      const ce = file(name, {metadata: {origin}}, {id: `note-${major}`});
      const rendered = `loaded from ${name} (${origin})`;
      assert.equal([...rendered].length, 1516);
      assert.ok(ok((await fn.sendStructured(ce)).status));
      assert.deepEqual(
        (await fn.waitOutcomes({eventId: ce.id})).map(
          l => `${l.outcome}:${l.httpStatus}`,
        ),
        ['triggered:200'],
      );
      const [run] = await runsFor('load_csv', `gs://landing/${name}`);
      const note = String(run?.note);
      assert.equal([...note].length, 1000);
      assert.equal(note, `${[...rendered].slice(0, 999).join('')}\u2026`);
      assert.ok(note.includes('\u{1F600}'));
    });

    test('no token or password in any log line', () => {
      const all = fn.rawOutput.join('\n');
      for (const secret of [
        ...md.tokens,
        ...md.idTokens.map(t => t.token),
        airflow.password,
      ])
        assert.ok(!all.includes(secret));
    });
  });
}
