import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createAuth} from '../../../src/auth/create';
import {jwtExpiry} from '../../../src/auth/jwt';
import {ConfigError} from '../../../src/core/errors';
import type {Environment} from '../../../src/config/types';

const env = (name: string, auth: Environment['auth']): Environment => ({
  name,
  url: 'https://a.example.com',
  api: 'v2',
  auth,
});

test('basic auth reads the password from the named env var; a missing one refuses to start with the gcloud hint', async () => {
  const a = createAuth(
    env('e', {mode: 'basic', username: 'svc', passwordEnv: 'PW'}),
    new Map(),
    {env: {PW: 'p@ss'}},
  );
  assert.deepEqual(await a.headers(), {
    Authorization: `Basic ${Buffer.from('svc:p@ss').toString('base64')}`,
  });
  assert.throws(
    () =>
      createAuth(
        env('e', {mode: 'basic', username: 'svc', passwordEnv: 'PW'}),
        new Map(),
        {env: {}},
      ),
    (e: unknown) =>
      e instanceof ConfigError &&
      /PW is not set.*--set-secrets/.test(e.message),
  );
});

test('Google credentials are shared across environments; server-bound credentials are not', () => {
  const shared = new Map();
  const scopes = ['https://www.googleapis.com/auth/cloud-platform'];
  assert.equal(
    createAuth(env('a', {mode: 'google', scopes}), shared),
    createAuth(env('b', {mode: 'google', scopes}), shared),
  );
  const jwt = {mode: 'airflow-jwt' as const, username: 'u', passwordEnv: 'PW'};
  assert.notEqual(
    createAuth(env('a', jwt), shared, {env: {PW: 'x'}}),
    createAuth(env('b', jwt), shared, {env: {PW: 'x'}}),
  );
});

test('jwtExpiry reads exp; garbage gives undefined', () => {
  const t = `h.${Buffer.from(JSON.stringify({exp: 1700000000})).toString('base64url')}.s`;
  assert.equal(jwtExpiry(t), 1_700_000_000_000);
  assert.equal(jwtExpiry('nope'), undefined);
  assert.equal(jwtExpiry('a.!!!.b'), undefined);
});
