/** Each routing feature of the config, one test each. */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {normalizeEvent} from '../../../src/events/normalize';
import {routeEvent} from '../../../src/routing/route';
import {configWith} from '../../support/config';
import {
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../../support/events';

const file = (name: string, extra: Record<string, unknown> = {}) =>
  normalizeEvent(storageCloudEvent(storageData(name, extra)));
const msg = (
  body: unknown,
  attrs: Record<string, string> = {},
  topic?: string,
) => normalizeEvent(pubsubCloudEvent(body, attrs, {}, topic));
const routed = (routes: unknown[], e: ReturnType<typeof file>) =>
  routeEvent(configWith(routes), e).map(m => m.route.name);
const r = (name: string, match: unknown) => ({name, match, dag: 'd'});

test('match.type: storage / pubsub shorthands and full CloudEvent types', () => {
  const routes = [
    r('s', {type: 'storage'}),
    r('p', {type: 'google.cloud.pubsub.topic.v1.messagePublished'}),
    r('any', {}),
  ];
  assert.deepEqual(routed(routes, file('a')), ['s', 'any']);
  assert.deepEqual(routed(routes, msg('x')), ['p', 'any']);
});

test('match.bucket: exact and any-of', () => {
  assert.deepEqual(
    routed(
      [
        r('a', {bucket: 'landing'}),
        r('b', {bucket: ['x', 'landing']}),
        r('c', {bucket: 'other'}),
      ],
      file('f'),
    ),
    ['a', 'b'],
  );
});

test('match.name glob: * stays in a segment, ** crosses folders, {a,b} and ? work', () => {
  const routes = [
    r('star', {name: {glob: 'in/*.csv'}}),
    r('deep', {name: {glob: 'in/**/*.csv'}}),
    r('alt', {name: {glob: 'in/**/*.{csv,json}'}}),
    r('q', {name: {glob: 'in/?.csv'}}),
  ];
  assert.deepEqual(routed(routes, file('in/a.csv')), [
    'star',
    'deep',
    'alt',
    'q',
  ]);
  assert.deepEqual(routed(routes, file('in/2026/11/ab.csv')), ['deep', 'alt']);
  assert.deepEqual(routed(routes, file('in/x/y.json')), ['alt']);
  assert.deepEqual(routed(routes, file('out/a.csv')), []);
});

test('match.name regex: named captures reach the templates', () => {
  const [m] = routeEvent(
    configWith([
      r('re', {
        name: {regex: '^exports/(?<table>\\w+)/dt=(?<date>[\\d-]+)/_SUCCESS$'},
      }),
    ]),
    file('exports/orders/dt=2026-11-21/_SUCCESS'),
  );
  assert.deepEqual(m!.context.captures, {table: 'orders', date: '2026-11-21'});
});

test('_SUCCESS marker via suffix, prefix matcher', () => {
  const routes = [
    r('marker', {name: {suffix: '/_SUCCESS'}}),
    r('pre', {name: {prefix: 'exports/'}}),
  ];
  assert.deepEqual(routed(routes, file('exports/t/_SUCCESS')), [
    'marker',
    'pre',
  ]);
  assert.deepEqual(routed(routes, file('exports/t/part-0001.parquet')), [
    'pre',
  ]);
});

test('match.contentType', () => {
  assert.deepEqual(
    routed(
      [
        r('csv', {contentType: 'text/csv'}),
        r('json', {contentType: 'application/json'}),
      ],
      file('a'),
    ),
    ['csv'],
  );
});

test('match.metadata: value and exists', () => {
  const e = file('a', {metadata: {source: 'erp', audit: 'true'}});
  const routes = [
    r('src', {metadata: {source: 'erp'}}),
    r('has', {metadata: {audit: {exists: true}}}),
    r('no', {metadata: {source: 'crm'}}),
    r('absent', {metadata: {pii: {exists: false}}}),
  ];
  assert.deepEqual(routed(routes, e), ['src', 'has', 'absent']);
});

test('match.topic: by id or full name', () => {
  const e = msg('x', {}, 'projects/acme/topics/commands');
  const routes = [
    r('id', {topic: 'commands'}),
    r('full', {topic: 'projects/acme/topics/commands'}),
    r('other', {topic: 'projects/other/topics/commands'}),
  ];
  assert.deepEqual(routed(routes, e), ['id', 'full']);
});

test('match.attributes', () => {
  const routes = [
    r('cmd', {attributes: {kind: 'command'}}),
    r('glob', {attributes: {env: {glob: 'prod-*'}}}),
  ];
  assert.deepEqual(
    routed(routes, msg('x', {kind: 'command', env: 'prod-eu'})),
    ['cmd', 'glob'],
  );
  assert.deepEqual(routed(routes, msg('x', {kind: 'event'})), []);
});

test('match.json: fields of a JSON message body by dotted path, with JSON types', () => {
  const routes = [
    r('action', {json: {action: 'run'}}),
    r('nested', {json: {'target.env': ['prod', 'staging']}}),
    r('num', {json: {priority: 1, urgent: true}}),
    r('has', {json: {dag: {exists: true}}}),
  ];
  assert.deepEqual(
    routed(
      routes,
      msg({action: 'run', target: {env: 'prod'}, priority: 1, urgent: true}),
    ),
    ['action', 'nested', 'num'],
  );
  assert.deepEqual(routed(routes, msg('not json')), []);
});

test('all conditions of a route must hold (AND), storage fields never match Pub/Sub events', () => {
  const routes = [
    r('both', {bucket: 'landing', name: {glob: '*.csv'}}),
    r('bucket-on-msg', {bucket: 'landing'}),
  ];
  assert.deepEqual(routed(routes, file('a.json')), ['bucket-on-msg']);
  assert.deepEqual(routed(routes, msg('x')), []);
});

test('fan-out: several routes match one event, in config order', () => {
  assert.deepEqual(
    routed(
      [
        r('one', {type: 'storage'}),
        r('two', {name: {glob: '**'}}),
        r('three', {}),
      ],
      file('a/b'),
    ),
    ['one', 'two', 'three'],
  );
});
