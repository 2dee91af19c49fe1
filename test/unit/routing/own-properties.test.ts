/**
 * Event-controlled objects (attributes, metadata, JSON bodies) and config maps
 * are read by their own keys only: Object.prototype's names never match, and
 * a key named __proto__ is a key like any other, in matching and in the conf.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {normalizeEvent} from '../../../src/events/normalize';
import {routeEvent} from '../../../src/routing/route';
import {renderRun} from '../../../src/routing/render';
import {RejectedError} from '../../../src/core/errors';
import {lazyRE2} from '../../../src/patterns/linear-regex';
import {configWith} from '../../support/config';
import {
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../../support/events';

const msg = (body: unknown, attrs: Record<string, string> = {}) =>
  normalizeEvent(pubsubCloudEvent(body, attrs));
const file = (metadata: Record<string, string>) =>
  normalizeEvent(storageCloudEvent(storageData('in/a.csv', {metadata})));
const r = (name: string, match: unknown, extra: object = {}) => ({
  name,
  match,
  dag: 'd',
  ...extra,
});
/** Parsed as a config file or a message body is: __proto__ an own key. */
const parsed = <T>(json: string) => JSON.parse(json) as T;

test('inherited names (constructor, toString, __proto__) are not attributes, metadata or JSON fields', () => {
  const config = configWith([
    r('attr', {type: 'pubsub', attributes: {constructor: {exists: true}}}),
    r('json', {type: 'pubsub', json: {constructor: {exists: true}}}),
    r('deep', {type: 'pubsub', json: {'a.toString': {exists: true}}}),
    r('meta', {type: 'storage', metadata: {toString: {exists: true}}}),
    r('absent', {
      type: 'pubsub',
      attributes: {hasOwnProperty: {exists: false}},
    }),
  ]);
  const names = (e: ReturnType<typeof msg>) =>
    routeEvent(config, e).map(m => m.route.name);
  assert.deepEqual(names(msg({a: {}}, {kind: 'x'})), ['absent']);
  assert.deepEqual(names(file({source: 'erp'})), []);
  // The same names as real keys do match.
  assert.deepEqual(
    names(msg({constructor: 1, a: {toString: 'x'}}, {constructor: 'c'})),
    ['attr', 'json', 'deep', 'absent'],
  );
  assert.deepEqual(names(file({toString: 'y'})), ['meta']);
});

test('a config matcher on the key __proto__ is kept, and matches only that attribute', () => {
  const config = configWith([
    r('proto', parsed('{"type": "pubsub", "attributes": {"__proto__": "x"}}')),
  ]);
  assert.deepEqual(routeEvent(config, msg('{}', {kind: 'y'})), []);
  const e = msg('{}', parsed('{"__proto__": "x"}'));
  assert.deepEqual(
    routeEvent(config, e).map(m => m.route.name),
    ['proto'],
  );
});

test('__proto__ keys reach the conf: from the config, from attributes, from the JSON body, from a capture', () => {
  const config = configWith([
    r(
      'r',
      {type: 'pubsub', topic: {regex: '^(?<__proto__>c)ommands$'}},
      {
        conf: parsed(
          '{"__proto__": {"fixed": 1}, "attrs": "{{ attributes }}", "one": "{{ attributes[\'__proto__\'] }}", "body": "{{ json }}", "cap": "{{ captures }}"}',
        ),
      },
    ),
  ]);
  const e = msg(
    '{"__proto__": {"z": 1}, "b": 2}',
    parsed('{"__proto__": "a"}'),
  );
  const [m] = routeEvent(config, e);
  const conf = renderRun(config, m!, e).conf;
  assert.equal(
    JSON.stringify(conf),
    '{"__proto__":{"fixed":1},"attrs":{"__proto__":"a"},"one":"a","body":{"__proto__":{"z":1},"b":2},"cap":{"__proto__":"c"}}',
  );
  assert.equal(Object.getPrototypeOf(conf), Object.prototype);
});

test('should a pattern RE2 refuses ever reach an event, it rejects its route (dead letter with the reason); other routes still run', () => {
  // The config refuses such a pattern (re2-screen.ts); this is the defence behind it, so the
  // refused program is put in the compiled route by hand.
  const config = configWith([
    r('nested', {type: 'pubsub', topic: {prefix: 'c'}}),
    r('fine', {type: 'pubsub'}),
  ]);
  const source = '^c(?:(?:o{100}){100})';
  const re = lazyRE2({
    source,
    translate: true,
    dotAll: false,
    prefix: 'c',
    what: `regex ${JSON.stringify(source)}`,
  });
  config.routes[0]!.conditions[0]!.matcher = {
    describe: `regex ${source}`,
    prepare: () => re.prepare(),
    match: v => (typeof v === 'string' ? re.match(v) : undefined),
  };
  const e = msg('{}');
  const matches = routeEvent(config, e);
  assert.deepEqual(
    matches.map(m => m.route.name),
    ['nested', 'fine'],
  );
  assert.throws(
    () => renderRun(config, matches[0]!, e),
    (err: Error) =>
      err instanceof RejectedError &&
      /^route 'nested': regex .* cannot run on the linear-time engine \(RE2\): invalid repeat count/.test(
        err.message,
      ),
  );
  assert.equal(renderRun(config, matches[1]!, e).dagId, 'd');
});
