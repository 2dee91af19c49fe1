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
