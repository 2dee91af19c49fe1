import {test} from 'node:test';
import assert from 'node:assert/strict';
import {Writable} from 'node:stream';
import {createLogger, redactKeys} from '../../../src/logging/logger';
import {rememberSecret} from '../../../src/logging/secrets';

function capture(): {lines: () => Record<string, unknown>[]; stream: Writable} {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      out
        .join('')
        .trim()
        .split('\n')
        .map(l => JSON.parse(l) as Record<string, unknown>),
  };
}

test('credential-bearing keys never reach a line, at any depth and in any case; the logged objects are not changed', () => {
  const {stream, lines} = capture();
  const log = createLogger(stream as never, {GOOGLE_CLOUD_PROJECT: 'p'});
  const err = Object.assign(new Error('request failed'), {
    config: {url: 'https://a', headers: {Authorization: 'Bearer abc'}},
    response: {status: 401},
  });
  const event = {
    id: 'e1',
    attributes: {kind: 'x', Token: 'tkn-123'},
    list: [{password: 'pw-1'}, 'plain'],
  };
  log.error(
    {
      outcome: 'retry',
      err,
      event,
      access_token: 'ya29.x',
      Authorization: 'Basic eHh4',
    },
    'it failed',
  );
  const [line] = lines();
  assert.equal(line!.severity, 'ERROR');
  assert.equal(line!.message, 'it failed');
  assert.equal(line!.access_token, '[redacted]');
  assert.equal(line!.Authorization, '[redacted]');
  assert.deepEqual((line!.err as {config: unknown}).config, {
    url: 'https://a',
    headers: '[redacted]',
  });
  assert.equal((line!.err as {message: string}).message, 'request failed');
  assert.match(
    String(line!.stack_trace ?? (line!.err as {stack?: string}).stack),
    /request failed/,
  );
  assert.deepEqual(line!.event, {
    id: 'e1',
    attributes: {kind: 'x', Token: '[redacted]'},
    list: [{password: '[redacted]'}, 'plain'],
  });
  // What the handler goes on using (the event for its dead letter) is untouched.
  assert.equal(event.attributes.Token, 'tkn-123');
  assert.equal((event.list[0] as {password: string}).password, 'pw-1');
  assert.deepEqual(err.config.headers, {Authorization: 'Bearer abc'});
});

test('lines without anything to hide are passed through as they are; known secrets are scrubbed from any field', () => {
  const plain = {
    outcome: 'triggered',
    route: 'r',
    attempts: 1,
    nested: {a: [1, 2, {b: 'c'}]},
  };
  assert.equal(redactKeys(plain), plain);
  rememberSecret('s3cr3t-value-for-the-logger-test');
  const {stream, lines} = capture();
  createLogger(stream as never, {}).info(
    {...plain, responseExcerpt: 'echo: s3cr3t-value-for-the-logger-test'},
    'triggered: d r',
  );
  const [line] = lines();
  assert.equal(line!.responseExcerpt, 'echo: [redacted]');
  assert.deepEqual(line!.nested, plain.nested);
  assert.equal(line!.severity, 'INFO');
  assert.ok(typeof (line!.timestamp as {seconds: number}).seconds === 'number');
  assert.ok(typeof line!['logging.googleapis.com/insertId'] === 'string');
});
