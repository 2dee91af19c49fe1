/**
 * The operators' commands against real parts: `dag-launcher backfill` and
 * `trace` as a user runs them (the built CLI, a child process), on objects
 * in fake-gcs-server through the real @google-cloud/storage, triggering the
 * real Airflow 3. A third of the objects were triggered live first, by the
 * function under functions-framework.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {RealAirflow} from '../support/airflow-server';
import {GcsEmulator, type StoredObject} from '../support/gcs-emulator';
import {FunctionProcess} from '../support/function-process';
import {storageCloudEvent} from '../support/events';
import {REPO} from '../support/paths';
import {dagRunId} from '../../src/routing/run-id';
import {normalizeEvent} from '../../src/events/normalize';

const BUCKET = 'landing';
const OBJECTS = 2_100;
const CLI = resolve(REPO, 'dist', 'src', 'cli', 'main.js');

interface Ran {
  code: number | null;
  /** stdout's JSON lines (backfill); `whole`: stdout as one JSON document (trace). */
  lines: Record<string, unknown>[];
  whole?: Record<string, unknown>;
  stderr: string;
}

/** The CLI as a user runs it; `interruptAfter`: Ctrl-C (SIGINT) after that many object lines. */
function cli(
  args: string[],
  env: Record<string, string>,
  interruptAfter?: number,
): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {...process.env, ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (args[0] !== 'backfill') return;
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const p of parts.filter(Boolean)) {
        lines.push(JSON.parse(p) as Record<string, unknown>);
        if (lines.length === interruptAfter) child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', code => {
      if (buffered.trim())
        lines.push(JSON.parse(buffered) as Record<string, unknown>);
      const whole =
        args[0] === 'backfill' || !stdout.trim()
          ? undefined
          : (JSON.parse(stdout) as Record<string, unknown>);
      done({code, lines, whole, stderr});
    });
  });
}

const summaryOf = (r: Ran) =>
  r.lines.at(-1)!.summary as Record<string, unknown> & {
    outcomes: Record<string, number>;
  };
const objectLines = (r: Ran) =>
  r.lines.filter(l => 'object' in l) as {
    object: string;
    result: string;
    routes: {route: string; outcome: string; dagRunId: string}[];
  }[];

/** The run id the live finalize event of an object had. */
function liveRunId(o: StoredObject, route: string): string {
  return dagRunId(
    normalizeEvent(storageCloudEvent(o as unknown as Record<string, unknown>)),
    route,
  );
}

async function writeMany(
  gcs: GcsEmulator,
  names: string[],
): Promise<StoredObject[]> {
  const out: StoredObject[] = [];
  for (let i = 0; i < names.length; i += 32)
    out.push(
      ...(await Promise.all(
        names
          .slice(i, i + 32)
          .map(n => gcs.write(BUCKET, n, `id,value\n${n},1\n`, 'text/csv')),
      )),
    );
  return out;
}

