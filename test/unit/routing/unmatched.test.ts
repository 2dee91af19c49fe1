/**
 * An event no route matches: why each route did not (its first failing
 * condition), what a `{{ json… }}` template says when the data is not JSON,
 * the `unmatched` policy per event kind, and `explain` showing the same.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {normalizeEvent} from '../../../src/events/normalize';
import {unmatchedReasons, routeEvent} from '../../../src/routing/route';
import {renderRun} from '../../../src/routing/render';
import {explainEvent} from '../../../src/cli/explain';
import {configWith} from '../../support/config';
import {
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../../support/events';

const file = (name: string) =>
  normalizeEvent(storageCloudEvent(storageData(name)));
const msg = (text: string) => normalizeEvent(pubsubCloudEvent(text));

const ROUTES = [
  {
    name: 'orders',
    match: {type: 'storage', name: {glob: 'incoming/**/*.csv'}},
    dag: 'd',
  },
  {name: 'commands', match: {json: {dag_id: {exists: true}}}, dag: 'd'},
  {name: 'tagged', match: {metadata: {source: 'erp'}}, dag: 'd'},
];

test('each route says why it did not match: the first failing condition, and "data is not JSON" with an excerpt', () => {
  const config = configWith(ROUTES);
  assert.deepEqual(unmatchedReasons(config, file('other/x.txt')), [
    'route orders: name did not match glob incoming/**/*.csv',
    'route commands: json.dag_id: a Storage event has no message data',
    'route tagged: metadata.source is absent, expected "erp"',
  ]);
  const text = `trigger nightly_load now\n${'x'.repeat(200)}`;
  assert.deepEqual(unmatchedReasons(config, msg(text)), [
    'route orders: type is google.cloud.pubsub.topic.v1.messagePublished, the route takes google.cloud.storage.object.v1.finalized',
    `route commands: json.dag_id: data is not JSON: ${JSON.stringify(text.slice(0, 60))}…`,
    'route tagged: metadata.source is absent, expected "erp"',
  ]);
  assert.match(
    unmatchedReasons(config, msg('{"other": 1}'))[1]!,
    /^route commands: json.dag_id is absent, expected present$/,
  );
});

test('a Storage notification sent with --payload-format=none: a route on its content type says the resource was not sent and how to send it', () => {
  const config = configWith([
    {
      name: 'csv',
      match: {type: 'storage', contentType: 'text/csv'},
      dag: 'd',
    },
  ]);
  const event = normalizeEvent(
    pubsubCloudEvent(
      '',
      {
        eventType: 'OBJECT_FINALIZE',
        payloadFormat: 'NONE',
        bucketId: 'landing',
        objectId: 'in/a.csv',
        objectGeneration: '7',
      },
      {id: 'note-none'},
    ),
  );
  assert.equal(event.kind, 'storage');
  assert.deepEqual(unmatchedReasons(config, event), [
    'route csv: contentType is absent, expected "text/csv" (the Cloud Storage notification was created with --payload-format=none, so it carries only the bucket, object name and generation; recreate it with --payload-format=json)',
  ]);
});

test('a {{ json.dag }} route on data that is not JSON is rejected saying so, not "add | default"', () => {
  const config = configWith([
    {name: 'bare', dag: '{{ json.dag }}', allowedDags: ['load']},
  ]);
  const event = msg('load please');
  const [match] = routeEvent(config, event);
  assert.throws(
    () => renderRun(config, match!, event),
    (e: Error) =>
      /^route 'bare': \{\{ json.dag \}\} has no value: the message data is not JSON: "load please"$/.test(
        e.message,
      ),
  );
  // JSON without the field still gets the advice about `| default`.
  const json = msg('{"x": 1}');
  assert.throws(
    () => renderRun(config, routeEvent(config, json)[0]!, json),
    /add '\| default/,
  );
});

test('unmatched: deadLetter for Pub/Sub and ack for Storage by default; one policy or one per kind', () => {
  assert.deepEqual(configWith(ROUTES).unmatched, {
    storage: 'ack',
    pubsub: 'deadLetter',
  });
  assert.deepEqual(configWith(ROUTES, {unmatched: 'ack'}).unmatched, {
    storage: 'ack',
    pubsub: 'ack',
  });
  assert.deepEqual(
    configWith(ROUTES, {unmatched: {storage: 'deadLetter'}}).unmatched,
    {storage: 'deadLetter', pubsub: 'deadLetter'},
  );
  assert.throws(
    () => configWith(ROUTES, {unmatched: 'drop'}),
    /unmatched: expected ack or deadLetter/,
  );
});

test('explain shows the same per-route reasons and the policy', () => {
  const out = explainEvent(configWith(ROUTES), pubsubCloudEvent('not json'));
  assert.deepEqual(out.triggers, []);
  assert.deepEqual(out.unmatched, {
    policy: 'deadLetter',
    reason: 'no route matches this event',
    routes: unmatchedReasons(configWith(ROUTES), msg('not json')),
  });
  assert.match(out.unmatched!.routes[1]!, /data is not JSON: "not json"/);
});
