import {test} from 'node:test';
import assert from 'node:assert/strict';
import {normalizeEvent} from '../../../src/events/normalize';
import {routeEvent} from '../../../src/routing/route';
import {renderRun, type DagRunRequest} from '../../../src/routing/render';
import {RejectedError, TemplateError} from '../../../src/core/errors';
import {configWith} from '../../support/config';
import {
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../../support/events';

function render(
  route: Record<string, unknown>,
  delivered: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  const config = configWith([{name: 'r', ...route}], extra);
  const event = normalizeEvent(delivered);
  const [m] = routeEvent(config, event);
  // These routes trigger DAGs: a DAG run request.
  return renderRun(config, m!, event) as DagRunRequest;
}

const csv = storageCloudEvent(
  storageData('in/2026/orders.final.csv', {
    metadata: {source: 'erp', batch: '7'},
  }),
  {id: 'ev-1', time: '2026-11-21T10:00:00Z'},
);

test('storage fields: bucket, name, dirname, basename, stem, extension, generation, size, contentType, metadata, event id and time', () => {
  const run = render(
    {
      dag: 'd',
      conf: {
        path: 'gs://{{ bucket }}/{{ name }}',
        dir: '{{ dirname }}',
        base: '{{ basename }}',
        stem: '{{ stem }}',
        ext: '{{ extension }}',
        gen: '{{ generation }}',
        size: '{{ size }}',
        ct: '{{ contentType }}',
        meta: '{{ metadata }}',
        src: '{{ metadata.source | upper }}',
        id: '{{ event.id }}',
        at: '{{ event.time }}',
      },
    },
    csv,
  );
  assert.deepEqual(run.conf, {
    path: 'gs://landing/in/2026/orders.final.csv',
    dir: 'in/2026',
    base: 'orders.final.csv',
    stem: 'orders.final',
    ext: 'csv',
    gen: '1700000000000001',
    size: 1234,
    ct: 'text/csv',
    meta: {source: 'erp', batch: '7'},
    src: 'ERP',
    id: 'ev-1',
    at: '2026-11-21T10:00:00Z',
  });
});

test('Pub/Sub fields: attributes, text, parsed JSON passes through with its types', () => {
  const body = {dag: 'refresh', params: {n: 3, flags: [true, null], name: 'x'}};
  const run = render(
    {
      dag: '{{ json.dag }}',
      allowedDags: ['refresh'],
      conf: {
        params: '{{ json.params }}',
        first: '{{ json.params.flags[0] }}',
        who: '{{ attributes.requester }}',
        raw: '{{ text }}',
        topic: '{{ topicId }}',
        mid: '{{ messageId }}',
      },
    },
    pubsubCloudEvent(body, {requester: 'ana'}, {id: 'm-9'}),
  );
  assert.equal(run.dagId, 'refresh');
  assert.deepEqual(run.conf, {
    params: body.params,
    first: true,
    who: 'ana',
    raw: JSON.stringify(body),
    topic: 'commands',
    mid: 'm-9',
  });
});

test('mixed text interpolates non-strings as JSON; a whole-object conf template works', () => {
  const run = render(
    {dag: 'd', conf: '{{ json }}', note: 'n={{ json.n }} o={{ json.o }}'},
    pubsubCloudEvent({n: 1, o: {a: 'b'}}),
  );
  assert.deepEqual(run.conf, {n: 1, o: {a: 'b'}});
  assert.equal(run.note, 'n=1 o={"a":"b"}');
});

test('default filter makes a missing value optional; without it a missing value rejects the route', () => {
  assert.deepEqual(
    render(
      {
        dag: 'd',
        conf: {
          s: "{{ metadata.none | default: 'x' }}",
          o: '{{ json.nope | default: {"k": 1} }}',
        },
      },
      pubsubCloudEvent({}),
    ).conf,
    {s: 'x', o: {k: 1}},
  );
  assert.throws(
    () => render({dag: 'd', conf: {s: '{{ metadata.none }}'}}, csv),
    TemplateError,
  );
});

test('template syntax inside event values is data, never evaluated', () => {
  const run = render(
    {dag: 'd', conf: {v: '{{ attributes.t }}'}},
    pubsubCloudEvent('x', {t: '{{ event.id }}'}),
  );
  assert.equal(run.conf.v, '{{ event.id }}');
});

test('a DAG from the event must be in the allowlist', () => {
  const route = {dag: '{{ json.dag }}', allowedDags: ['ok_dag']};
  assert.equal(
    render(route, pubsubCloudEvent({dag: 'ok_dag'})).dagId,
    'ok_dag',
  );
  assert.throws(
    () => render(route, pubsubCloudEvent({dag: 'drop_tables'})),
    (e: unknown) =>
      e instanceof RejectedError &&
      /not in the route's allowedDags/.test(e.message),
  );
  assert.throws(
    () => render(route, pubsubCloudEvent({dag: '../x'})),
    /not a valid Airflow dag_id/,
  );
  assert.throws(
    () => render(route, pubsubCloudEvent({dag: {a: 1}})),
    /not a valid Airflow dag_id/,
  );
});

test('conf over maxConfBytes is rejected, and a conf that is not an object too', () => {
  assert.throws(
    () =>
      render(
        {dag: 'd', conf: {t: '{{ text }}'}},
        pubsubCloudEvent('x'.repeat(2000)),
        {maxConfBytes: 1024},
      ),
    /over maxConfBytes 1024/,
  );
  assert.throws(
    () => render({dag: 'd', conf: '{{ json }}'}, pubsubCloudEvent([1, 2])),
    /Airflow needs an object/,
  );
});

test('default conf: the fields a DAG needs to find its input', () => {
  assert.deepEqual(render({dag: 'd'}, csv).conf, {
    bucket: 'landing',
    name: 'in/2026/orders.final.csv',
    uri: 'gs://landing/in/2026/orders.final.csv',
    generation: '1700000000000001',
    size: 1234,
    content_type: 'text/csv',
    metadata: {source: 'erp', batch: '7'},
    event_id: 'ev-1',
    event_type: 'google.cloud.storage.object.v1.finalized',
    event_time: '2026-11-21T10:00:00Z',
  });
  const p = render(
    {dag: 'd'},
    pubsubCloudEvent(
      {a: 1},
      {k: 'v'},
      {id: 'm1', time: '2026-11-21T10:00:01Z'},
    ),
  );
  assert.deepEqual(p.conf, {
    topic: 'projects/acme/topics/commands',
    message_id: 'm1',
    attributes: {k: 'v'},
    data: {a: 1},
    event_id: 'm1',
    event_type: 'google.cloud.pubsub.topic.v1.messagePublished',
    event_time: '2026-11-21T10:00:01Z',
  });
});
