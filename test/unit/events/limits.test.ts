/**
 * The platform limits normalize holds every event to: up to them an event
 * is read, past them it is refused with a reason naming the limit.
 */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {normalizeEvent} from '../../../src/events/normalize';
import {decodeBase64} from '../../../src/events/payload';
import {scanJsonText, textNestsTooDeep} from '../../../src/events/limits';
import {dataNotJson} from '../../../src/routing/route';
import {InvalidEventError} from '../../../src/core/errors';
import {
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../../support/events';

const refused = (event: unknown, reason: RegExp) =>
  assert.throws(
    () => normalizeEvent(event),
    (err: unknown) =>
      err instanceof InvalidEventError && reason.test(err.message),
  );

describe('platform limits in normalize', () => {
  test('object names: 1,024 bytes of UTF-8 are read, 1,025 refused (multi-byte characters counted as bytes)', () => {
    const at = `in/${'ü'.repeat(508)}a.csv`; // 3 + 1,016 + 5 bytes
    const past = `in/${'ü'.repeat(509)}.csv`; // 3 + 1,018 + 4 bytes
    assert.equal(Buffer.byteLength(at), 1024);
    assert.equal(Buffer.byteLength(past), 1025);
    assert.equal(
      normalizeEvent(storageCloudEvent(storageData(at))).storage?.name,
      at,
    );
    refused(
      storageCloudEvent(storageData(past)),
      /object name is 1025 bytes, over Cloud Storage's limit of 1,024 bytes/,
    );
  });

  test('custom metadata: 8 KiB of keys and values read, more refused', () => {
    const ok = {k: 'v'.repeat(8191)};
    assert.ok(
      normalizeEvent(storageCloudEvent(storageData('a', {metadata: ok}))),
    );
    refused(
      storageCloudEvent(storageData('a', {metadata: {k: 'v'.repeat(8192)}})),
      /metadata \(keys and values\) is 8193 bytes, over Cloud Storage's limit of 8,192 bytes/,
    );
  });

  test('Pub/Sub attributes: 100 of them, keys of 256 bytes and values of 1,024 bytes; past any, refused', () => {
    const hundred = Object.fromEntries(
      Array.from({length: 100}, (_, i) => [`k${i}`, 'v'.repeat(1024)]),
    );
    assert.equal(
      Object.keys(
        normalizeEvent(pubsubCloudEvent('{}', hundred)).pubsub!.attributes,
      ).length,
      100,
    );
    refused(
      pubsubCloudEvent('{}', {...hundred, k100: 'v'}),
      /101 attributes, over Pub\/Sub's limit of 100/,
    );
    refused(
      pubsubCloudEvent('{}', {['k'.repeat(257)]: 'v'}),
      /attribute key .* is 257 bytes/,
    );
    refused(
      pubsubCloudEvent('{}', {k: 'v'.repeat(1025)}),
      /attribute "k" is 1025 bytes/,
    );
  });

  test("message data: 10 MiB read, more refused naming Pub/Sub's limit", () => {
    refused(
      pubsubCloudEvent('x'.repeat(10 * 2 ** 20 + 1)),
      /over Pub\/Sub's 10 MB message limit/,
    );
  });

  test('identity strings over 2 KiB (an id that would ride on every log line) are refused', () => {
    refused(
      storageCloudEvent(storageData('a'), {id: 'i'.repeat(2049)}),
      /CloudEvent id is 2049 bytes/,
    );
  });

  test('JSON 100 levels deep is read; 101 levels, in the data or the delivery, refused before it is parsed or walked', () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    assert.ok(normalizeEvent(pubsubCloudEvent(nest(100))).pubsub?.json);
    refused(
      pubsubCloudEvent(nest(101)),
      /pubsub message data \(JSON\) is nested more than 100 levels deep/,
    );
    refused(pubsubCloudEvent(nest(200_000)), /nested more than 100 levels/);
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = {a: deep};
    refused(
      storageCloudEvent(storageData('a', {x: deep})),
      /the event is nested more than 100 levels deep/,
    );
  });

  test('nesting is read from the text without parsing it; brackets inside strings do not count', () => {
    assert.equal(textNestsTooDeep(JSON.stringify({s: '['.repeat(500)})), false);
    assert.equal(
      textNestsTooDeep(`${'{"a":'.repeat(101)}1${'}'.repeat(101)}`),
      true,
    );
    assert.equal(
      textNestsTooDeep(JSON.stringify(['\\"[', '['.repeat(200)])),
      false,
    );
  });

  test('JSON values are counted from the text, strings skipped: data of more than 100,000 is left unparsed and says why', () => {
    assert.deepEqual(scanJsonText('[1,2,{"a":3,"b":[]}]'), {
      tooDeep: false,
      values: 7,
    });
    assert.equal(
      scanJsonText(JSON.stringify({s: ','.repeat(300_000)})).values,
      2,
      'commas inside strings do not count',
    );
    const many = `[${'0,'.repeat(100_000)}0]`;
    assert.ok(scanJsonText(many).values > 100_000);
    assert.equal(scanJsonText(`[${'0,'.repeat(99_998)}0]`).values, 99_999 + 1);
    const event = normalizeEvent(
      pubsubCloudEvent(`[${'{},'.repeat(200_000)}{}]`),
    );
    assert.equal(event.pubsub!.json, undefined);
    assert.match(
      dataNotJson(event)!,
      /^data is JSON of more than 100,000 values \(at least 100,001\), which this function does not parse/,
    );
    const fine = normalizeEvent(pubsubCloudEvent(`[${'0,'.repeat(50_000)}0]`));
    assert.equal((fine.pubsub!.json as unknown[]).length, 50_001);
  });

  test('an event time that is not RFC 3339 is refused (its age could never pass maxEventAge); a generation is read without leading zeros', () => {
    refused(
      pubsubCloudEvent({a: 1}, {}, {time: 'yesterday'}),
      /event time "yesterday" is not an RFC 3339 timestamp/,
    );
    const event = normalizeEvent(
      storageCloudEvent(storageData('in/a.csv', {generation: '000123'})),
    );
    assert.equal(event.storage!.generation, '123');
  });

  test('base64: 3.5 MiB is checked in linear time, and invalid text still refused', () => {
    const big = Buffer.alloc(3.5 * 2 ** 20, 7).toString('base64');
    assert.equal(decodeBase64(big, 'd').length, 3.5 * 2 ** 20);
    assert.equal(decodeBase64('aGk', 'd').toString(), 'hi');
    assert.equal(decodeBase64('aG k=\n', 'd').toString(), 'hi');
    assert.equal(decodeBase64('-_8', 'd').toString('hex'), 'fbff');
    for (const bad of ['a===', 'aGk=x', 'aG!k', '=aGk'])
      assert.throws(() => decodeBase64(bad, 'd'), /not valid base64/, bad);
  });
});
