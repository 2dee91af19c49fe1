/**
 * `npm run bench`: the launcher against the floor, side by side in one run.
 *
 * The floor (test/bench/floor.ts) is functions-framework serving a handler
 * that does nothing but one POST with a static token over keep-alive, with
 * node:http (the launcher's client; the targets are against it). A second
 * floor does its POST with fetch, as the samples users start from do; its
 * cold start and throughput are reported for reference. The launcher runs
 * with a realistic JSON config of 20 routes, auth `google` through the
 * metadata-server stand-in, in the environment Cloud Run gives a function
 * (K_SERVICE, no GOOGLE_CLOUD_PROJECT). All are the real functions-framework
 * in a child process, fed Eventarc binary-mode CloudEvents over keep-alive;
 * "Airflow" is a zero-latency stand-in that answers every dagRuns POST 200.
 *
 *   1. cold start: spawn -> first DAG-run POST received (median of BENCH_COLD_RUNS, alternating)
 *   2. throughput: events/s, p50/p99 at concurrency 64 (BENCH_EVENTS after a warm-up, in
 *      BENCH_THROUGHPUT_ROUNDS alternating rounds; the ratio is the median of the rounds')
 *   3. token reuse: metadata-server token requests per 10,000 events; a short-lived token
 *   4. memory: RSS after 1,000 vs 20,000 events; peak RSS (VmHWM) at concurrency 256
 *   5. footprint: production dependency size and files; each dependency's require time
 *   6. matching: the worst match time on hostile 1,024-byte names (worst-case-matching.ts)
 *
 * Prints a table, then the JSON line with every figure (last line). Exit 1 if
 * a target is missed or an event was lost. Absolute times on shared machines
 * are noisy: the targets are ratios and counts.
 *
 * Over 300 lines: every figure is measured side by side against the same floor in one run, so the bench is one program with one report.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {createServer, Agent, request, type Server} from 'node:http';
import {connect} from 'node:net';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {MetadataServerStandIn} from '../support/metadata-server';
import {freePort} from '../support/function-process';
import {listenLoopback, closeServer} from '../support/http';
import {REPO} from '../support/paths';
import {STORAGE_FINALIZED} from '../../src/events/event';
import * as matching from './worst-case-matching';
import {boundedWork, printBoundedWork} from './hostile-budget';

const num = (name: string, def: number) =>
  process.env[name] ? Number(process.env[name]) : def;
const COLD_RUNS = num('BENCH_COLD_RUNS', 15);
const EVENTS = num('BENCH_EVENTS', 10_000);
const ROUNDS = num('BENCH_THROUGHPUT_ROUNDS', 5);
const CONCURRENCY = 64;
const PEAK_CONCURRENCY = 256;
const SHORT_TOKEN_SEC = num('BENCH_SHORT_TOKEN_SEC', 8);
const SHORT_TOKEN_RUN_SEC = num('BENCH_SHORT_TOKEN_RUN_SEC', 20);
/**
 * Both processes run with the heap of a small instance. On Cloud Run, Node
 * sizes V8's heap from the instance's memory limit (cgroups); this machine
 * has 24 GiB, where V8 would grow the heap lazily and RSS would say nothing
 * about a 128 MiB instance. These flags give the heap a small instance gets.
 */
const INSTANCE_NODE_OPTIONS =
  process.env.BENCH_NODE_OPTIONS ??
  '--max-old-space-size=96 --max-semi-space-size=4';
/** What Cloud Run sets for a function (and so what the launcher sees there): no GOOGLE_CLOUD_PROJECT. */
const CLOUD_RUN_ENV = {
  K_SERVICE: 'dag-launcher-bench',
  K_REVISION: 'dag-launcher-bench-00001-abc',
  K_CONFIGURATION: 'dag-launcher-bench',
  FUNCTION_TARGET: 'launchDag',
  FUNCTION_SIGNATURE_TYPE: 'cloudevent',
};
const TARGETS = {
  coldStartRatio: 1.25,
  throughputRatio: 0.85,
  memoryGrowth: 0.1,
  peakRssMiB: 128,
};

/** Another checkout's built launcher (e.g. an older commit, for before/after figures); default this one. */
const LAUNCHER_ROOT = resolve(process.env.BENCH_LAUNCHER_ROOT ?? REPO);
const ffMain = (root: string) =>
  resolve(
    root,
    'node_modules/@google-cloud/functions-framework/build/src/main.js',
  );
