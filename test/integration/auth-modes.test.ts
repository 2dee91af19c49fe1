/**
 * Auth-mode behaviour that real Airflow cannot be made to show on demand:
 * a JWT revoked mid-life (401 -> one fresh token, one resend), and the JWT
 * cached across triggers. A small local Airflow-like server plays the part.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createServer} from 'node:http';
import {closeServer, listenLoopback} from '../support/http';
import {AirflowJwtAuth} from '../../src/auth/airflow-jwt';
import {apiV2} from '../../src/airflow/api-v2';
import {noAuth} from '../../src/auth/none';
import {triggerDagRun, type AirflowTarget} from '../../src/airflow/trigger';
import {AirflowStandIn} from '../support/airflow-standin';

const run = (id: string) => ({
  route: 'r',
  environment: 'e',
  dagId: 'd',
  dagRunId: id,
  conf: {},
});

test('airflow-jwt: POST /auth/token once, token reused; a 401 fetches a fresh JWT once and resends', async () => {
  let issued = 0;
  const valid = new Set<string>();
  const server = createServer((req, res) => {
    if (req.url === '/auth/token') {
      const exp = Math.floor(Date.now() / 1000) + 3600;
      const token = `h.${Buffer.from(JSON.stringify({exp, n: ++issued})).toString('base64url')}.s`;
      valid.add(token);
      return res
        .writeHead(201, {'Content-Type': 'application/json'})
        .end(JSON.stringify({access_token: token}));
    }
    const token = req.headers.authorization?.replace('Bearer ', '') ?? '';
    if (!valid.has(token))
      return res.writeHead(401).end('{"detail":"Invalid JWT"}');
    res.writeHead(200, {'Content-Type': 'application/json'}).end('{}');
  });
  const url = await listenLoopback(server);
  try {
    const auth = new AirflowJwtAuth(url, 'admin', 'pw', 2000);
    const target: AirflowTarget = {
      environment: {
        name: 'e',
        url,
        api: 'v2',
        auth: {mode: 'airflow-jwt', username: 'admin', passwordEnv: 'X'},
      },
      api: apiV2,
      auth,
      timeoutMs: 2000,
    };
    for (const id of ['a', 'b', 'c']) {
      const r = await triggerDagRun(target, run(id));
      assert.equal(r.kind === 'response' ? r.status : r.kind, 200);
    }
    assert.equal(issued, 1, 'one JWT for three triggers');
    valid.clear(); // Airflow restarted with a new secret: the cached JWT is now refused
    const r = await triggerDagRun(target, run('d'));
    assert.equal(
      r.kind === 'response' ? r.status : r.kind,
      200,
      'resent with a fresh JWT',
    );
    assert.equal(issued, 2);
    // A JWT refused again after a refresh is not retried in a loop: the 401 goes to the outcome contract.
    const refusing = createServer((req, res) =>
      req.url === '/auth/token'
        ? res.writeHead(200).end('{"access_token":"x.e30.y"}')
        : res.writeHead(401).end(),
    );
    const url2 = await listenLoopback(refusing);
    const t2: AirflowTarget = {
      ...target,
      environment: {...target.environment, url: url2},
      auth: new AirflowJwtAuth(url2, 'a', 'b', 2000),
    };
    const r2 = await triggerDagRun(t2, run('e'));
    assert.equal(r2.kind === 'response' ? r2.status : r2.kind, 401);
    await closeServer(refusing);
  } finally {
    await closeServer(server);
  }
});

test('auth none: no Authorization header at all, accepted by an open local Airflow', async () => {
  const af = await new AirflowStandIn('v2', {d: {}}).start();
  try {
    const target: AirflowTarget = {
      environment: {name: 'e', url: af.url, api: 'v2', auth: {mode: 'none'}},
      api: apiV2,
      auth: noAuth,
      timeoutMs: 2000,
    };
    const r = await triggerDagRun(target, run('n1'));
    assert.equal(r.kind === 'response' ? r.status : r.kind, 200);
    assert.equal(af.requests[0]!.headers.authorization, undefined);
    assert.equal(af.runsOf('d').length, 1);
  } finally {
    await af.stop();
  }
});
