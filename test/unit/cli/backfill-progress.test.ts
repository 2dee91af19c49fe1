/** backfill's event, its arguments, and the progress output of backfill and replay. */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {PassThrough} from 'node:stream';
import {execFileSync} from 'node:child_process';
import {resolve} from 'node:path';
import {finalizeEventOf} from '../../../src/cli/backfill';
import {parseBackfillArgs} from '../../../src/cli/backfill-command';
import {createProgress} from '../../../src/cli/progress';
import {parseRate} from '../../../src/cli/rate';
import {normalizeEvent} from '../../../src/events/normalize';
import {dagRunId} from '../../../src/routing/run-id';
import {eventFixture, REPO} from '../../support/paths';

test("backfill's event of an object has the dag_run_id of the live Eventarc finalize (Google's sample)", () => {
  const live = eventFixture('structured/storage-object-finalized.json');
  const resource = live.data as Record<string, unknown>;
  const rebuilt = normalizeEvent(finalizeEventOf(resource));
  for (const route of ['orders', 'a-route'])
    assert.equal(
      dagRunId(rebuilt, route),
      dagRunId(normalizeEvent(live), route),
    );
  assert.equal(rebuilt.storage?.contentType, resource.contentType);
});

test('backfill arguments: times, rate, concurrency, and clear refusals', () => {
  assert.deepEqual(
    parseBackfillArgs([
      'gs://b/p/',
      '--since',
      '2026-11-20',
      '--until=2026-11-21T00:00:00Z',
      '--rate',
      '20/s',
      '--concurrency',
      '4',
      '--route',
      'r',
      '--dry-run',
    ]),
    {
      uri: 'gs://b/p/',
      since: Date.parse('2026-11-20'),
      until: Date.parse('2026-11-21T00:00:00Z'),
      ratePerSecond: 20,
      concurrency: 4,
      route: 'r',
      dryRun: true,
    },
  );
  assert.match(String(parseBackfillArgs(['b/p'])), /gs:\/\/BUCKET/);
  assert.match(
    String(parseBackfillArgs(['gs://b', '--since', 'yesterday'])),
    /--since expects a time/,
  );
  assert.match(
    String(parseBackfillArgs(['gs://b', '--rate', '0/s'])),
    /--rate expects/,
  );
  assert.match(
    String(
      parseBackfillArgs([
        'gs://b',
        '--since',
        '2026-02-01',
        '--until',
        '2026-01-01',
      ]),
    ),
    /after --since/,
  );
  assert.equal(parseRate('2.5'), 2.5);
});

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return () => text;
}

test('not a terminal: one JSON line per item, the summary last', () => {
  const out = new PassThrough();
  const text = collect(out);
  const p = createProgress({label: 'backfill', tty: false, out});
  p.total(2, true);
  p.item({object: 'gs://b/a#1', result: 'ran'}, true);
  p.item({object: 'gs://b/b#1', result: 'failed'}, false, 'gs://b/b#1: retry');
  p.finish({objects: 2});
  assert.deepEqual(
    text()
      .trim()
      .split('\n')
      .map(l => JSON.parse(l) as unknown),
    [
      {object: 'gs://b/a#1', result: 'ran'},
      {object: 'gs://b/b#1', result: 'failed'},
      {summary: {objects: 2}},
    ],
  );
});

test('a terminal: a progress bar with count, rate and ETA on stderr, failures above it, the summary on stdout', () => {
  const err = Object.assign(new PassThrough(), {
    isTTY: true,
    columns: 160,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  const out = new PassThrough();
  const bar = collect(err);
  const summary = collect(out);
  const p = createProgress({label: 'replay', tty: true, err, out});
  p.total(4, true);
  p.item({}, true);
  p.item({}, false, 'gs://b/x.json: kept (still 404)');
  p.finish({records: 4});
  assert.match(
    bar(),
    /replay .* \d+% \| 2\/4 \| [\d.]+\/s \| ETA \S+ \| ok 1 failed 1/,
  );
  assert.match(bar(), /gs:\/\/b\/x\.json: kept \(still 404\)/);
  assert.equal(summary(), '{"summary":{"records":4}}\n');
});

test('the function never loads the CLI or its progress bar at cold start', () => {
  const loaded = execFileSync(
    process.execPath,
    [
      '-e',
      `require(${JSON.stringify(resolve(REPO, 'dist/src/index.js'))});
       process.stdout.write('\\n' + JSON.stringify(Object.keys(require.cache)))`,
    ],
    {
      env: {
        ...process.env,
        LAUNCHER_CONFIG: resolve(REPO, 'deploy/launcher.example.yaml'),
      },
    },
  ).toString();
  const modules = JSON.parse(loaded.trim().split('\n').at(-1)!) as string[];
  assert.ok(modules.some(m => m.includes('/dist/src/handler.js')));
  assert.ok(
    !modules.some(
      m => m.includes('cli-progress') || m.includes('/dist/src/cli/'),
    ),
  );
});
