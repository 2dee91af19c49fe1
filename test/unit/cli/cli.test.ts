/** The CLI as users run it: `dag-launcher validate` and `dag-launcher explain`. */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {REPO, fixture} from '../../support/paths';
import {
  legacyStorage,
  storageCloudEvent,
  storageData,
} from '../../support/events';

const CLI = resolve(REPO, 'dist/src/cli/main.js');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], {encoding: 'utf8'});

test('validate passes the shipped example', () => {
  const r = run('validate', resolve(REPO, 'deploy/launcher.example.yaml'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /valid \(2 environment\(s\), 4 route\(s\)\)/);
});

test('validate fails listing every problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dl-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    'environments: {a: {url: "http://127.0.0.1:1", api: v9}}\nroutes:\n  - {name: r, dag: "x y", environment: b}\n',
  );
  const r = run('validate', bad);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /environments\.a\.api/);
  assert.match(r.stderr, /routes\.0\.dag: 'x y' is not a valid Airflow dag_id/);
  assert.match(r.stderr, /routes\.0\.environment: unknown environment 'b'/);
});

test('explain: a structured-mode Storage event gives the expected trigger', () => {
  const r = run(
    'explain',
    '--config',
    fixture('samples.yaml'),
    fixture('events/structured/storage-object-finalized.json'),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    triggers: [
      {
        route: 'sample-file',
        environment: 'local',
        dagId: 'process_file',
        dagRunId:
          'gcs__sample-file__orders.csv__ba5111424b2fc7fbb612185eecec9d86',
        conf: {
          uri: 'gs://acme-landing/incoming/orders/2026-11-20/orders.csv',
          file: 'orders',
          date: '2026-11-20',
          generation: '1763632800123456',
          size: 2048,
          event_time: '2026-11-20T10:00:00.123Z',
        },
      },
    ],
    rejected: [],
  });
});

test('explain: a structured-mode Pub/Sub event gives the expected trigger', () => {
  const r = run(
    'explain',
    '--config',
    fixture('samples.yaml'),
    fixture('events/structured/pubsub-message-published.json'),
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.triggers, [
    {
      route: 'sample-message',
      environment: 'local',
      dagId: 'handle_message',
      dagRunId:
        'pubsub__sample-message__11500000000004__2f2b15e381fb6b82927f1e0f03d2c535',
      conf: {
        text: 'refresh the marts',
        attributes: {kind: 'note'},
        ordering_key: 'marts',
      },
    },
  ]);
});

test('explain: a gen1 {data, context} body explains like its gen2 twin, and rejections are listed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dl-'));
  const ce = storageCloudEvent(
    storageData('incoming/orders/2026-11-21/returns.csv', {
      bucket: 'acme-landing',
    }),
  );
  writeFileSync(join(dir, 'gen2.json'), JSON.stringify(ce));
  writeFileSync(join(dir, 'gen1.json'), JSON.stringify(legacyStorage(ce)));
  writeFileSync(
    join(dir, 'other.json'),
    JSON.stringify({
      specversion: '1.0',
      id: '1',
      type: 'google.cloud.audit.log.v1.written',
      source: 'x',
    }),
  );
  const gen2 = JSON.parse(
    run('explain', '--config', fixture('samples.yaml'), join(dir, 'gen2.json'))
      .stdout,
  );
  const gen1 = JSON.parse(
    run('explain', '--config', fixture('samples.yaml'), join(dir, 'gen1.json'))
      .stdout,
  );
  assert.equal(gen2.triggers.length, 1);
  assert.deepEqual(gen1, gen2);
  const other = JSON.parse(
    run('explain', '--config', fixture('samples.yaml'), join(dir, 'other.json'))
      .stdout,
  );
  assert.deepEqual(other.triggers, []);
  assert.match(
    other.rejected[0].reason,
    /unsupported event type 'google.cloud.audit.log.v1.written'/,
  );
});

