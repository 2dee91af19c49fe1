/**
 * Secrets stay secret: the function runs in every auth mode (google, iap,
 * basic, airflow-jwt, none) under functions-framework, against an Airflow
 * stand-in that, on errors, echoes the request's headers and body back (as
 * some proxies and debug pages do) and a token endpoint that echoes a refused
 * password. Every log line and every dead-letter record in the Cloud Storage
 * emulator is then scanned for every token and password in play: zero hits.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {AirflowStandIn} from '../support/airflow-standin';
import {MetadataServerStandIn} from '../support/metadata-server';
import {FunctionProcess} from '../support/function-process';
import {GcsEmulator} from '../support/gcs-emulator';
import {storageCloudEvent, storageData} from '../support/events';

const MODES = ['google', 'iap', 'basic', 'jwt', 'none'] as const;
const BUCKET = 'secret-scan';
const BASIC_PASSWORD = `basic-${Math.random().toString(36).slice(2)}-"quoted"\\pw`;
const JWT_PASSWORD = `jwt-${Math.random().toString(36).slice(2)}-pw`;
const WRONG_PASSWORD = `wrong-${Math.random().toString(36).slice(2)}-pw`;

describe('no token or password in any log line or dead-letter record, in every auth mode', () => {
  let md: MetadataServerStandIn;
  let af: AirflowStandIn;
  let gcs: GcsEmulator;
  let fn: FunctionProcess;

  before(async () => {
    md = await new MetadataServerStandIn().start();
    af = await new AirflowStandIn('v2', {load: {}}).start();
    af.jwtUsers = {admin: JWT_PASSWORD};
    gcs = await GcsEmulator.start([BUCKET]);
    const env = (auth: unknown) => ({url: af.url, api: 'v2', auth});
    fn = await FunctionProcess.start(
      {
        environments: {
          google: env('google'),
          iap: env({
            mode: 'iap',
            audience: '1234-abc.apps.googleusercontent.com',
          }),
          basic: env({
            mode: 'basic',
            username: 'admin',
            passwordEnv: 'BASIC_PASSWORD',
          }),
          jwt: env({
            mode: 'airflow-jwt',
            username: 'admin',
            passwordEnv: 'JWT_PASSWORD',
          }),
          jwtWrong: env({
            mode: 'airflow-jwt',
            username: 'admin',
            passwordEnv: 'WRONG_PASSWORD',
          }),
          none: env('none'),
        },
        requestTimeout: '2s',
        functionTimeout: '10s',
        retry: {attempts: 2, initialBackoff: '10ms'},
        deadLetters: `gs://${BUCKET}/secrets/`,
        routes: [...MODES, 'jwtWrong'].map(m => ({
          name: m,
          environment: m,
          match: {type: 'storage', name: {prefix: `${m}/`}},
          dag: 'load',
        })),
      },
      {
        GCE_METADATA_HOST: md.host,
        GOOGLE_CLOUD_PROJECT: 'test-project',
        STORAGE_EMULATOR_HOST: gcs.host,
        BASIC_PASSWORD,
        JWT_PASSWORD,
        WRONG_PASSWORD,
        LOG_LEVEL: 'debug',
      },
    );
  });

  after(async () => {
    await fn?.stop();
    await gcs?.stop();
    await af?.stop();
    await md?.stop();
  });

  test('triggered, rejected (400 echoing the request), retried (500 echoing it) and a refused password: all scrubbed', async () => {
    for (const m of MODES) {
      const ok = await fn.sendBinary(
        storageCloudEvent(storageData(`${m}/ok.csv`)),
      );
      assert.ok(ok.status < 300, `${m}: triggered`);
      af.faults.push({status: 400, echo: true});
      const rejected = await fn.sendBinary(
        storageCloudEvent(storageData(`${m}/rejected.csv`)),
      );
      assert.ok(rejected.status < 300, `${m}: rejected and acked`);
      af.faults.push({status: 500, echo: true});
      const retry = await fn.sendBinary(
        storageCloudEvent(storageData(`${m}/retry.csv`)),
      );
      assert.ok(retry.status >= 500, `${m}: retry`);
    }
    const refused = await fn.sendBinary(
      storageCloudEvent(storageData('jwtWrong/x.csv')),
    );
    assert.ok(
      refused.status >= 500,
      'a refused password is a retry (operator-fixable), not a rejection',
    );
    await fn.waitOutcomes({route: 'jwtWrong'});
    await fn.waitOutcomes({outcome: 'rejected'}, MODES.length);

    const secrets: [string, string][] = [
      ...md.tokens.map((t): [string, string] => ['google access token', t]),
      ...md.idTokens.map((t): [string, string] => ['IAP ID token', t.token]),
      ...af.issuedJwts.map((t): [string, string] => ['Airflow JWT', t]),
      ['basic password', BASIC_PASSWORD],
      [
        'basic header',
        Buffer.from(`admin:${BASIC_PASSWORD}`).toString('base64'),
      ],
      ['jwt password', JWT_PASSWORD],
      ['refused password', WRONG_PASSWORD],
    ];
    assert.ok(
      md.tokens.length > 0 &&
        md.idTokens.length > 0 &&
        af.issuedJwts.length > 0,
      'every token-based mode fetched its token',
    );

    const logs = fn.rawOutput.join('\n');
    const records = await gcs.dump(BUCKET);
    assert.equal(
      (await gcs.list(BUCKET)).length,
      MODES.length,
      'one dead letter per mode',
    );
    // The echoes did happen, and were scrubbed: the leak this guards against is real.
    assert.match(records, /\[redacted\]/);
    assert.match(logs, /\[redacted\]/);
    for (const [what, secret] of secrets) {
      for (const form of new Set([
        secret,
        JSON.stringify(secret).slice(1, -1),
      ])) {
        assert.ok(!logs.includes(form), `${what} found in the logs`);
        assert.ok(
          !records.includes(form),
          `${what} found in a dead-letter record`,
        );
      }
    }
  });
});

/** Every form the tests scan for: raw, JSON-escaped, Python's `\uXXXX` (both hex cases), URL-encoded. */
function formsOf(secret: string): string[] {
  const python = JSON.stringify(secret)
    .slice(1, -1)
    .replace(
      /[^\x20-\x7f]/g,
      c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  return [
    ...new Set([
      secret,
      JSON.stringify(secret).slice(1, -1),
      python,
      python.replace(
        /\\u([0-9a-f]{4})/g,
        (_, h: string) => `\\u${h.toUpperCase()}`,
      ),
      encodeURIComponent(secret),
    ]),
  ];
}

describe('short and non-ASCII passwords, echoed the way Python writes JSON', () => {
  // `load` is also the DAG id, on every outcome line: scrubbing it everywhere would ruin them.
  const SHORT = 'load';
  const TINY = 'é';
  const UNICODE = `pässwörd ${Math.random().toString(36).slice(2, 6)} 😀€`;
  let af: AirflowStandIn;
  let fn: FunctionProcess;

  before(async () => {
    af = await new AirflowStandIn('v2', {load: {}}).start();
    af.jwtUsers = {admin: 'the-right-password'};
    af.pythonEcho = true;
    const jwt = (passwordEnv: string) => ({
      url: af.url,
      api: 'v2',
      auth: {mode: 'airflow-jwt', username: 'admin', passwordEnv},
    });
    fn = await FunctionProcess.start(
      {
        environments: {
          short: jwt('SHORT'),
          tiny: jwt('TINY'),
          unicode: jwt('UNICODE'),
          basic: {
            url: af.url,
            api: 'v2',
            auth: {mode: 'basic', username: 'admin', passwordEnv: 'SHORT'},
          },
        },
        requestTimeout: '2s',
        functionTimeout: '10s',
        retry: {attempts: 1},
        routes: ['short', 'tiny', 'unicode', 'basic'].map(m => ({
          name: m,
          environment: m,
          match: {type: 'storage', name: {prefix: `${m}/`}},
          dag: 'load',
        })),
      },
      {SHORT, TINY, UNICODE},
    );
  });

  after(async () => {
    await fn?.stop();
    await af?.stop();
  });

  test('a refused 1-, 4- and 13-character password echoed with \\u escapes never reaches a line, and lines stay readable', async () => {
    for (const m of ['short', 'tiny', 'unicode']) {
      const res = await fn.sendBinary(
        storageCloudEvent(storageData(`${m}/x.csv`)),
      );
      assert.ok(res.status >= 500, `${m}: a refused password is a retry`);
    }
    af.faults.push({status: 400, echo: true});
    await fn.sendBinary(storageCloudEvent(storageData('basic/rejected.csv')));
    const ok = await fn.sendBinary(
      storageCloudEvent(storageData('basic/ok.csv')),
    );
    assert.ok(ok.status < 300, 'basic with a 4-character password triggers');
    await fn.waitOutcomes({route: 'unicode'});
    await fn.waitOutcomes({outcome: 'triggered'});

    const logs = fn.rawOutput.join('\n');
    // The endpoint did echo the passwords (as "received"), and they were scrubbed.
    assert.match(logs, /received.{0,40}password.{0,12}\[redacted\]/);
    for (const form of formsOf(UNICODE))
      assert.ok(!logs.includes(form), `the non-ASCII password as ${form}`);
    for (const secret of [SHORT, TINY])
      for (const form of formsOf(secret))
        assert.ok(
          !new RegExp(
            `password[\\\\"': ]{1,24}${form.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}`,
            'i',
          ).test(logs),
          `the short password ${JSON.stringify(secret)} as ${form} after a password key`,
        );
    const basicHeader = Buffer.from(`admin:${SHORT}`).toString('base64');
    assert.ok(!logs.includes(basicHeader), 'the basic header');
    // Every line is still JSON, and the DAG id that equals the short password is intact.
    for (const line of fn.rawOutput.filter(l => l.startsWith('{')))
      JSON.parse(line);
    const [triggered] = fn.outcomes({outcome: 'triggered'});
    assert.equal(triggered!.dagId, 'load');
    assert.match(String(triggered!.message), /^triggered: load /);
  });
});

describe('passwords echoed in Airflow error bodies: across the 2 KiB excerpt cut, and 3 characters long', () => {
  const LONG = 'hunter2 +hunter2é';
  const SHORT = 'ab1';
  let af: AirflowStandIn;
  let fn: FunctionProcess;

  before(async () => {
    af = await new AirflowStandIn('v2', {load: {}}).start();
    const basic = (passwordEnv: string) => ({
      url: af.url,
      api: 'v2',
      auth: {mode: 'basic', username: 'admin', passwordEnv},
    });
    fn = await FunctionProcess.start(
      {
        environments: {long: basic('LONG'), short: basic('SHORT')},
        requestTimeout: '2s',
        functionTimeout: '10s',
        retry: {attempts: 1},
        routes: ['long', 'short'].map(m => ({
          name: m,
          environment: m,
          match: {type: 'storage', name: {prefix: `${m}/`}},
          dag: 'load',
        })),
      },
      {LONG, SHORT},
    );
  });

  after(async () => {
    await fn?.stop();
    await af?.stop();
  });

  test('no first part of a password survives the excerpt cut, and a 3-character one is gone from every echo form', async () => {
    const offsets = [2020, 2030, 2040, 2044, 2047];
    for (const at of offsets) {
      const head = '{"detail":"bad request ';
      const pad = 'x'.repeat(at - head.length - 'password: '.length);
      af.faults.push({
        status: 400,
        body: `${head}${pad}password: ${LONG}${' '.repeat(500)}"}`,
      });
      await fn.sendBinary(storageCloudEvent(storageData(`long/${at}.csv`)));
    }
    const echoes = [
      '<password>ab1</password>',
      'Invalid credentials: ab1',
      'login admin/ab1 failed',
    ];
    for (const [i, echo] of echoes.entries()) {
      af.faults.push({status: 400, body: JSON.stringify({detail: echo})});
      await fn.sendBinary(storageCloudEvent(storageData(`short/${i}.csv`)));
    }
    await fn.waitOutcomes({route: 'long', outcome: 'rejected'}, offsets.length);
    await fn.waitOutcomes({route: 'short', outcome: 'rejected'}, echoes.length);
    const logs = fn.rawOutput.join('\n');
    for (let k = LONG.length; k >= 4; k--)
      assert.ok(
        !logs.includes(LONG.slice(0, k)),
        `${JSON.stringify(LONG.slice(0, k))} in the logs`,
      );
    assert.ok(!/ab1/.test(logs), 'the 3-character password in the logs');
    const excerpts = fn
      .outcomes({route: 'short'})
      .map(o => String(o.responseExcerpt));
    assert.deepEqual(
      excerpts.map(e => (JSON.parse(e) as {detail: string}).detail).sort(),
      [
        '<password>[redacted]</password>',
        'Invalid credentials: [redacted]',
        'login admin/[redacted] failed',
      ],
    );
  });
});
