/**
 * Text a server wrote (response bodies, errors of calls made with
 * credentials): every remembered secret is scrubbed there whatever its
 * length, and a body is scrubbed whole before it is cut to an excerpt, so no
 * first part of a secret survives the cut.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type {AddressInfo} from 'node:net';
import {
  rememberSecret,
  scrubSecrets,
  scrubServerText,
  serverExcerpt,
} from '../../../src/logging/secrets';
import {BODY_EXCERPT_MAX, httpRequest} from '../../../src/core/http';

const LONG = 'hunter2 +hunter2é';
const SHORT = 'ab1';
rememberSecret(LONG);
rememberSecret(SHORT);

/** Every first part of `secret` of 3 characters or more that `text` holds. */
function prefixesIn(text: string, secret: string): string[] {
  const found: string[] = [];
  for (let k = secret.length; k >= 3; k--)
    if (text.includes(secret.slice(0, k))) found.push(secret.slice(0, k));
  return found;
}

/** Airflow's 400 echoing the password, the echo starting `at` characters in. */
function echoAt(at: number, form: string): string {
  const head = '{"detail":"bad request: ';
  const pad = 'x'.repeat(Math.max(0, at - head.length - 'password: '.length));
  return `${head}${pad}password: ${form}, try again"}` + 'y'.repeat(3000);
}

const FORMS: Record<string, string> = {
  raw: LONG,
  'JSON \\u (Python)': JSON.stringify(LONG)
    .slice(1, -1)
    .replace('é', '\\u00e9'),
  'URL-encoded': encodeURIComponent(LONG),
};

test('a password echoed across the 2 KiB excerpt cut leaves no first part of it, at every offset and in every form', () => {
  for (const [name, form] of Object.entries(FORMS))
    for (let at = BODY_EXCERPT_MAX - 60; at <= BODY_EXCERPT_MAX + 2; at++) {
      const body = echoAt(at, form);
      const excerpt = serverExcerpt(body, BODY_EXCERPT_MAX, false);
      assert.ok(excerpt.length <= BODY_EXCERPT_MAX + 1, name);
      assert.ok(excerpt.endsWith('…'), name);
      assert.deepEqual(prefixesIn(excerpt, LONG), [], `${name} at ${at}`);
      assert.deepEqual(
        prefixesIn(excerpt, encodeURIComponent(LONG)),
        [],
        `${name} at ${at}`,
      );
      assert.ok(
        !excerpt.includes('hunt'),
        `${name} at ${at}: ${excerpt.slice(-40)}`,
      );
    }
});

test('a secret that goes on past everything received is cut back to before its first part', () => {
  const excerpt = serverExcerpt(
    `ok: ${'z'.repeat(30)} password: hunter2 +hu`,
    50,
    true,
  );
  assert.equal(excerpt, `ok: ${'z'.repeat(30)} password: …`);
  // An escape cut in half after a first part: dropped as well.
  const escaped = serverExcerpt('say hunter2 +hunter2\\u00', 100, true);
  assert.equal(escaped, 'say …');
});

test('the body Airflow sends, cut by the HTTP client with the excerpt function, holds no part of the password', async () => {
  const server = http.createServer((req, res) => {
    const at = Number(new URL(req.url!, 'http://x').searchParams.get('at'));
    res.writeHead(400, {'Content-Type': 'application/json'});
    res.end(echoAt(at, LONG));
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const {port} = server.address() as AddressInfo;
  try {
    for (const at of [2020, 2030, 2040, 2044, 2047, 2048]) {
      const res = await httpRequest(`http://127.0.0.1:${port}/?at=${at}`, {
        timeoutMs: 5000,
        excerpt: serverExcerpt,
      });
      assert.equal(res.status, 400);
      assert.ok(res.body.endsWith('…'));
      assert.ok(res.body.length <= BODY_EXCERPT_MAX + 1);
      assert.deepEqual(prefixesIn(res.body, LONG), [], `at ${at}`);
    }
  } finally {
    server.close();
  }
});

test('a 3-character password is scrubbed wherever a server echoes it, and only after a credential key in other lines', () => {
  const echoes = [
    '<password>ab1</password>',
    'Invalid credentials: ab1',
    'login admin/ab1 failed',
    '{"detail":"login admin/ab1 failed"}',
    'user=admin&p=ab%31',
    '{"msg":"\\u0061\\u0062\\u0031 refused"}',
  ];
  for (const echo of echoes) {
    const scrubbed = scrubServerText(echo);
    assert.ok(!/ab1|ab%31|\\u0031/.test(scrubbed), `${echo} -> ${scrubbed}`);
    assert.ok(scrubbed.includes('[redacted]'), echo);
    const excerpt = serverExcerpt(echo, 2048);
    assert.equal(excerpt, scrubbed);
  }
  // Elsewhere, an ordinary line keeps a short word that happens to be the password...
  assert.equal(scrubSecrets('route tab1 matched'), 'route tab1 matched');
  // ...and loses it right after a credential key.
  assert.equal(scrubSecrets('password=ab1 sent'), 'password=[redacted] sent');
});