test("explain prints the note it would send, capped at Airflow's 1,000 characters", () => {
  const dir = mkdtempSync(join(tmpdir(), 'dl-'));
  writeFileSync(
    join(dir, 'notes.yaml'),
    'environments: {local: {url: "http://127.0.0.1:8080", api: v2}}\nroutes:\n  - {name: n, dag: load, note: "loaded from {{ name }}"}\n',
  );
  const short = storageCloudEvent(storageData('in/a.csv'));
  const long = storageCloudEvent(storageData(`in/${'n'.repeat(1021)}`));
  writeFileSync(join(dir, 'short.json'), JSON.stringify(short));
  writeFileSync(join(dir, 'long.json'), JSON.stringify(long));
  const explain = (f: string) => {
    const r = run('explain', '--config', join(dir, 'notes.yaml'), join(dir, f));
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).triggers[0].note as string;
  };
  assert.equal(explain('short.json'), 'loaded from in/a.csv');
  const note = explain('long.json');
  assert.equal([...note].length, 1000);
  assert.equal(note, `loaded from in/${'n'.repeat(984)}\u2026`);
});

test('validate lists every problem in one run, a route with a shape error included, each with its fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dl-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    [
      'environments: {}',
      'requestTimeout: 0ms',
      'maxEventAge: 0s',
      'retry: {initialBackoff: 2s, maxBackoff: 1s}',
      'routes:',
      '  - name: commands',
      '    match: {type: pubsub, bucket: b, topic: [orders, projects/p/topics/returns]}',
      '    dag: ".."',
      '    conf: {file: "{{ name }}"}',
      '    notes: typo',
      '',
    ].join('\n'),
  );
  const r = run('validate', bad);
  assert.equal(r.status, 1);
  const lines = r.stderr.split('\n').filter(l => l.startsWith('  - '));
  for (const re of [
    /routes\.0: unknown key 'notes'; remove it or correct the spelling/,
    /environments: at least one Airflow environment is required; add one/,
    /requestTimeout: "0ms" is no time at all/,
    /maxEventAge: "0s" is no time at all/,
    /retry\.maxBackoff: 1000ms is below retry\.initialBackoff 2000ms/,
    /routes\.0\.match\.bucket: a Cloud Storage field/,
    /routes\.0\.match\.topic: mixes topic ids \(orders\)/,
    /routes\.0\.dag: '\.\.' cannot be a dag_id/,
    /routes\.0\.conf\.file: \{\{ name \}\} reads 'name', a Cloud Storage variable/,
  ])
    assert.ok(
      lines.some(l => re.test(l)),
      `missing ${re} in\n${r.stderr}`,
    );
  assert.match(r.stderr, new RegExp(`\\n${lines.length} problems\\n$`));
});

test('explain: a Storage notification, its redelivery under another message id and the Eventarc event of the generation print one dagRunId', () => {
  const ids = [
    'events/delivery/notification-push.json',
    'events/delivery/notification-push-redelivered.json',
    'events/structured/storage-object-finalized.json',
  ].map(f => {
    const r = run('explain', '--config', fixture('samples.yaml'), fixture(f));
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {triggers: {dagRunId: string}[]};
    assert.equal(out.triggers.length, 1, r.stdout);
    return out.triggers[0]!.dagRunId;
  });
  assert.deepEqual(ids, Array(3).fill(ids[0]));
});

test('explain: a raw push body, the topic from --path as the function reads it from the request path', () => {
  const push = fixture('events/delivery/pubsub-push.json');
  const without = run('explain', '--config', fixture('samples.yaml'), push);
  assert.equal(without.status, 0, without.stderr);
  assert.match(without.stdout, /topic is unknown/);
  const r = run(
    'explain',
    '--config',
    fixture('samples.yaml'),
    '--path',
    '/projects/acme-data/topics/airflow-commands',
    push,
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {triggers: {route: string}[]};
  assert.deepEqual(
    out.triggers.map(t => t.route),
    ['sample-message'],
  );
});
