import {test} from 'node:test';
import assert from 'node:assert/strict';
import {normalizeEvent} from '../../../src/events/normalize';
import {InvalidEventError} from '../../../src/core/errors';
import {PUBSUB_PUBLISHED, STORAGE_FINALIZED} from '../../../src/events/event';
import {eventFixture} from '../../support/paths';
import {
  legacyPubsub,
  legacyStorage,
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../../support/events';

/** A binary-mode delivery as functions-framework hands it over: ce-* headers as attributes, body as data. */
function binary(
  type: string,
  source: string,
  data: unknown,
  extra: Record<string, unknown> = {},
) {
  return {
    specversion: '1.0',
    id: 'evt-1',
    type,
    source,
    time: '2026-11-21T10:00:00Z',
    data,
    ...extra,
  };
}

test('a storage object with int64 fields as strings (the JSON API form) normalizes with numeric size and string generation', () => {
  const e = normalizeEvent(
    binary(
      STORAGE_FINALIZED,
      '//storage.googleapis.com/projects/_/buckets/acme-landing',
      eventFixture('storage-object-int64-strings.json'),
    ),
  );
  assert.equal(e.kind, 'storage');
  assert.deepEqual(
    {
      bucket: e.storage!.bucket,
      name: e.storage!.name,
      generation: e.storage!.generation,
      size: e.storage!.size,
      ct: e.storage!.contentType,
    },
    {
      bucket: 'acme-landing',
      name: 'incoming/orders/2026-11-20/orders.csv',
      generation: '1763632800123456',
      size: 2048,
      ct: 'text/csv',
    },
  );
});

test('a storage object with int64 fields as numbers gives the same types', () => {
  const e = normalizeEvent(
    binary(
      STORAGE_FINALIZED,
      '//storage.googleapis.com/projects/_/buckets/acme-exports',
      eventFixture('storage-object-int64-numbers.json'),
    ),
  );
  assert.equal(e.storage!.generation, '42');
  assert.equal(e.storage!.size, 0);
  assert.deepEqual(e.storage!.metadata, {});
});

test('a structured-mode storage event keeps its CloudEvent attributes', () => {
  const e = normalizeEvent(
    eventFixture('structured/storage-object-finalized.json'),
  );
  assert.equal(e.id, '16329901727045201');
  assert.equal(e.subject, 'objects/incoming/orders/2026-11-20/orders.csv');
  assert.equal(e.time, '2026-11-20T10:00:00.123Z');
  assert.equal(e.storage!.bucket, 'acme-landing');
});

test('a Pub/Sub text message: attributes, text and no JSON', () => {
  const e = normalizeEvent(
    binary(
      PUBSUB_PUBLISHED,
      '//pubsub.googleapis.com/projects/acme-data/topics/airflow-commands',
      eventFixture('pubsub-message-text.json'),
    ),
  );
  assert.equal(e.pubsub!.text, 'refresh the marts');
  assert.equal(e.pubsub!.json, undefined);
  assert.deepEqual(e.pubsub!.attributes, {kind: 'note'});
  assert.equal(e.pubsub!.topic, 'projects/acme-data/topics/airflow-commands');
  assert.equal(e.pubsub!.messageId, '11500000000001');
});

test('a Pub/Sub binary message: bytes that are not UTF-8 text keep only their base64', () => {
  const e = normalizeEvent(
    binary(
      PUBSUB_PUBLISHED,
      '//pubsub.googleapis.com/projects/p/topics/t',
      eventFixture('pubsub-message-binary.json'),
    ),
  );
  assert.equal(e.pubsub!.text, undefined);
  assert.equal(e.pubsub!.data, '3q2+7w==');
});

test('Pub/Sub snake_case duplicates (message_id, publish_time) are accepted, camelCase wins', () => {
  const dup = eventFixture('pubsub-message-duplicated-fields.json');
  const e = normalizeEvent(
    binary(
      PUBSUB_PUBLISHED,
      '//pubsub.googleapis.com/projects/p/topics/t',
      dup,
    ),
  );
  assert.equal(e.pubsub!.messageId, '11500000000003');
  assert.equal(e.pubsub!.publishTime, '2026-11-20T10:07:00.000Z');
  const snakeOnly = {
    message: {
      data: '',
      message_id: 'snake-id',
      publish_time: '2021-01-01T00:00:00Z',
    },
  };
  const s = normalizeEvent(
    binary(
      PUBSUB_PUBLISHED,
      '//pubsub.googleapis.com/projects/p/topics/t',
      snakeOnly,
    ),
  );
  assert.equal(s.pubsub!.messageId, 'snake-id');
  assert.equal(s.pubsub!.publishTime, '2021-01-01T00:00:00Z');
});

test('Pub/Sub JSON body is parsed', () => {
  const e = normalizeEvent(pubsubCloudEvent({dag: 'x', n: 2}));
  assert.deepEqual(e.pubsub!.json, {dag: 'x', n: 2});
});

test('binary-mode data as a string or Buffer (non-JSON content type) is parsed as JSON', () => {
  const data = JSON.stringify(storageData('a.csv'));
  for (const d of [data, Buffer.from(data)]) {
    const e = normalizeEvent(
      binary(
        STORAGE_FINALIZED,
        '//storage.googleapis.com/projects/_/buckets/landing',
        d,
      ),
    );
    assert.equal(e.storage!.name, 'a.csv');
  }
});

test('structured mode data_base64 is decoded', () => {
  const ce = storageCloudEvent(storageData('b.csv'));
  const {data, ...rest} = ce;
  const e = normalizeEvent({
    ...rest,
    data_base64: Buffer.from(JSON.stringify(data)).toString('base64'),
  });
  assert.equal(e.storage!.name, 'b.csv');
});

test('gen1 legacy storage and pubsub bodies normalize to their gen2 twins', () => {
  const ce = storageCloudEvent(
    storageData('dir/file.csv', {metadata: {k: 'v'}}),
  );
  const gen2 = normalizeEvent(ce);
  const gen1 = normalizeEvent(legacyStorage(ce));
  const plain = (v: object) =>
    JSON.parse(JSON.stringify({...v, format: undefined})) as unknown;
  assert.deepEqual(plain(gen1), plain(gen2));
  const pce = pubsubCloudEvent({a: 1}, {k: 'v'});
  const p2 = normalizeEvent(pce);
  const p1 = normalizeEvent(legacyPubsub(pce));
  assert.deepEqual(p1.pubsub!.json, p2.pubsub!.json);
  assert.deepEqual(p1.pubsub!.attributes, p2.pubsub!.attributes);
  assert.equal(p1.pubsub!.messageId, p2.pubsub!.messageId);
  assert.equal(p1.pubsub!.topic, p2.pubsub!.topic);
  assert.equal(p1.type, PUBSUB_PUBLISHED);
});

test('older gen1 format (context fields at the top level, providers/ event types)', () => {
  const e = normalizeEvent({
    eventId: 'old-1',
    timestamp: '2026-01-01T00:00:00Z',
    eventType: 'providers/cloud.storage/eventTypes/object.change',
    resource: 'projects/_/buckets/landing/objects/x.csv',
    data: storageData('x.csv'),
  });
  assert.equal(e.type, STORAGE_FINALIZED);
  assert.equal(e.storage!.name, 'x.csv');
});

const bad: [string, unknown, RegExp][] = [
  ['null', null, /expected a CloudEvent/],
  ['an array', [1], /expected a CloudEvent/],
  ['no type at all', {hello: 1}, /neither a CloudEvent/],
  [
    'another event type',
    binary('google.cloud.firestore.document.v1.written', '//firestore', {}),
    /unsupported event type/,
  ],
  [
    'a gen1 type of another product',
    {
      data: storageData('x'),
      context: {
        eventId: '1',
        eventType: 'providers/cloud.firestore/eventTypes/document.write',
        resource: 'r',
      },
    },
    /unsupported legacy event type/,
  ],
  [
    'storage data without name',
    binary(STORAGE_FINALIZED, '//storage.googleapis.com/x', {bucket: 'b'}),
    /no object name/,
  ],
  [
    'storage data that is not JSON',
    binary(STORAGE_FINALIZED, '//storage.googleapis.com/x', 'not json{'),
    /not JSON/,
  ],
  [
    'a negative size',
    binary(STORAGE_FINALIZED, '//s', storageData('x', {size: -1})),
    /size/,
  ],
  [
    'metadata with a number',
    binary(STORAGE_FINALIZED, '//s', storageData('x', {metadata: {a: 1}})),
    /metadata\.a/,
  ],
  [
    'pubsub without message',
    binary(PUBSUB_PUBLISHED, '//pubsub.googleapis.com/projects/p/topics/t', {}),
    /expected \{message/,
  ],
  [
    'invalid base64',
    binary(PUBSUB_PUBLISHED, '//pubsub.googleapis.com/projects/p/topics/t', {
      message: {data: 'not base64!!'},
    }),
    /not valid base64/,
  ],
  [
    'attributes that are not strings',
    binary(PUBSUB_PUBLISHED, '//pubsub.googleapis.com/projects/p/topics/t', {
      message: {data: '', attributes: {a: {}}},
    }),
    /attributes\.a/,
  ],
  [
    'a Storage event whose data is missing (says missing, not "undefined undefined")',
    {
      specversion: '1.0',
      id: '1',
      type: STORAGE_FINALIZED,
      source: '//storage.googleapis.com/projects/_/buckets/b',
      subject: 'objects/x.csv',
    },
    /^storage event data is missing, expected a StorageObjectData object$/,
  ],
  [
    'a Storage object name sent as a number',
    binary(STORAGE_FINALIZED, '//storage.googleapis.com/projects/_/buckets/b', {
      ...storageData('x'),
      name: 12345,
    }),
    /storage object name is number 12345, expected a string/,
  ],
  [
    'a CloudEvent without id',
    {
      specversion: '1.0',
      type: STORAGE_FINALIZED,
      source: 's',
      data: storageData('x'),
    },
    /no 'id'/,
  ],
];
for (const [what, input, message] of bad) {
  test(`rejects ${what} with a clear InvalidEventError`, () => {
    assert.throws(
      () => normalizeEvent(input),
      (err: unknown) =>
        err instanceof InvalidEventError && message.test(err.message),
    );
  });
}