const LAUNCHER_SOURCE = resolve(LAUNCHER_ROOT, 'dist/src/index.js');
const FLOOR_SOURCE = resolve(REPO, 'dist/test/bench/floor.js');
const MODULES_PRELOAD = resolve(REPO, 'dist/test/bench/loaded-modules.js');

type Kind = 'launcher' | 'floor' | 'floor-fetch';

/** A zero-latency Airflow: 200 for every dagRuns POST, not paused, version 3. */
class FastAirflow {
  url = '';
  posts = 0;
  private server?: Server;
  private waiter?: (at: number) => void;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'POST' && req.url?.endsWith('/dagRuns')) {
          this.posts++;
          if (this.waiter) {
            this.waiter(performance.now());
            this.waiter = undefined;
          }
          res.writeHead(200, {'Content-Type': 'application/json'});
          res.end('{"state":"queued"}');
        } else if (req.url?.includes('/version')) {
          res.writeHead(200, {'Content-Type': 'application/json'});
          res.end('{"version":"3.3.2"}');
        } else {
          res.writeHead(200, {'Content-Type': 'application/json'});
          res.end('{"is_paused":false}');
        }
      });
    });
    this.server.keepAliveTimeout = 60_000;
    this.url = await listenLoopback(this.server);
    return this;
  }

  nextPost(): Promise<number> {
    return new Promise(r => (this.waiter = r));
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}

/** ~20 routes as a data team writes them: prefixes, globs, regexes, metadata, Pub/Sub commands. */
function launcherConfig(airflowUrl: string): unknown {
  const routes: unknown[] = [];
  const tables = [
    'orders',
    'customers',
    'payments',
    'refunds',
    'inventory',
    'shipments',
    'returns',
    'invoices',
  ];
  tables.forEach((t, i) => {
    routes.push({
      name: `${t}-csv`,
      match: {
        type: 'storage',
        bucket: 'landing',
        name: {glob: `incoming/${t}/**/*.csv`},
      },
      dag: `load_${t}`,
      conf: {uri: 'gs://{{ bucket }}/{{ name }}', size: '{{ size }}', table: t},
    });
    if (i < 6)
      routes.push({
        name: `${t}-partition`,
        match: {
          type: 'storage',
          bucket: 'lake',
          name: {
            regex: `^exports/${t}/dt=(?<date>\\d{4}-\\d{2}-\\d{2})/_SUCCESS$`,
          },
        },
        dag: `publish_${t}`,
        conf: {
          date: '{{ captures.date }}',
          prefix: 'gs://{{ bucket }}/{{ dirname }}/',
        },
      });
  });
  routes.push({
    name: 'audit',
    match: {type: 'storage', metadata: {audit: 'true'}},
    dag: 'audit_file',
  });
  routes.push({
    name: 'parquet',
    match: {
      type: 'storage',
      name: {suffix: '.parquet'},
      contentType: [
        'application/octet-stream',
        'application/vnd.apache.parquet',
      ],
    },
    dag: 'load_parquet',
  });
  routes.push({
    name: 'commands',
    match: {
      type: 'pubsub',
      topic: 'airflow-commands',
      json: {dag: {exists: true}},
    },
    dag: '{{ json.dag }}',
    allowedDags: ['refresh_marts', 'rebuild_index'],
    conf: {params: '{{ json.params | default: {} }}'},
  });
  routes.push({
    name: 'drop-zone',
    match: {type: 'storage', bucket: 'partner-drop', name: {prefix: 'in/'}},
    dag: 'ingest_partner',
    note: 'from {{ name }}',
  });
  return {
    environments: {composer: {url: airflowUrl, api: 'v2', auth: 'google'}},
    requestTimeout: '10s',
    functionTimeout: '60s',
    routes,
  };
}

interface Fn {
  child: ChildProcess;
  port: number;
  stderr: string[];
}

