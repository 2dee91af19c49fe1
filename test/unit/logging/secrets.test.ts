/**
 * Credential scrubbing: every remembered secret, in every form a server may
 * echo it and under the layers of JSON our lines and records add, is gone;
 * short secrets are gone after a credential key and nowhere else.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  rememberPassword,
  rememberSecret,
  scrubSecrets,
} from '../../../src/logging/secrets';

const PASSWORD = 'pä$$ wörd"\\/<&😀';
rememberSecret(PASSWORD);
rememberSecret('ab'); // a 2-character password
rememberSecret('é');

/** `\uXXXX` for the characters `pick` selects, in the hex case given. */
function uEscape(s: string, pick: (c: string) => boolean, upper = false) {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const json = JSON.stringify(c).slice(1, -1);
    if (!pick(c)) out += json;
    else {
      const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
      out += `\\u${upper ? hex.toUpperCase() : hex}`;
    }
  }
  return out;
}
const nonAscii = (c: string) => c.charCodeAt(0) > 0x7e;

const FORMS: Record<string, string> = {
  raw: PASSWORD,
  'JSON (JavaScript)': JSON.stringify(PASSWORD).slice(1, -1),
  "JSON (Python's default, \\u of non-ASCII)": uEscape(PASSWORD, nonAscii),
  'JSON, upper-case hex': uEscape(PASSWORD, nonAscii, true),
  'JSON (Go: \\u003c, \\u0026)': uEscape(
    PASSWORD,
    c => nonAscii(c) || '<&'.includes(c),
  ),
  'JSON (PHP: \\/)': JSON.stringify(PASSWORD).slice(1, -1).replace('/', '\\/'),
  'JSON, every character \\u': uEscape(PASSWORD, () => true),
  'URL-encoded': encodeURIComponent(PASSWORD),
  'URL-encoded, lower-case hex': encodeURIComponent(PASSWORD).replace(
    /%[0-9A-F]{2}/g,
    m => m.toLowerCase(),
  ),
  'form-encoded (+ for space)': new URLSearchParams({p: PASSWORD})
    .toString()
    .slice(2),
};

test('a password in every form a server echoes, raw or under one to three layers of JSON, is scrubbed and the line stays valid JSON', () => {
  for (const [name, form] of Object.entries(FORMS)) {
    // A JSON form is already the inside of a JSON string.
    let text = `{"detail":"refused","received":"${form}"}`;
    let layers = 1; // the form sits in one layer of JSON already
    if (name === 'raw' || name.startsWith('URL') || name.startsWith('form')) {
      text = `echo: ${form} end`;
      layers = 0;
    }
    for (let depth = layers; depth <= 3; depth++) {
      const out = scrubSecrets(text);
      assert.ok(
        out.includes('[redacted]'),
        `${name} at depth ${depth}: ${out}`,
      );
      assert.ok(
        !/ w|w\\?\\?\\?u00[fF]6rd|%C3%B6rd|w%c3%b6rd/.test(out),
        `${name} at depth ${depth}: ${out}`,
      );
      if (depth > 0 || layers > 0) JSON.parse(out);
      text = JSON.stringify({line: text});
    }
  }
});

test('the base64 of user:password and a bearer token are scrubbed wherever they appear', () => {
  const basic = Buffer.from('admin:s3cr3t-pw').toString('base64');
  rememberSecret(basic);
  rememberSecret('ya29.a0AfB_token-value');
  const out = scrubSecrets(
    JSON.stringify({
      headers: `Authorization: Basic ${basic}`,
      body: '{"access_token":"ya29.a0AfB_token-value"}',
    }),
  );
  assert.ok(!out.includes(basic) && !out.includes('ya29'), out);
});

test('short passwords are scrubbed after a credential key, in JSON at any depth, forms and headers, and nowhere else', () => {
  const echoed = [
    'password=ab&user=x',
    '{"username": "x", "password": "ab"}',
    JSON.stringify(JSON.stringify({password: 'ab'})),
    '{"password": "\\u00e9"}',
    JSON.stringify({r: '{"password": "\\u00e9"}'}),
    'Authorization: Bearer ab',
    "{'pwd': 'ab'}",
  ];
  for (const text of echoed) {
    const out = scrubSecrets(text);
    assert.ok(out.includes('[redacted]'), `${text} -> ${out}`);
    assert.ok(!/[:=] ?\\*"?ab|\\*u00e9/.test(out), `${text} -> ${out}`);
  }
  const ordinary = [
    JSON.stringify({
      message: 'triggered: ab_load about',
      dagId: 'ab',
      route: 'tab',
      name: 'café é',
    }),
    'password: abc', // a longer value is not this password
    'password-reset ab done',
  ];
  for (const text of ordinary) assert.equal(scrubSecrets(text), text);
});

test('scrubbing is linear: 60 KB of escapes and backslashes is scrubbed in well under a second', () => {
  for (const hostile of [
    '\\u0070'.repeat(10_000),
    '%25'.repeat(20_000),
    '\\'.repeat(60_000),
    'password='.repeat(6_000),
  ]) {
    const started = performance.now();
    scrubSecrets(JSON.stringify({event: hostile}));
    assert.ok(performance.now() - started < 1000, hostile.slice(0, 12));
  }
});

test('a password is also scrubbed HTML-escaped (an HTML error page), and as bytes: base64 with or without padding, base64url, hex, alone and as user:password', () => {
  const password = "p'ss&w<rd>ä€😀/";
  rememberPassword(password, 'admin');
  const pair = Buffer.from(`admin:${password}`);
  const alone = Buffer.from(password);
  const echoes = [
    'p&#x27;ss&amp;w&lt;rd&gt;ä€😀/',
    'p&#39;ss&amp;w&lt;rd&gt;ä€😀/',
    pair.toString('base64url'),
    pair.toString('base64').replace(/=+$/, ''),
    alone.toString('base64'),
    alone.toString('base64url'),
    alone.toString('hex'),
  ];
  for (const echo of echoes) {
    const out = scrubSecrets(`<p>login failed for ${echo} end</p>`);
    assert.equal(out, '<p>login failed for [redacted] end</p>', echo);
  }
});
