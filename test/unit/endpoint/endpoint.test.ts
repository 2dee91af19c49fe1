/**
 * The HTTP endpoint's answers when the handler fails: the request has left
 * functions-framework's domain, so the endpoint itself must turn every
 * failure, thrown or rejected, into a 500 (a redelivery) and one JSON line.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {Writable} from 'node:stream';
import type {Request, Response} from '@google-cloud/functions-framework';
import {deliveryEndpoint} from '../../../src/endpoint';
import {RedeliverError} from '../../../src/handler';
import {createLogger} from '../../../src/logging/logger';

function harness(handle: (d: unknown) => Promise<void>) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(
    new Writable({
      write(chunk: Buffer, _e, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }),
    {GOOGLE_CLOUD_PROJECT: 'p'},
  );
  const serve = deliveryEndpoint(handle, logger);
  const answer = {status: 0};
  const res = {
    headersSent: false,
    status(code: number) {
      answer.status = code;
      return res;
    },
    set: () => res,
    end() {
      res.headersSent = true;
      return res;
    },
  };
  const req = {
    method: 'POST',
    path: '/',
    headers: {},
    body: {specversion: '1.0'},
  } as unknown as Request;
  return {run: () => serve(req, res as unknown as Response), answer, lines};
}

test('a handler that throws, synchronously or not, is a 500 and one JSON line; a RedeliverError is a bare 500; success is a 204', async () => {
  const cases: [string, (d: unknown) => Promise<void>, number, number][] = [
    [
      'sync throw',
      () => {
        throw new Error('boom');
      },
      500,
      1,
    ],
    ['rejection', () => Promise.reject(new Error('boom')), 500, 1],
    ['redeliver', () => Promise.reject(new RedeliverError('again')), 500, 0],
    ['success', () => Promise.resolve(), 204, 0],
  ];
  for (const [what, handle, status, lineCount] of cases) {
    const h = harness(handle);
    await h.run();
    assert.equal(h.answer.status, status, what);
    assert.equal(h.lines.length, lineCount, what);
    if (lineCount) assert.equal(h.lines[0]!.reason, 'unexpected error', what);
  }
});