function spawnFn(
  kind: Kind,
  port: number,
  env: Record<string, string>,
  preload = false,
): Fn {
  const home = mkdtempSync(join(tmpdir(), 'dag-launcher-bench-'));
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ...(preload ? ['--expose-gc', '--require', MODULES_PRELOAD] : []),
      ffMain(kind === 'launcher' ? LAUNCHER_ROOT : REPO),
      '--target=launchDag',
      '--signature-type=cloudevent',
      `--source=${kind === 'launcher' ? LAUNCHER_SOURCE : FLOOR_SOURCE}`,
      `--port=${port}`,
    ],
    // PATH holds only node's own directory: a Cloud Run instance has no gcloud, and google-auth-library
    // asks gcloud for the project when it finds one (a second and more on this machine).
    {
      cwd: REPO,
      env: {
        PATH: dirname(process.execPath),
        HOME: home,
        CLOUDSDK_CONFIG: join(home, 'gcloud'),
        NODE_ENV: 'production',
        NODE_OPTIONS: INSTANCE_NODE_OPTIONS,
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const stderr: string[] = [];
  child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
  return {child, port, stderr};
}

async function stopFn(fn: Fn): Promise<void> {
  if (fn.child.exitCode !== null || fn.child.signalCode !== null) return;
  const exited = new Promise(r => fn.child.once('exit', r));
  fn.child.kill('SIGTERM');
  const timer = setTimeout(() => fn.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitListening(fn: Fn, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>(r => {
      const s = connect(fn.port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (fn.child.exitCode !== null)
      throw new Error(`function exited: ${fn.stderr.join('')}`);
    if (performance.now() > deadline)
      throw new Error(`function did not listen: ${fn.stderr.join('')}`);
    await new Promise(r => setTimeout(r, 2));
  }
}

let seq = 0;
/** One Eventarc binary-mode Storage event; most land on route 1 of 20, some on later routes. */
function storageEvent(): {headers: Record<string, string>; body: string} {
  const n = seq++;
  const table = ['orders', 'payments', 'shipments', 'invoices'][n % 4];
  const name = `incoming/${table}/2026/11/21/part-${n}.csv`;
  const data = {
    bucket: 'landing',
    name,
    generation: String(1700000000000000 + n),
    metageneration: '1',
    size: '2048',
    contentType: 'text/csv',
    timeCreated: '2026-11-21T10:00:00.000Z',
    updated: '2026-11-21T10:00:00.000Z',
  };
  return {
    headers: {
      'ce-specversion': '1.0',
      'ce-id': `bench-${process.pid}-${n}`,
      'ce-type': STORAGE_FINALIZED,
      'ce-source': '//storage.googleapis.com/projects/_/buckets/landing',
      'ce-subject': `objects/${name}`,
      'ce-time': new Date().toISOString(),
      'content-type': 'application/json',
    },
    body: JSON.stringify(data),
  };
}

function deliver(
  agent: Agent,
  port: number,
): Promise<{status: number; ms: number}> {
  const {headers, body} = storageEvent();
  const started = performance.now();
  return new Promise((resolveDelivery, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent,
        headers: {...headers, 'content-length': Buffer.byteLength(body)},
      },
      res => {
        res.resume();
        res.on('end', () =>
          resolveDelivery({
            status: res.statusCode ?? 0,
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface LoadResult {
  events: number;
  seconds: number;
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}

interface LoadRun {
  events: number;
  seconds: number;
  latencies: number[];
  failed: number;
}

async function load(
  fn: Fn,
  events: number,
  concurrency: number,
): Promise<LoadResult> {
  return summarize([await loadRun(fn, events, concurrency)]);
}

/** Several runs of one instance as one result: events over seconds, percentiles over every latency. */
function summarize(runs: LoadRun[]): LoadResult {
  const events = runs.reduce((n, r) => n + r.events, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const latencies = runs.flatMap(r => r.latencies).sort((a, b) => a - b);
  const q = (p: number) =>
    round(
      latencies[
        Math.min(latencies.length - 1, Math.floor(p * latencies.length))
      ]!,
      2,
    );
  return {
    events,
    seconds: round(seconds, 2),
    eventsPerSec: round(events / seconds, 0),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    failed: runs.reduce((n, r) => n + r.failed, 0),
  };
}

async function loadRun(
  fn: Fn,
  events: number,
  concurrency: number,
): Promise<LoadRun> {
  const agent = new Agent({keepAlive: true, maxSockets: concurrency});
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({length: concurrency}, async () => {
      while (next < events) {
        next++;
        const r = await deliver(agent, fn.port);
        latencies.push(r.ms);
        if (r.status < 200 || r.status >= 300) failed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return {events, seconds, latencies, failed};
}

function memory(pid: number): {rssMiB: number; hwmMiB: number} {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return {
    rssMiB: round(kb('VmRSS') / 1024, 1),
    hwmMiB: round(kb('VmHWM') / 1024, 1),
  };
}

/** Full GC in the child (SIGUSR2, see loaded-modules.ts), then its RSS and heap in MiB. */
async function afterGc(fn: Fn): Promise<{rssMiB: number; heapMiB: number}> {
  const file = join(tmpdir(), `dag-launcher-memory-${fn.child.pid}.json`);
  const sent = Date.now();
  fn.child.kill('SIGUSR2');
  for (let i = 0; i < 500; i++) {
    await sleep(10);
    try {
      const m = JSON.parse(readFileSync(file, 'utf8')) as {
        rss: number;
        heapUsed: number;
        at: number;
      };
      if (m.at >= sent)
        return {
          rssMiB: round(m.rss / 2 ** 20, 1),
          heapMiB: round(m.heapUsed / 2 ** 20, 1),
        };
    } catch {
      // not written yet
    }
  }
  throw new Error('no memory reading from the function');
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? s[(s.length - 1) / 2]!
    : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const airflow = await new FastAirflow().start();
  const md = await new MetadataServerStandIn().start();
  const configPath = join(
    mkdtempSync(join(tmpdir(), 'dag-launcher-bench-cfg-')),
    'launcher.json',
  );
  writeFileSync(configPath, JSON.stringify(launcherConfig(airflow.url)));
  const envFor = (kind: Kind, metadata = md): Record<string, string> =>
    kind === 'launcher'
      ? {
          ...CLOUD_RUN_ENV,
          LAUNCHER_CONFIG: configPath,
          GCE_METADATA_HOST: metadata.host,
        }
      : {
          ...CLOUD_RUN_ENV,
          FLOOR_URL: `${airflow.url}/api/v2/dags/load_orders/dagRuns`,
          FLOOR_TOKEN: 'ya29.static-floor-token',
          FLOOR_CLIENT: kind === 'floor' ? 'http' : 'fetch',
        };
  const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);
  const start = async (kind: Kind, env = envFor(kind), preload = false) => {
    const fn = spawnFn(kind, await freePort(), env, preload);
    await waitListening(fn);
    return fn;
  };

  try {
    // 1. Cold start.
    progress(`cold start, ${COLD_RUNS} runs each, alternating`);
    const cold: Record<Kind, {firstPostMs: number[]; listenMs: number[]}> = {
      launcher: {firstPostMs: [], listenMs: []},
      floor: {firstPostMs: [], listenMs: []},
      'floor-fetch': {firstPostMs: [], listenMs: []},
    };
    const orders: Kind[][] = [
      ['launcher', 'floor', 'floor-fetch'],
      ['floor', 'floor-fetch', 'launcher'],
      ['floor-fetch', 'launcher', 'floor'],
    ];
    for (let i = 0; i < COLD_RUNS; i++) {
      for (const kind of orders[i % orders.length]!) {
        const port = await freePort();
        const posted = airflow.nextPost();
        const t0 = performance.now();
        const fn = spawnFn(kind, port, envFor(kind));
        await waitListening(fn);
        const listening = performance.now();
        const agent = new Agent({keepAlive: false});
        const delivery = deliver(agent, port);
        const at = await posted;
        const r = await delivery;
        if (r.status !== 204 && r.status !== 200)
          throw new Error(
            `${kind} cold delivery answered ${r.status}: ${fn.stderr.join('')}`,
          );
        cold[kind].firstPostMs.push(at - t0);
        cold[kind].listenMs.push(listening - t0);
        await stopFn(fn);
      }
    }
    const coldMedian = (k: Kind) => round(median(cold[k].firstPostMs), 1);
    const coldStart = {
      runs: COLD_RUNS,
      launcherMs: coldMedian('launcher'),
      floorMs: coldMedian('floor'),
      ratio: round(coldMedian('launcher') / coldMedian('floor'), 3),
      fetchFloorMs: coldMedian('floor-fetch'),
      ratioToFetchFloor: round(
        coldMedian('launcher') / coldMedian('floor-fetch'),
        3,
      ),
      launcherListenMs: round(median(cold.launcher.listenMs), 1),
      floorListenMs: round(median(cold.floor.listenMs), 1),
    };

    // What the first event loaded (module list from a preload hook, one extra untimed run).
    const probe = await start('launcher', envFor('launcher'), true);
    const posted = airflow.nextPost();
    await deliver(new Agent({keepAlive: false}), probe.port);
    await posted;
    const loadedFile = join(
      tmpdir(),
      `dag-launcher-modules-${probe.child.pid}.json`,
    );
    await stopFn(probe);
    const loaded = JSON.parse(readFileSync(loadedFile, 'utf8')) as string[];
    const lazy = ['@google-cloud/storage', 'yaml'].map(p => ({
      package: p,
      loadedByFirstEvent: loaded.includes(p),
    }));
    const cliLoaded = loaded.includes('dag-launcher/cli');

    // 2. + 3. Throughput and token reuse at concurrency 64.
    // The three instances stay up and take turns, round by round in rotating order, so a change in
    // the machine's load during the run hits all of them; the ratio is the median of the rounds' ratios.
    const kinds: Kind[] = ['floor', 'floor-fetch', 'launcher'];
    const perRound = Math.ceil(EVENTS / ROUNDS);
    progress(
      `throughput: ${perRound * ROUNDS} events each at concurrency ${CONCURRENCY}, ${ROUNDS} alternating rounds`,
    );
    const tokensAtStart = md.tokenRequests;
    const fns = {} as Record<Kind, Fn>;
    for (const kind of kinds) {
      fns[kind] = await start(kind);
      await load(fns[kind], 1000, CONCURRENCY); // warm-up
    }
    const runs: Record<Kind, LoadRun[]> = {
      floor: [],
      'floor-fetch': [],
      launcher: [],
    };
    for (let r = 0; r < ROUNDS; r++) {
      for (const kind of kinds.map((_, i) => kinds[(i + r) % kinds.length]!)) {
        const postsBefore = airflow.posts;
        runs[kind].push(await loadRun(fns[kind], perRound, CONCURRENCY));
        if (airflow.posts - postsBefore !== perRound)
          throw new Error(
            `${kind}: ${perRound} events but ${airflow.posts - postsBefore} POSTs`,
          );
      }
    }
    for (const kind of kinds) await stopFn(fns[kind]);
    const throughput = Object.fromEntries(
      kinds.map(k => [k, summarize(runs[k])]),
    ) as Record<Kind, LoadResult>;
    const roundRatios = (floor: Kind) =>
      runs.launcher.map(
        (l, i) =>
          l.events /
          l.seconds /
          (runs[floor][i]!.events / runs[floor][i]!.seconds),
      );
    // Every token the launcher instance asked for, over its whole life (warm-up included): one lifetime is 3599 s.
    const tokenRequests = md.tokenRequests - tokensAtStart;
    const tokenRequestsPer10k = round(
      (tokenRequests * 10_000) / (perRound * ROUNDS + 1000),
      2,
    );

    progress(
      `token reuse with a ${SHORT_TOKEN_SEC}s token for ${SHORT_TOKEN_RUN_SEC}s`,
    );
    const shortMd = await new MetadataServerStandIn({
      tokenLifetimeSec: SHORT_TOKEN_SEC,
    }).start();
    const shortFn = await start('launcher', envFor('launcher', shortMd));
    const shortAgent = new Agent({keepAlive: true, maxSockets: CONCURRENCY});
    const until = performance.now() + SHORT_TOKEN_RUN_SEC * 1000;
    let shortEvents = 0;
    let shortFailed = 0;
    await Promise.all(
      Array.from({length: CONCURRENCY}, async () => {
        while (performance.now() < until) {
          const r = await deliver(shortAgent, shortFn.port);
          shortEvents++;
          if (r.status < 200 || r.status >= 300) shortFailed++;
        }
      }),
    );
    shortAgent.destroy();
    await stopFn(shortFn);
    const times = shortMd.tokenRequestTimes;
    const maxInOneSecond = Math.max(
      ...times.map(t => times.filter(u => u >= t && u < t + 1000).length),
    );
    const shortToken = {
      lifetimeSec: SHORT_TOKEN_SEC,
      runSec: SHORT_TOKEN_RUN_SEC,
      events: shortEvents,
      failed: shortFailed,
      tokenRequests: shortMd.tokenRequests,
      expectedAtMost:
        Math.ceil(SHORT_TOKEN_RUN_SEC / (SHORT_TOKEN_SEC * 0.75)) + 1,
      maxRequestsInAnySecond: maxInOneSecond,
      gapsSec: times.slice(1).map((t, i) => round((t - times[i]!) / 1000, 2)),
    };
    await shortMd.stop();

    // 4. Memory.
    progress(
      'memory: RSS after 1,000 and 20,000 events; peak at concurrency 256',
    );
    const mem: Record<
      'launcher' | 'floor',
      {
        rssAfter1kMiB: number;
        rssAfter20kMiB: number;
        growth: number;
        heapAfter1kMiB: number;
        heapAfter20kMiB: number;
        peakRssMiB: number;
      }
    > = {} as never;
    for (const kind of ['floor', 'launcher'] as const) {
      // Both readings are taken right after a full GC, so they compare what is retained, not GC timing.
      const fn = await start(kind, envFor(kind), true);
      await load(fn, 1000, CONCURRENCY);
      const at1k = await afterGc(fn);
      await load(fn, 19_000, CONCURRENCY);
      const at20k = await afterGc(fn);
      // Optionally keep going, to tell a leak (keeps growing) from warm-up (levels off).
      const extra = num('BENCH_MEMORY_EXTRA_EVENTS', 0);
      if (extra) {
        await load(fn, extra, CONCURRENCY);
        const later = await afterGc(fn);
        progress(
          `${kind}: after ${20_000 + extra} events RSS ${later.rssMiB} MiB, heap ${later.heapMiB} MiB (20k: ${at20k.rssMiB} / ${at20k.heapMiB})`,
        );
      }
      await stopFn(fn);
      const peakFn = await start(kind);
      const peakRun = await load(peakFn, 5000, PEAK_CONCURRENCY);
      if (peakRun.failed)
        throw new Error(
          `${kind}: ${peakRun.failed} failed deliveries at concurrency ${PEAK_CONCURRENCY}`,
        );
      const peak = memory(peakFn.child.pid!).hwmMiB;
      await stopFn(peakFn);
      mem[kind] = {
        rssAfter1kMiB: at1k.rssMiB,
        rssAfter20kMiB: at20k.rssMiB,
        growth: round(at20k.rssMiB / at1k.rssMiB - 1, 3),
        heapAfter1kMiB: at1k.heapMiB,
        heapAfter20kMiB: at20k.heapMiB,
        peakRssMiB: peak,
      };
    }

    // 4b. Bounded work (issue 12): hostile deliveries' CPU, a burst of maximum-size messages.
    progress('bounded work: hostile deliveries, a burst of 10 MB messages');
    const bounded = await boundedWork(
      () => start('launcher'),
      () => start('floor'),
      stopFn,
    );

    // 5. Footprint.
    progress('footprint');
    const footprint = productionFootprint();
    const requireMs = dependencyRequireTimes();
    const dependencies = requireMs.map(d => ({
      ...d,
      shareOfLauncherColdStart: round(d.ms / coldStart.launcherMs, 3),
    }));

    progress('worst-case matching');
    const worstMatch = matching.worstCaseMatching([
      matching.exampleConfig(),
      launcherConfig(airflow.url),
    ]);

    const result = {
      coldStart,
      lazyLoading: {modules: lazy, cliLoaded},
      throughput: {
        concurrency: CONCURRENCY,
        launcher: throughput.launcher,
        floor: throughput.floor,
        rounds: ROUNDS,
        ratio: round(median(roundRatios('floor')), 3),
        roundRatios: roundRatios('floor').map(x => round(x, 3)),
        fetchFloor: throughput['floor-fetch'],
        ratioToFetchFloor: round(median(roundRatios('floor-fetch')), 3),
      },
      tokens: {
        requests: tokenRequests,
        events: perRound * ROUNDS + 1000,
        requestsPer10kEvents: tokenRequestsPer10k,
        shortLived: shortToken,
      },
      memory: mem,
      boundedWork: bounded,
      footprint: {...footprint, dependencies},
      matching: worstMatch,
      targets: TARGETS,
      met: {
        coldStart: coldStart.ratio <= TARGETS.coldStartRatio,
        throughput: median(roundRatios('floor')) >= TARGETS.throughputRatio,
        tokenReuse:
          tokenRequests === 1 &&
          shortToken.maxRequestsInAnySecond <= 1 &&
          shortToken.tokenRequests <= shortToken.expectedAtMost &&
          shortToken.failed === 0,
        memoryGrowth: mem.launcher.growth <= TARGETS.memoryGrowth,
        peakRss: mem.launcher.peakRssMiB <= TARGETS.peakRssMiB,
        nothingLost: Object.values(throughput).every(t => t.failed === 0),
        matchingWorstCase: worstMatch.met,
        burstHolds: bounded.met,
      },
    };
    printTable(result);
    matching.printWorstCaseMatching(worstMatch);
    printBoundedWork(bounded);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!Object.values(result.met).every(Boolean)) process.exitCode = 1;
  } finally {
    await md.stop();
    await airflow.stop();
  }
}

/** Production packages (not dev-only in the lock file) as installed: bytes and files. */
function productionFootprint(): {
  packages: number;
  bytes: number;
  MiB: number;
  files: number;
  largest: {package: string; MiB: number; files: number}[];
} {
  const lock = JSON.parse(
    readFileSync(join(LAUNCHER_ROOT, 'package-lock.json'), 'utf8'),
  ) as {packages: Record<string, {dev?: boolean; devOptional?: boolean}>};
  const sizes: {package: string; bytes: number; files: number}[] = [];
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (!path || meta.dev || meta.devOptional) continue;
    const dir = join(LAUNCHER_ROOT, path);
    let bytes = 0;
    let files = 0;
    const walk = (d: string) => {
      let entries;
      try {
        entries = readdirSync(d, {withFileTypes: true});
      } catch {
        return;
      }
      for (const e of entries) {
        if (e.name === 'node_modules') continue; // nested packages are entries of their own
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) {
          bytes += statSync(p).size;
          files++;
        }
      }
    };
    walk(dir);
    sizes.push({package: path.replace(/^.*node_modules\//, ''), bytes, files});
  }
  const bytes = sizes.reduce((n, s) => n + s.bytes, 0);
  const files = sizes.reduce((n, s) => n + s.files, 0);
  const largest = sizes
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8)
    .map(s => ({
      package: s.package,
      MiB: round(s.bytes / 2 ** 20, 2),
      files: s.files,
    }));
  return {
    packages: sizes.length,
    bytes,
    MiB: round(bytes / 2 ** 20, 1),
    files,
    largest,
  };
}

/** Each direct production dependency's require time in a fresh process (median of 5), plus the launcher's own module. */
function dependencyRequireTimes(): {module: string; ms: number}[] {
  const pkg = JSON.parse(
    readFileSync(join(LAUNCHER_ROOT, 'package.json'), 'utf8'),
  ) as {dependencies: Record<string, string>};
  const time = (mod: string) => {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = spawnSync(
        process.execPath,
        [
          '-e',
          `const t=process.hrtime.bigint();require(${JSON.stringify(mod)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`,
        ],
        {cwd: LAUNCHER_ROOT, encoding: 'utf8'},
      );
      runs.push(Number(r.stdout));
    }
    return round(median(runs), 1);
  };
  return [
    ...Object.keys(pkg.dependencies).map(d => ({module: d, ms: time(d)})),
    {
      module: 'functions-framework server (main + express)',
      ms: time(
        resolve(
          LAUNCHER_ROOT,
          'node_modules/@google-cloud/functions-framework/build/src/server.js',
        ),
      ),
    },
  ];
}

function printTable(r: {
  coldStart: {
    launcherMs: number;
    floorMs: number;
    ratio: number;
    fetchFloorMs: number;
    ratioToFetchFloor: number;
  };
  throughput: {
    launcher: LoadResult;
    floor: LoadResult;
    ratio: number;
    fetchFloor: LoadResult;
    ratioToFetchFloor: number;
  };
  tokens: {
    requests: number;
    events: number;
    requestsPer10kEvents: number;
    shortLived: {
      tokenRequests: number;
      expectedAtMost: number;
      maxRequestsInAnySecond: number;
      lifetimeSec: number;
      runSec: number;
    };
  };
  memory: Record<
    'launcher' | 'floor',
    {
      rssAfter1kMiB: number;
      rssAfter20kMiB: number;
      growth: number;
      peakRssMiB: number;
    }
  >;
  footprint: {
    MiB: number;
    files: number;
    packages: number;
    dependencies: {
      module: string;
      ms: number;
      shareOfLauncherColdStart: number;
    }[];
  };
  lazyLoading: {modules: {package: string; loadedByFirstEvent: boolean}[]};
  met: Record<string, boolean>;
}): void {
  const rows: [string, string, string, string, string][] = [
    ['figure', 'launcher', 'floor', 'ratio / value', 'target'],
    [
      'cold start to first POST (median ms)',
      String(r.coldStart.launcherMs),
      String(r.coldStart.floorMs),
      String(r.coldStart.ratio),
      `<= ${TARGETS.coldStartRatio} ${r.met.coldStart ? 'met' : 'MISSED'}`,
    ],
    [
      `throughput @${CONCURRENCY} (events/s)`,
      String(r.throughput.launcher.eventsPerSec),
      String(r.throughput.floor.eventsPerSec),
      String(r.throughput.ratio),
      `>= ${TARGETS.throughputRatio} ${r.met.throughput ? 'met' : 'MISSED'}`,
    ],
    [
      '  vs a floor that POSTs with fetch: cold start (ms)',
      String(r.coldStart.launcherMs),
      String(r.coldStart.fetchFloorMs),
      String(r.coldStart.ratioToFetchFloor),
      '(reference)',
    ],
    [
      '  vs a floor that POSTs with fetch: events/s',
      String(r.throughput.launcher.eventsPerSec),
      String(r.throughput.fetchFloor.eventsPerSec),
      String(r.throughput.ratioToFetchFloor),
      '(reference)',
    ],
    [
      'latency p50 / p99 (ms)',
      `${r.throughput.launcher.p50Ms} / ${r.throughput.launcher.p99Ms}`,
      `${r.throughput.floor.p50Ms} / ${r.throughput.floor.p99Ms}`,
      '',
      '',
    ],
    [
      `token requests for ${r.tokens.events} events`,
      String(r.tokens.requests),
      '0 (static)',
      `${r.tokens.requestsPer10kEvents} per 10k`,
      `1 per lifetime ${r.met.tokenReuse ? 'met' : 'MISSED'}`,
    ],
    [
      `token requests, ${r.tokens.shortLived.lifetimeSec}s token, ${r.tokens.shortLived.runSec}s`,
      String(r.tokens.shortLived.tokenRequests),
      '',
      `max ${r.tokens.shortLived.maxRequestsInAnySecond} in any 1s`,
      `<= ${r.tokens.shortLived.expectedAtMost}, no burst`,
    ],
    [
      'RSS after 1k / 20k events, after GC (MiB)',
      `${r.memory.launcher.rssAfter1kMiB} / ${r.memory.launcher.rssAfter20kMiB}`,
      `${r.memory.floor.rssAfter1kMiB} / ${r.memory.floor.rssAfter20kMiB}`,
      `growth ${r.memory.launcher.growth}`,
      `<= ${TARGETS.memoryGrowth} ${r.met.memoryGrowth ? 'met' : 'MISSED'}`,
    ],
    [
      `peak RSS @${PEAK_CONCURRENCY} (MiB)`,
      String(r.memory.launcher.peakRssMiB),
      String(r.memory.floor.peakRssMiB),
      '',
      `<= ${TARGETS.peakRssMiB} ${r.met.peakRss ? 'met' : 'MISSED'}`,
    ],
    [
      'production dependencies',
      `${r.footprint.MiB} MiB, ${r.footprint.files} files`,
      '',
      `${r.footprint.packages} packages`,
      '',
    ],
    ...r.footprint.dependencies.map(
      (d): [string, string, string, string, string] => [
        `  require ${d.module} (ms)`,
        String(d.ms),
        '',
        `${round(d.shareOfLauncherColdStart * 100, 1)}% of cold start`,
        '',
      ],
    ),
    ...r.lazyLoading.modules.map(
      (m): [string, string, string, string, string] => [
        `  ${m.package} loaded by the first event`,
        m.loadedByFirstEvent ? 'yes' : 'no',
        '',
        '',
        '',
      ],
    ),
  ];
  const widths = rows[0]!.map((_, i) =>
    Math.max(...rows.map(row => row[i]!.length)),
  );
  for (const row of rows)
    process.stdout.write(
      `${row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${(err as Error).stack ?? String(err)}\n`,
  );
  process.exitCode = 1;
});
