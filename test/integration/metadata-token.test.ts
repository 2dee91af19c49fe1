/**
 * Auth mode `google` on Cloud Run functions: with K_SERVICE set (the runtime
 * sets it) and no GOOGLE_APPLICATION_CREDENTIALS, the access token comes
 * straight from the metadata server (stand-in here), not through
 * google-auth-library's ADC probe. The function runs under the real
 * functions-framework and is fed as Eventarc feeds it.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {AirflowStandIn} from '../support/airflow-standin';
import {MetadataServerStandIn} from '../support/metadata-server';
import {FunctionProcess} from '../support/function-process';
import {storageCloudEvent, storageData} from '../support/events';
import {GoogleAccessTokenAuth} from '../../src/auth/google';
import {CLOUD_PLATFORM} from '../../src/google/auth-client';

const ok = (status: number) => status >= 200 && status < 300;

test('the token source: the metadata server on Cloud Run, google-auth-library anywhere else', () => {
  assert.equal(
    new GoogleAccessTokenAuth([CLOUD_PLATFORM], undefined, {K_SERVICE: 'fn'})
      .source,
    'metadata-server',
  );
  assert.equal(
    new GoogleAccessTokenAuth([CLOUD_PLATFORM], undefined, {
      K_SERVICE: 'fn',
      GOOGLE_APPLICATION_CREDENTIALS: '/key.json',
    }).source,
    'google-auth-library',
  );
  assert.equal(
    new GoogleAccessTokenAuth([CLOUD_PLATFORM], undefined, {}).source,
    'google-auth-library',
  );
});

describe('auth google on Cloud Run: tokens from the metadata server', () => {
  let md: MetadataServerStandIn;
  let af: AirflowStandIn;
  let fn: FunctionProcess;

  before(async () => {
    md = await new MetadataServerStandIn({projectId: 'run-project'}).start();
    af = await new AirflowStandIn('v2', {load_csv: {}}).start();
    af.expectedToken = () => md.currentToken;
    fn = await FunctionProcess.start(
      {
        environments: {composer: {url: af.url, api: 'v2', auth: 'google'}},
        requestTimeout: '2s',
        functionTimeout: '10s',
        retry: {attempts: 1},
        routes: [
          {
            name: 'csv',
            match: {type: 'storage', name: {glob: 'in/**/*.csv'}},
            dag: 'load_csv',
          },
        ],
      },
      // What Cloud Run sets; no GOOGLE_CLOUD_PROJECT, as on a default gen2 deploy.
      {
        GCE_METADATA_HOST: md.host,
        K_SERVICE: 'dag-launcher',
        K_REVISION: 'dag-launcher-00001-abc',
        K_CONFIGURATION: 'dag-launcher',
      },
    );
  });
  after(async () => {
    await fn?.stop();
    await af?.stop();
    await md?.stop();
  });

  test('one token, asked for with the configured scopes, serves every concurrent event; none is logged', async () => {
    const events = Array.from({length: 25}, (_, i) =>
      storageCloudEvent(storageData(`in/run/${i}.csv`)),
    );
    const statuses = await Promise.all(
      events.map(e => fn.sendBinary(e).then(r => r.status)),
    );
    assert.ok(statuses.every(ok), `statuses ${statuses.join(',')}`);
    assert.equal(
      af.runsOf('load_csv').length,
      25,
      'every run was accepted with the metadata server token',
    );
    assert.equal(md.tokenRequests, 1);
    assert.deepEqual(md.tokenScopes, [CLOUD_PLATFORM]);
    await fn.waitOutcomes({outcome: 'triggered'}, 25);
    const all = fn.rawOutput.join('\n');
    for (const token of md.tokens)
      assert.ok(!all.includes(token), 'a token leaked into the logs');
  });

  test('trace ids are qualified with the project the metadata server names', async () => {
    const ce = storageCloudEvent(storageData('in/traced.csv'));
    await fn.sendBinary(ce, {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(
      line!['logging.googleapis.com/trace'],
      'projects/run-project/traces/4bf92f3577b34da6a3ce929d0e0e4736',
    );
    assert.equal(
      line!.serviceContext &&
        (line!.serviceContext as {service: string}).service,
      'dag-launcher',
    );
  });

  test('a 401 from Airflow drops the token, and a metadata server failure is a retry that succeeds on redelivery', async () => {
    const before = md.tokenRequests;
    af.expectedToken = () => 'not-the-current-token';
    const denied = storageCloudEvent(storageData('in/denied.csv'));
    const r0 = await fn.sendBinary(denied);
    assert.ok(
      r0.status >= 500,
      'a 401 is retried while the event is young (IAM can be fixed)',
    );
    assert.equal(
      (await fn.waitOutcomes({eventId: denied.id}))[0]!.outcome,
      'retry',
    );
    af.expectedToken = () => md.currentToken;

    md.failTokens = 503;
    const ce = storageCloudEvent(storageData('in/later.csv'));
    const r1 = await fn.sendBinary(ce);
    assert.ok(r1.status >= 500, 'no token -> the platform redelivers');
    assert.match(
      String((await fn.waitOutcomes({eventId: ce.id}))[0]!.reason),
      /cannot get a Google access token from the metadata server: metadata server answered 503/,
    );
    md.failTokens = undefined;
    assert.ok(ok((await fn.sendBinary(ce)).status));
    assert.equal(
      af.runsOf('load_csv').length,
      27,
      'the redelivered event made its one run',
    );
    assert.ok(
      md.tokenRequests >= before + 2,
      'the rejected token was dropped and fetched again',
    );
  });
});
