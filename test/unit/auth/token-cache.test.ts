import {test} from 'node:test';
import assert from 'node:assert/strict';
import {TokenCache} from '../../../src/auth/token-cache';

test('concurrent callers share one fetch; a fresh token comes from memory', async () => {
  let t = 0;
  const cache = new TokenCache(async () => ({
    value: `tok${++t}`,
    expiresAt: Date.now() + 3600_000,
  }));
  const got = await Promise.all(Array.from({length: 50}, () => cache.get()));
  assert.deepEqual(new Set(got), new Set(['tok1']));
  assert.equal(await cache.get(), 'tok1');
  assert.equal(cache.fetches, 1);
});

test('near expiry: one background refresh while callers keep the valid token', async () => {
  let now = 0;
  let t = 0;
  let release!: () => void;
  const gate = new Promise<void>(r => (release = r));
  const cache = new TokenCache(
    async () => {
      t++;
      if (t > 1) await gate;
      return {value: `tok${t}`, expiresAt: now + 1000};
    },
    300,
    () => now,
  );
  assert.equal(await cache.get(), 'tok1');
  now = 800; // inside the margin (min(300, 1000/4) = 250 before expiry)
  const during = await Promise.all(Array.from({length: 20}, () => cache.get()));
  assert.deepEqual(new Set(during), new Set(['tok1']));
  assert.equal(cache.fetches, 2, 'exactly one refresh started');
  release();
  await new Promise(r => setImmediate(r));
  assert.equal(await cache.get(), 'tok2');
});

test('a failed fetch is reported to the callers that waited, and the next call tries again', async () => {
  let fail = true;
  const cache = new TokenCache(async () => {
    if (fail) throw new Error('metadata down');
    return {value: 'ok', expiresAt: Date.now() + 3600_000};
  });
  await assert.rejects(cache.get(), /metadata down/);
  fail = false;
  assert.equal(await cache.get(), 'ok');
});

test('invalidate drops only the token that was rejected', async () => {
  let t = 0;
  const cache = new TokenCache(async () => ({
    value: `tok${++t}`,
    expiresAt: Date.now() + 3600_000,
  }));
  await cache.get();
  cache.invalidate('someone-else');
  assert.equal(await cache.get(), 'tok1');
  cache.invalidate('tok1');
  assert.equal(await cache.get(), 'tok2');
});

test('fresh(): the token without a promise only while no refresh is due; then get() takes over', async () => {
  let now = 0;
  let t = 0;
  const cache = new TokenCache(
    async () => ({value: `tok${++t}`, expiresAt: now + 1000}),
    300,
    () => now,
  );
  assert.equal(cache.fresh(), undefined, 'nothing fetched yet');
  assert.equal(await cache.get(), 'tok1');
  assert.equal(cache.fresh(), 'tok1');
  now = 800; // inside the refresh margin
  assert.equal(
    cache.fresh(),
    undefined,
    'due for refresh: the caller goes through get(), which starts one',
  );
  assert.equal(await cache.get(), 'tok1');
  await new Promise(r => setImmediate(r));
  assert.equal(cache.fresh(), 'tok2');
  cache.invalidate('tok2');
  assert.equal(
    cache.fresh(),
    undefined,
    'an invalidated token is never handed out',
  );
});
