import {test} from 'node:test';
import assert from 'node:assert/strict';
import {normalizeEvent} from '../../../src/events/normalize';
import {InvalidEventError} from '../../../src/core/errors';
import {PUBSUB_PUBLISHED, STORAGE_FINALIZED} from '../../../src/events/event';
import {sharedJson} from '../../support/paths';
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

test('Google storage sample (int64 as strings) normalizes with numeric size and string generation', () => {
  const e = normalizeEvent(
    binary(
      STORAGE_FINALIZED,
      '//storage.googleapis.com/projects/_/buckets/some-bucket',
      sharedJson('events/StorageObjectData-simple.json'),
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
      bucket: 'some-bucket',
      name: 'folder/Test.cs',
      generation: '1587627537231057',
      size: 352,
      ct: 'text/plain',
    },
  );
});

test('Google storage sample with int64 as numbers gives the same types', () => {
  const e = normalizeEvent(
    binary(
      STORAGE_FINALIZED,
      '//storage.googleapis.com/projects/_/buckets/sample-bucket',
      sharedJson('events/StorageObjectData-complex.json'),
    ),
  );
  assert.equal(e.storage!.generation, '96883251');
  assert.equal(e.storage!.size, 0);
  assert.deepEqual(e.storage!.metadata, {});
});

test('structured-mode storage sample keeps its CloudEvent attributes', () => {
  const e = normalizeEvent(
    sharedJson('events/structured/StorageObjectDataWorkflows.json'),
  );
  assert.equal(e.id, '1234567');
  assert.equal(e.subject, 'objects/MyFile');
  assert.equal(e.time, '2021-11-25T21:04:32.279744Z');
  assert.equal(e.storage!.bucket, 'sample-bucket');
});

test('Pub/Sub text sample: attributes, text and no JSON', () => {
  const e = normalizeEvent(
    binary(
      PUBSUB_PUBLISHED,
      '//pubsub.googleapis.com/projects/my-project/topics/my-topic',
      sharedJson('events/MessagePublishedData-text.json'),
    ),
  );
  assert.equal(e.pubsub!.text, 'test message 3');
  assert.equal(e.pubsub!.json, undefined);
  assert.deepEqual(e.pubsub!.attributes, {attr1: 'attr1-value'});
  assert.equal(e.pubsub!.topic, 'projects/my-project/topics/my-topic');
  assert.equal(e.pubsub!.messageId, 'message-id');
});

test('Pub/Sub binary sample: bytes that are not UTF-8 text keep only their base64', () => {
  const bin = {...sharedJson('events/MessagePublishedData-binary.json')};
  (bin.message as Record<string, unknown>).data = Buffer.from([
    0xff, 0xfe, 0x01,
  ]).toString('base64');
  const e = normalizeEvent(
    binary(
      PUBSUB_PUBLISHED,
      '//pubsub.googleapis.com/projects/p/topics/t',
      bin,
    ),
  );
  assert.equal(e.pubsub!.text, undefined);
  assert.equal(e.pubsub!.data, '//4B');
});

test('Pub/Sub snake_case duplicates (message_id, publish_time) are accepted, camelCase wins', () => {
  const dup = sharedJson('events/MessagePublishedData-duplicatedFields.json');
  const e = normalizeEvent(
    binary(
      PUBSUB_PUBLISHED,
      '//pubsub.googleapis.com/projects/p/topics/t',
      dup,
    ),
  );
  assert.equal(e.pubsub!.messageId, 'message-id');
  assert.equal(e.pubsub!.publishTime, '2021-02-05T04:06:14.109Z');
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
    'a storage delete',
    {
      data: storageData('x'),
      context: {
        eventId: '1',
        eventType: 'google.storage.object.delete',
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