describe('operators: backfill and trace against Airflow 3 and fake-gcs-server', () => {
  let airflow: RealAirflow;
  let gcs: GcsEmulator;
  let configPath: string;
  let env: Record<string, string>;
  let objects: StoredObject[];
  let live: StoredObject[];
  let config: Record<string, unknown>;

  before(async () => {
    [airflow, gcs] = await Promise.all([
      RealAirflow.start(3, {dags: ['load_file', 'audit_window']}),
      GcsEmulator.start([BUCKET, 'dead-letters']),
    ]);
    config = {
      environments: {
        local: {
          url: airflow.url,
          api: 'v2',
          auth: {mode: 'airflow-jwt', username: airflow.username},
        },
      },
      retry: {attempts: 2},
      deadLetters: 'gs://dead-letters/launcher/',
      routes: [
        {
          name: 'files',
          match: {bucket: BUCKET, name: {regex: '^(in|window|later)/'}},
          dag: 'load_file',
          conf: {uri: 'gs://{{ bucket }}/{{ name }}'},
        },
        {
          name: 'window-audit',
          match: {name: {prefix: 'window/'}},
          dag: 'audit_window',
        },
      ],
    };
    configPath = join(
      mkdtempSync(join(tmpdir(), 'dag-launcher-ops-')),
      'launcher.json',
    );
    writeFileSync(configPath, JSON.stringify(config));
    env = {
      STORAGE_EMULATOR_HOST: gcs.host,
      AIRFLOW_PASSWORD: airflow.password,
      GOOGLE_CLOUD_PROJECT: 'test-project',
    };
    const names = Array.from(
      {length: OBJECTS},
      (_, i) => `in/2026/part-${String(i).padStart(5, '0')}.csv`,
    );
    objects = await writeMany(gcs, names);
    await writeMany(gcs, ['misc/readme.txt', 'later/not-yet.csv']);
    // A third landed while the function was up: the function triggered them.
    live = objects.filter((_, i) => i % 3 === 0);
    const fn = await FunctionProcess.start(config, env);
    try {
      for (let i = 0; i < live.length; i += 16)
        await Promise.all(
          live
            .slice(i, i + 16)
            .map(o =>
              fn.sendStructured(
                storageCloudEvent(o as unknown as Record<string, unknown>),
              ),
            ),
        );
    } finally {
      await fn.stop();
    }
    assert.equal((await airflow.allRunsOf('load_file')).length, live.length);
  });

  after(async () => {
    await Promise.all([gcs?.stop(), airflow?.stop()]);
  });

  test('backfill of 2,100 objects, a third triggered live: interrupted, then resumed; the live third ends duplicate, every object has exactly its one run with the live id', async () => {
    const first = await cli(
      [
        'backfill',
        `gs://${BUCKET}/in/`,
        '--config',
        configPath,
        '--concurrency',
        '16',
      ],
      env,
      400,
    );
    assert.equal(first.code, 130, first.stderr);
    const interrupted = summaryOf(first);
    assert.equal(interrupted.interrupted, true);
    assert.ok((interrupted.objects as number) < OBJECTS);
    assert.equal(objectLines(first).length, interrupted.objects);

    const second = await cli(
      [
        'backfill',
        `gs://${BUCKET}/in/`,
        '--config',
        configPath,
        '--concurrency',
        '16',
      ],
      env,
    );
    assert.equal(second.code, 0, second.stderr);
    const resumed = summaryOf(second);
    assert.equal(resumed.objects, OBJECTS);
    assert.equal(resumed.ran, OBJECTS);
    assert.equal(resumed.interrupted, false);
    // Each object triggered exactly once over the live path and both backfills.
    const triggered =
      (interrupted.outcomes.triggered ?? 0) + (resumed.outcomes.triggered ?? 0);
    assert.equal(triggered + live.length, OBJECTS);
    assert.equal(
      resumed.outcomes.duplicate,
      live.length + (interrupted.outcomes.triggered ?? 0),
    );
    const byObject = new Map(objectLines(second).map(l => [l.object, l]));
    for (const o of live) {
      const line = byObject.get(`gs://${BUCKET}/${o.name}#${o.generation}`)!;
      assert.equal(line.routes[0]!.outcome, 'duplicate', o.name);
      assert.equal(line.routes[0]!.dagRunId, liveRunId(o, 'files'));
    }
    const runs = await airflow.allRunsOf('load_file');
    assert.equal(runs.length, OBJECTS);
    assert.deepEqual(
      new Set(runs.map(r => r.dag_run_id)),
      new Set(objects.map(o => liveRunId(o, 'files'))),
    );
    const one = runs.find(
      r => r.dag_run_id === liveRunId(objects[1]!, 'files'),
    );
    assert.deepEqual(one?.conf, {uri: `gs://${BUCKET}/${objects[1]!.name}`});
  });

  test('--since/--until pick objects by creation time; --route only that route; --dry-run sends nothing', async () => {
    const before = await writeMany(
      gcs,
      [0, 1, 2].map(i => `window/early-${i}.csv`),
    );
    await new Promise(r => setTimeout(r, 1_100));
    const cut = new Date().toISOString();
    await new Promise(r => setTimeout(r, 1_100));
    const later = await writeMany(
      gcs,
      [0, 1].map(i => `window/late-${i}.csv`),
    );
    const dry = await cli(
      [
        'backfill',
        `gs://${BUCKET}/window/`,
        '--config',
        configPath,
        '--since',
        cut,
        '--dry-run',
      ],
      env,
    );
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(
      objectLines(dry)
        .map(l => l.object)
        .sort(),
      later.map(o => `gs://${BUCKET}/${o.name}#${o.generation}`).sort(),
    );
    assert.equal(summaryOf(dry).outsideWindow, before.length);
    assert.equal(summaryOf(dry).outcomes['would-trigger'], 2 * later.length);

    const audit = await cli(
      [
        'backfill',
        `gs://${BUCKET}/window/`,
        '--config',
        configPath,
        '--until',
        cut,
        '--route',
        'window-audit',
        '--rate',
        '20/s',
      ],
      env,
    );
    assert.equal(audit.code, 0, audit.stderr);
    assert.deepEqual(summaryOf(audit).outcomes, {triggered: before.length});
    assert.deepEqual(
      (await airflow.allRunsOf('audit_window')).map(r => r.dag_run_id).sort(),
      before.map(o => liveRunId(o, 'window-audit')).sort(),
    );
    // Nothing for the other route (the dry run sent nothing either).
    const files = new Set(
      (await airflow.allRunsOf('load_file')).map(r => r.dag_run_id),
    );
    for (const o of [...before, ...later])
      assert.ok(!files.has(liveRunId(o, 'files')), o.name);
  });

  test('trace: a triggered object, an untriggered one, an unmatched one', async () => {
    const triggered = await cli(
      ['trace', '--config', configPath, `gs://${BUCKET}/${live[0]!.name}`],
      env,
    );
    assert.equal(triggered.code, 0, triggered.stderr);
    const t = triggered.whole!;
    const [files, audit] = t.routes as Record<string, unknown>[];
    assert.equal(files!.matches, true);
    assert.equal(files!.dagRunId, liveRunId(live[0]!, 'files'));
    assert.equal((files!.run as {exists: boolean}).exists, true);
    assert.equal((files!.run as {state: string}).state, 'queued');
    assert.equal(audit!.matches, false);
    assert.match(audit!.why as string, /^name: .* is not prefix window\//);

    const later = (await gcs.list(BUCKET, 'later/'))[0]!;
    const untriggered = await cli(
      [
        'trace',
        '--config',
        configPath,
        `gs://${BUCKET}/${later.name}#${later.generation}`,
      ],
      env,
    );
    assert.equal(untriggered.code, 3);
    const u = untriggered.whole as {
      routes: Record<string, unknown>[];
      answer: string;
    };
    assert.equal(u.routes[0]!.matches, true);
    assert.deepEqual(u.routes[0]!.run, {exists: false});
    assert.match(u.answer, /^files: not triggered/);

    const unmatched = await cli(
      ['trace', '--config', configPath, `gs://${BUCKET}/misc/readme.txt`],
      env,
    );
    assert.equal(unmatched.code, 3);
    const m = unmatched.whole as {
      routes: Record<string, unknown>[];
      answer: string;
    };
    assert.deepEqual(
      m.routes.map(r => [r.matches, r.why]),
      [
        [false, 'name: "misc/readme.txt" is not regex ^(in|window|later)/'],
        [false, 'name: "misc/readme.txt" is not prefix window/'],
      ],
    );
    assert.match(m.answer, /^unmatched/);
  });
});
