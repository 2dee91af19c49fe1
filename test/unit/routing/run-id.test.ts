import {test} from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  dagRunId,
  readable,
  RUN_ID_MAX,
  RUN_ID_PATTERN,
} from '../../../src/routing/run-id';
import {normalizeEvent} from '../../../src/events/normalize';
import {
  legacyStorage,
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../../support/events';

const ev = (name: string, gen = '1') =>
  normalizeEvent(storageCloudEvent(storageData(name, {generation: gen})));

test('the same event and route always give the same dag_run_id (redelivery, gen1 twin)', () => {
  const ce = storageCloudEvent(storageData('in/a.csv'));
  assert.equal(
    dagRunId(normalizeEvent(ce), 'r'),
    dagRunId(normalizeEvent({...ce}), 'r'),
  );
  assert.equal(
    dagRunId(normalizeEvent(ce), 'r'),
    dagRunId(normalizeEvent(legacyStorage(ce)), 'r'),
  );
});

test('different routes, generations, objects and messages never share an id', () => {
  const ids = new Set([
    dagRunId(ev('a.csv'), 'r1'),
    dagRunId(ev('a.csv'), 'r2'),
    dagRunId(ev('a.csv', '2'), 'r1'),
    dagRunId(ev('b.csv'), 'r1'),
    dagRunId(ev('dir/a.csv'), 'r1'),
    dagRunId(ev('a csv'), 'r1'),
    dagRunId(ev('a_csv'), 'r1'),
    dagRunId(normalizeEvent(pubsubCloudEvent('x', {}, {id: 'm1'})), 'r1'),
    dagRunId(normalizeEvent(pubsubCloudEvent('x', {}, {id: 'm2'})), 'r1'),
  ]);
  assert.equal(ids.size, 9);
});

test("ids fit Airflow's default allowed_run_id_pattern and 250 chars for any object name", () => {
  const names = [
    'simple.csv',
    'spaces in name/and more.csv',
    'percent%20and%2Fslash.csv',
    'ünïcødé/日本語ファイル.csv',
    '😀/emoji😀.json',
    '../../etc/passwd',
    '{{ json.dag }}',
    'a'.repeat(1024),
    `${'ü'.repeat(500)}.csv`,
    '____',
    '.',
  ];
  for (const n of names) {
    const id = dagRunId(ev(n), 'route-with.dots_and-dashes');
    assert.match(id, RUN_ID_PATTERN, n);
    assert.ok(
      id.length <= RUN_ID_MAX,
      `${id.length} chars for ${n.slice(0, 20)}`,
    );
  }
});

test('the id is readable: source kind, route and file name first', () => {
  assert.match(
    dagRunId(ev('incoming/orders 2026.csv'), 'orders'),
    /^gcs__orders__orders_2026.csv__[0-9a-f]{32}$/,
  );
});

test('readable(): names that are already clean are returned as they are, exactly as the full folding would leave them', () => {
  const fold = (s: string) =>
    s
      .normalize('NFKD')
      .replace(/[^A-Za-z0-9_.~+-]+/g, '_')
      .replace(/_{2,}/g, '_')
      .replace(/^[_.]+|[_.]+$/g, '')
      .slice(0, 96);
  const chars = fc.constantFrom(...'aZ09_.~+-/ é__..'.split(''));
  fc.assert(
    fc.property(
      fc.array(chars, {maxLength: 120}).map(a => a.join('')),
      s => readable(s) === fold(s),
    ),
  );
  for (const s of [
    'part-1.csv',
    '_x',
    'x_',
    'a__b',
    '.hidden',
    'x'.repeat(96),
    'x'.repeat(97),
    'Straße',
    '',
  ])
    assert.equal(readable(s), fold(s), s);
});

test('each metadata update of a generation is its own event (its metageneration), a redelivery of one is the same', () => {
  const update = (metageneration: string, id: string) =>
    normalizeEvent({
      specversion: '1.0',
      id,
      type: 'google.cloud.storage.object.v1.metadataUpdated',
      source: '//storage.googleapis.com/projects/_/buckets/b',
      subject: 'objects/m/x.csv',
      time: '2026-11-20T10:00:00Z',
      data: {bucket: 'b', name: 'm/x.csv', generation: '17', metageneration},
    });
  const second = dagRunId(update('2', 'e1'), 'r');
  assert.equal(dagRunId(update('2', 'e2'), 'r'), second);
  assert.notEqual(dagRunId(update('3', 'e3'), 'r'), second);
});
