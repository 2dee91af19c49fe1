/**
 * Raw Pub/Sub push subscriptions and Cloud Storage notifications, read as
 * the function reads the request (readDelivery over body, headers, path).
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readDelivery} from '../../../src/events/delivery';
import {normalizeEvent} from '../../../src/events/normalize';
import {routeEvent, unmatchedMessage} from '../../../src/routing/route';
import {dagRunId} from '../../../src/routing/run-id';
import {renderRun} from '../../../src/routing/render';
import {STORAGE_DELETED, STORAGE_FINALIZED} from '../../../src/events/event';
import {eventFixture} from '../../support/paths';
import {configWith} from '../../support/config';

const push = eventFixture('delivery/pubsub-push.json');
const note = eventFixture('delivery/notification-push.json');
const noteAgain = eventFixture('delivery/notification-push-redelivered.json');
const noteDelete = eventFixture('delivery/notification-push-delete.json');
const eventarc = eventFixture('structured/storage-object-finalized.json');

const read = (body: unknown, path = '/', headers = {}) =>
  readDelivery({body, headers, path});

test('a raw push to /projects/P/topics/T: topic from the path, subscription and ordering key kept', () => {
  const e = normalizeEvent(read(push, '/projects/acme-data/topics/commands'));
  assert.equal(e.type, 'google.cloud.pubsub.topic.v1.messagePublished');
  assert.equal(e.id, '13000000000000001');
  assert.equal(e.pubsub!.topic, 'projects/acme-data/topics/commands');
  assert.equal(
    e.pubsub!.subscription,
    'projects/acme-data/subscriptions/commands-push',
  );
  assert.equal(e.pubsub!.orderingKey, 'k1');
  assert.deepEqual(e.pubsub!.json, {dag: 'handle_message', note: 'nightly'});
});

test('a raw push to /: the topic comes from subscriptionTopics, and a topic route matches', () => {
  const config = configWith(
    [{name: 'cmd', match: {topic: 'commands'}, dag: 'handle_message'}],
    {
      subscriptionTopics: {
        'projects/acme-data/subscriptions/commands-push':
          'projects/acme-data/topics/commands',
      },
    },
  );
  const e = normalizeEvent(read(push), config);
  assert.equal(e.pubsub!.topic, 'projects/acme-data/topics/commands');
  assert.equal(
    e.source,
    '//pubsub.googleapis.com/projects/acme-data/topics/commands',
  );
  assert.deepEqual(
    routeEvent(config, e).map(m => m.route.name),
    ['cmd'],
  );
  // The same message pushed to a path naming the topic: the same event.
  const viaPath = normalizeEvent(
    read(push, '/projects/acme-data/topics/commands'),
    config,
  );
  assert.equal(viaPath.source, e.source);
  assert.equal(dagRunId(viaPath, 'cmd'), dagRunId(e, 'cmd'));
});

test('a raw push to / without a mapping: unmatched, and the line says the topic is unknown', () => {
  const config = configWith([
    {name: 'cmd', match: {topic: 'commands'}, dag: 'handle_message'},
  ]);
  const e = normalizeEvent(read(push), config);
  assert.equal(e.pubsub!.topic, undefined);
  assert.equal(routeEvent(config, e).length, 0);
  assert.match(unmatchedMessage(e), /topic is unknown.*subscriptionTopics/);
});

test('routes match on subscription, by id or full name', () => {
  const config = configWith([
    {name: 'by-id', match: {subscription: 'commands-push'}, dag: 'a'},
    {
      name: 'by-name',
      match: {subscription: 'projects/acme-data/subscriptions/commands-push'},
      dag: 'b',
    },
    {name: 'other', match: {subscription: 'other-sub'}, dag: 'c'},
  ]);
  const e = normalizeEvent(read(push), config);
  assert.deepEqual(
    routeEvent(config, e).map(m => m.route.name),
    ['by-id', 'by-name'],
  );
});

test('subscriptionTopics keys and values are checked', () => {
  assert.throws(
    () =>
      configWith([{name: 'r', dag: 'd'}], {
        subscriptionTopics: {'commands-push': 'commands'},
      }),
    /subscriptionTopics.*projects\/P\/subscriptions\/S[\s\S]*projects\/P\/topics\/T/,
  );
});

test('a binary-mode CloudEvent is read from its ce-* headers, as functions-framework does', () => {
  const delivered = read({bucket: 'b', name: 'x', generation: '3'}, '/', {
    'ce-specversion': '1.0',
    'ce-type': STORAGE_FINALIZED,
    'ce-source': '//storage.googleapis.com/projects/_/buckets/b',
    'ce-id': 'e1',
    'ce-subject': 'objects/x',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  const e = normalizeEvent(delivered);
  assert.equal(e.storage!.name, 'x');
  assert.equal(
    e.traceparent,
    '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  );
});

const storageConfig = () =>
  configWith([
    {
      name: 'orders',
      match: {bucket: 'acme-landing', name: {glob: 'incoming/orders/**'}},
      dag: 'process_file',
      conf: {
        uri: 'gs://{{ bucket }}/{{ name }}',
        generation: '{{ generation }}',
      },
    },
    {
      name: 'deletions',
      match: {type: STORAGE_DELETED, bucket: 'acme-landing'},
      dag: 'forget_file',
    },
  ]);

test('a Storage notification is the Storage event Eventarc delivers: same route, conf and dag_run_id', () => {
  const config = storageConfig();
  const viaNote = normalizeEvent(read(note), config);
  const viaRedelivery = normalizeEvent(read(noteAgain), config);
  const viaEventarc = normalizeEvent(eventarc, config);
  for (const e of [viaNote, viaRedelivery, viaEventarc]) {
    assert.equal(e.kind, 'storage');
    assert.equal(e.type, STORAGE_FINALIZED);
    assert.equal(e.storage!.bucket, 'acme-landing');
    assert.equal(e.storage!.generation, '1763632800123456');
    assert.equal(e.storage!.metadata.source, 'partner-sftp');
  }
  assert.notEqual(viaNote.id, viaRedelivery.id);
  const runs = [viaNote, viaRedelivery, viaEventarc].map(e => {
    const [m, ...more] = routeEvent(config, e);
    assert.equal(more.length, 0);
    return renderRun(config, m!, e);
  });
  assert.equal(new Set(runs.map(r => r.dagRunId)).size, 1);
  assert.deepEqual(runs[0]!.conf, runs[2]!.conf);
});

test('a notification with the generation as a number (emulators) or payloadFormat NONE names the same run', () => {
  const msg = note.message as Record<string, unknown>;
  const data = JSON.parse(
    Buffer.from(msg.data as string, 'base64').toString('utf8'),
  ) as Record<string, unknown>;
  const numeric = {
    ...note,
    message: {
      ...msg,
      data: Buffer.from(
        JSON.stringify({...data, generation: 1763632800123456, size: 2048}),
      ).toString('base64'),
    },
  };
  const none = {
    ...note,
    message: {
      ...msg,
      data: '',
      attributes: {
        ...(msg.attributes as object),
        payloadFormat: 'NONE',
      },
    },
  };
  const ids = [note, numeric, none, eventarc].map(b =>
    dagRunId(normalizeEvent(read(b)), 'orders'),
  );
  assert.equal(new Set(ids).size, 1);
});

test('a delete (notification or Eventarc) is routed only by a route naming its type; else acked with why', () => {
  const config = storageConfig();
  const viaNote = normalizeEvent(read(noteDelete), config);
  const viaEventarc = normalizeEvent({
    ...eventarc,
    id: 'del-1',
    type: STORAGE_DELETED,
  });
  for (const e of [viaNote, viaEventarc]) {
    assert.equal(e.type, STORAGE_DELETED);
    assert.deepEqual(
      routeEvent(config, e).map(m => m.route.name),
      ['deletions'],
    );
  }
  const finalizeOnly = configWith([{name: 'orders', dag: 'process_file'}]);
  assert.equal(routeEvent(finalizeOnly, viaNote).length, 0);
  assert.match(
    unmatchedMessage(viaNote),
    /no route names google\.cloud\.storage\.object\.v1\.deleted in match\.type/,
  );
  // The deletion of a generation is not its finalize: another run id.
  assert.notEqual(
    dagRunId(viaNote, 'r'),
    dagRunId(normalizeEvent(read(note)), 'r'),
  );
  assert.equal(dagRunId(viaNote, 'r'), dagRunId(viaEventarc, 'r'));
});

test('a notification whose attributes and data disagree, or whose JSON_API_V1 data is not JSON, is rejected', () => {
  const msg = note.message as Record<string, unknown>;
  const attrs = msg.attributes as Record<string, string>;
  assert.throws(
    () =>
      normalizeEvent(
        read({
          ...note,
          message: {...msg, attributes: {...attrs, objectId: 'other.csv'}},
        }),
      ),
    /attributes name gs:\/\/acme-landing\/other\.csv but its data names/,
  );
  assert.throws(
    () =>
      normalizeEvent(
        read({
          ...note,
          message: {...msg, data: Buffer.from('not json').toString('base64')},
        }),
      ),
    /payloadFormat JSON_API_V1 but its data is not a JSON object resource/,
  );
});

test("a notification's eventTime attribute (set by whoever publishes) later than Pub/Sub's publishTime: the event's age is told by publishTime", () => {
  const msg = note.message as Record<string, unknown>;
  const forged = {
    ...note,
    message: {
      ...msg,
      publishTime: '2026-11-20T10:00:00Z',
      attributes: {
        ...(msg.attributes as object),
        eventTime: '2999-01-01T00:00:00Z',
      },
    },
  };
  assert.equal(normalizeEvent(read(forged)).time, '2026-11-20T10:00:00Z');
});
