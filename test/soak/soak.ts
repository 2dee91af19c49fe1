/**
 * Fault-injection soak: `npm run soak -- --api v1|v2|experimental --events N`
 * (default v2, 2000 events).
 *
 * The function, three instances of it under the real functions-framework, in
 * front of the REAL Airflow (PostgreSQL metadata database): Airflow 3 for
 * `v2` (airflow-jwt auth), Airflow 2 for `v1` and for `experimental` (the
 * Airflow 1.10 API, `enable_experimental_api`; basic auth), behind a proxy
 * that injects faults on a share of requests (429 with Retry-After, 500, 503,
 * hangs past the request timeout and connection resets, before and after
 * Airflow saw the request). Dead letters go to the Cloud Storage emulator.
 *
 * A delivery harness plays the platform: every event is delivered at least
 * once, a share twice or three times (some at the same moment, all in a
 * shuffled order), and every delivery is redelivered on any non-2xx, each
 * attempt to any of the instances, so redeliveries cross instances. A
 * quarter of the events arrive in bursts of 5 to 8 distinct events at the
 * same moment (what made one run of five on the experimental API). A known
 * share of events is bad: a command naming a DAG outside the allowlist, a
 * conf Airflow refuses, an unknown DAG past maxEventAge, an unreadable
 * message. At the end it reads Airflow and the dead-letter bucket back and
 * prints, as its last line, one JSON object; it exits 1 unless runs == good
 * DAG-run events, duplicate runs == 0, dead letters == bad events and nothing is
 * unaccounted for.
 *
 * Asset routes (v2 on Airflow 3: assets/events with the asset id; v1 on
 * Airflow 2: datasets/events): on those APIs a quarter of the events are
 * Cloud Storage objects under `assets/aK/` that an `asset:` route turns into
 * an asset event of `gs://soak-lake/assets/aK` (a DAG file declares the
 * assets), in the same bursts, copies and cross-instance redeliveries as the
 * DAG-run events, and a few land under `unknown-assets/` (no such asset,
 * past maxEventAge: dead-lettered). The soak reads every asset event back
 * from Airflow and reports asset events per distinct event (1 when
 * idempotence held) and the duplicates, split by whether two deliveries of
 * the event were in flight at the same moment on two instances (the race
 * README "Asset events" states); over the other events the figure must be
 * exactly 1 (`assetEventsPerEventSequential`), or the soak fails. Each
 * asset gets about ASSET_EVENTS_PER_URI events over the run,
 * fewer than the launcher's look-up of an asset's latest 100 events, so a
 * late redelivery is always within it: the soak measures the race between
 * deliveries in flight together, not the look-up's window. The experimental
 * API cannot create asset events: there the soak leaves asset routes out
 * and its line says so (`assetRoutes: false`, `assetsSkipped`).
 *
 * Options: --api v1|v2|experimental (default v2), --events N, --concurrency C (default 24),
 * --fault-rate R (default 0.25), --seed S, --instances I (default 3).
 *
 * Over 300 lines: the soak's harness (servers, fault proxy, instances), its event mix and its report are one program run as `npm run soak`.
 */
import {RealAirflow} from '../support/airflow-server';
import {FaultProxy} from '../support/fault-proxy';
import {FunctionProcess} from '../support/function-process';
import {GcsEmulator} from '../support/gcs-emulator';
import {
  pubsubCloudEvent,
  storageCloudEvent,
  storageData,
} from '../support/events';

type SoakApi = 'v1' | 'v2' | 'experimental';

interface Options {
  api: SoakApi;
  instances: number;
  events: number;
  concurrency: number;
  faultRate: number;
  seed: number;
}

type Kind =
  | 'good-storage'
  | 'good-command'
  | 'bad-allowlist'
  | 'bad-refused'
  | 'bad-expired'
  | 'bad-unreadable'
  | 'good-asset'
  | 'bad-asset-unknown';

interface SoakEvent {
  id: string;
  kind: Kind;
  good: boolean;
  body: Record<string, unknown>;
}

const BUCKET = 'soak-dead-letters';
/** Asset URIs are ASSET_PREFIX + the object's directory (`assets/aK`). */
const ASSET_PREFIX = 'gs://soak-lake/';
/** Share of events for asset routes where the API has them. */
const ASSET_SHARE = 0.25;
/** Events per asset over a run (the launcher looks at an asset's latest 100). */
const ASSET_EVENTS_PER_URI = 40;

/** How many asset URIs a run of `events` events spreads its asset events over. */
function assetUriCount(events: number): number {
  return Math.max(4, Math.ceil((events * ASSET_SHARE) / ASSET_EVENTS_PER_URI));
}

/** The DAG that declares the soak's assets (Airflow knows an asset once a parsed DAG names it). */
function assetDagFile(major: 2 | 3, uris: string[]): string {
  const imports =
    major === 3
      ? 'from airflow.sdk import DAG, Asset as A'
      : 'from airflow import DAG\nfrom airflow.datasets import Dataset as A';
  const empty =
    major === 3
      ? 'from airflow.providers.standard.operators.empty import EmptyOperator'
      : 'from airflow.operators.empty import EmptyOperator';
  return `from datetime import datetime
${imports}
${empty}
with DAG("soak_assets", start_date=datetime(2024, 1, 1), schedule=[A(u) for u in ${JSON.stringify(uris)}],
         catchup=False, is_paused_upon_creation=True):
    EmptyOperator(task_id="noop")
`;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    api: 'v2',
    instances: 3,
    events: 2000,
    concurrency: 24,
    faultRate: 0.25,
    seed: Date.now() % 1_000_000,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2);
    const text = () => inline ?? argv[++i] ?? '';
    const value = () => Number(text());
    if (flag === '--api') o.api = text() as SoakApi;
    else if (flag === '--instances') o.instances = value();
    else if (flag === '--events') o.events = value();
    else if (flag === '--concurrency') o.concurrency = value();
    else if (flag === '--fault-rate') o.faultRate = value();
    else if (flag === '--seed') o.seed = value();
    else
      throw new Error(
        `unknown option ${argv[i]} (--api v1|v2|experimental, --events N, --concurrency C, --fault-rate R, --seed S, --instances I)`,
      );
  }
  if (
    !['v1', 'v2', 'experimental'].includes(o.api) ||
    !(o.instances >= 1) ||
    !(o.events > 0) ||
    !(o.concurrency > 0) ||
    !(o.faultRate >= 0 && o.faultRate < 1)
  )
    throw new Error('bad options');
  return o;
}

/** mulberry32: a small seeded PRNG, so a failing run can be repeated with --seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeEvents(
  n: number,
  random: () => number,
  runTag: string,
  api: SoakApi,
  assetUris: number,
): SoakEvent[] {
  const events: SoakEvent[] = [];
  const longAgo = new Date(Date.now() - 8 * 3600_000).toISOString();
  for (let i = 0; i < n; i++) {
    const r = random();
    const asset = assetUris > 0 && random() < ASSET_SHARE;
    const kind: Kind = asset
      ? r < 0.95
        ? 'good-asset'
        : 'bad-asset-unknown'
      : r < 0.45
        ? 'good-storage'
        : r < 0.9
          ? 'good-command'
          : r < 0.925
            ? 'bad-allowlist'
            : r < 0.95
              ? 'bad-refused'
              : r < 0.975
                ? 'bad-expired'
                : 'bad-unreadable';
    const id = `${runTag}-${i}`;
    let body: Record<string, unknown>;
    switch (kind) {
      case 'good-storage':
        body = storageCloudEvent(
          storageData(`good/${i}/päth with spaces %${i}.csv`, {
            generation: String(1_700_000_000_000_000 + i),
          }),
          {id},
        );
        break;
      case 'good-command':
        body = pubsubCloudEvent(
          {dag: 'soak_b', params: {i}},
          {kind: 'command'},
          {id},
        );
        break;
      case 'bad-allowlist':
        body = pubsubCloudEvent(
          {dag: 'not_allowed', params: {i}},
          {kind: 'command'},
          {id},
        );
        break;
      case 'bad-refused':
        // The experimental API answers a conf that breaks the DAG's params
        // with 500 (Airflow 2's ParamValidationError as an AirflowException),
        // which is retried like any 500: here it is an old event, expired.
        body = storageCloudEvent(
          storageData(`typed/${i}.csv`, {
            generation: String(1_700_000_000_000_000 + i),
          }),
          api === 'experimental' ? {id, time: longAgo} : {id},
        );
        break;
      case 'bad-expired':
        body = storageCloudEvent(
          storageData(`unknown/${i}.csv`, {
            generation: String(1_700_000_000_000_000 + i),
          }),
          {id, time: longAgo},
        );
        break;
      case 'good-asset':
        body = storageCloudEvent(
          storageData(
            `assets/a${Math.floor(random() * assetUris)}/${i} päth.csv`,
            {generation: String(1_700_000_000_000_000 + i)},
          ),
          {id},
        );
        break;
      case 'bad-asset-unknown':
        // No DAG declares this asset: retried while young, so an old event: expired.
        body = storageCloudEvent(
          storageData(`unknown-assets/${i}.csv`, {
            generation: String(1_700_000_000_000_000 + i),
          }),
          {id, time: longAgo},
        );
        break;
      case 'bad-unreadable':
        body = {
          ...pubsubCloudEvent('x', {}, {id}),
          data: {message: {data: '%%%not-base64', messageId: id}},
        };
        break;
    }
    events.push({id, kind, good: kind.startsWith('good'), body});
  }
  return events;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export interface SoakResult {
  api: SoakApi;
  instances: number;
  events: number;
  /** Events delivered in bursts of 5+ distinct events at the same moment. */
  burstEvents: number;
  /** Events that should end as a DAG run or an asset event (goodRunEvents + goodAssetEvents). */
  goodEvents: number;
  goodRunEvents: number;
  badEvents: number;
  deliveries: number;
  redeliveries: number;
  airflowRequests: number;
  faultsInjected: number;
  faultShare: number;
  faults: Record<string, number>;
  runsCreated: number;
  duplicateRuns: number;
  unexpectedRuns: number;
  deadLetters: number;
  eventsUnaccountedFor: number;
  /** Asset routes in the mix (false on the experimental API, which cannot create asset events). */
  assetRoutes: boolean;
  assetsSkipped?: string;
  /** Asset URIs the asset events are spread over. */
  assetUris: number | null;
  /** Events that should each create one asset event. */
  goodAssetEvents: number | null;
  /** Asset events read back from Airflow on the soak's assets. */
  assetEvents: number | null;
  /** Distinct events (the route's eventId in extra) among them. */
  assetDistinctEvents: number | null;
  /** assetEvents / assetDistinctEvents: 1 when no event made two. */
  assetEventsPerEvent: number | null;
  /** assetEvents - assetDistinctEvents. */
  assetDuplicates: number | null;
  /** Good asset events two deliveries of which were in flight at the same moment on two instances. */
  assetEventsOverlapping: number | null;
  /** The duplicates of those events: the race README "Asset events" states. */
  assetDuplicatesOverlapping: number | null;
  /**
   * Asset events per event over the events whose deliveries never overlapped
   * across instances: what the look-up guarantees, exactly 1.
   */
  assetEventsPerEventSequential: number | null;
  /** Asset events of events that should have made none (bad or unknown ids). */
  unexpectedAssetEvents: number | null;
  seconds: number;
  seed: number;
  ok: boolean;
}

/** Stops what the running soak started; called on SIGINT/SIGTERM too, so no server outlives it. */
let stopAll: (() => Promise<void>) | undefined;

export async function soak(
  o: Options,
  progress: (s: string) => void = s => process.stderr.write(`${s}\n`),
): Promise<SoakResult> {
  const random = prng(o.seed);
  const started = Date.now();
  let airflow: RealAirflow | undefined;
  let proxy: FaultProxy | undefined;
  let gcs: GcsEmulator | undefined;
  const fns: FunctionProcess[] = [];
  const major = o.api === 'v2' ? 3 : 2;
  // Asset events need v1 (Airflow 2.9+) or v2; the experimental API has none.
  const assetUris = o.api === 'experimental' ? 0 : assetUriCount(o.events);
  const uris = Array.from(
    {length: assetUris},
    (_, k) => `${ASSET_PREFIX}assets/a${k}`,
  );
  stopAll = async () => {
    await Promise.all(fns.map(f => f.stop()));
    await proxy?.stop();
    await gcs?.stop();
    await airflow?.stop();
  };
  try {
    progress(
      `soak: api ${o.api}, ${o.events} events, ${o.instances} function instances, concurrency ${o.concurrency}, fault rate ${o.faultRate}, seed ${o.seed}`,
    );
    progress(
      assetUris > 0
        ? `soak: asset routes on: ${Math.round(ASSET_SHARE * 100)}% of events make asset events of ${assetUris} assets`
        : 'soak: asset routes skipped: the experimental API cannot create asset events',
    );
    progress(
      `soak: starting PostgreSQL + Airflow ${major}, the Cloud Storage emulator, the fault proxy and the function`,
    );
    // Both started before either failure is thrown, so stopAll stops whatever did start.
    const [a, g] = await Promise.allSettled([
      RealAirflow.start(major, {
        dags: ['soak_a', 'soak_b', 'typed_soak'],
        ...(assetUris > 0 && {
          dagFiles: {soak_assets: assetDagFile(major, uris)},
        }),
        experimentalApi: o.api === 'experimental',
        // Airflow 2's web server takes one request per gunicorn worker at a time.
        webserverWorkers: 4,
        fastBasicAuth: true,
      }),
      GcsEmulator.start([BUCKET]),
    ]);
    airflow = a.status === 'fulfilled' ? a.value : undefined;
    gcs = g.status === 'fulfilled' ? g.value : undefined;
    if (a.status === 'rejected') throw a.reason;
    if (g.status === 'rejected') throw g.reason;
    const [af, store] = [airflow!, gcs!];
    proxy = await new FaultProxy(af.url, {
      rate: o.faultRate,
      hangMs: major === 3 ? 2_500 : 5_500,
      retryAfterS: 1,
      random: prng(o.seed + 1),
    }).start();
    const config = {
      environments: {
        airflow: {
          url: proxy.url,
          api: o.api,
          auth: {
            mode: major === 3 ? 'airflow-jwt' : 'basic',
            username: af.username,
            passwordEnv: 'AIRFLOW_PASSWORD',
          },
        },
      },
      maxEventAge: '4h',
      // Airflow 2 under 2 cores answers a burst slower than Airflow 3's async server.
      requestTimeout: major === 3 ? '2s' : '5s',
      functionTimeout: major === 3 ? '15s' : '30s',
      retry: {attempts: 4, initialBackoff: '100ms', maxBackoff: '1s'},
      deadLetters: `gs://${BUCKET}/soak/`,
      routes: [
        {
          name: 'files',
          match: {type: 'storage', name: {prefix: 'good/'}},
          dag: 'soak_a',
          conf: {
            uri: 'gs://{{ bucket }}/{{ name }}',
            eventId: '{{ event.id }}',
          },
        },
        {
          name: 'commands',
          match: {type: 'pubsub', attributes: {kind: 'command'}},
          dag: '{{ json.dag }}',
          allowedDags: ['soak_b'],
          conf: {params: '{{ json.params }}', eventId: '{{ event.id }}'},
        },
        {
          name: 'typed',
          match: {type: 'storage', name: {prefix: 'typed/'}},
          dag: 'typed_soak',
          conf: {n: 'not-a-number', eventId: '{{ event.id }}'},
        },
        {
          name: 'unknown',
          match: {type: 'storage', name: {prefix: 'unknown/'}},
          dag: 'not_deployed',
          conf: {eventId: '{{ event.id }}'},
        },
        ...(assetUris > 0
          ? [
              {
                name: 'assets',
                match: {type: 'storage', name: {prefix: 'assets/'}},
                asset: {
                  uri: `${ASSET_PREFIX}{{ dirname }}`,
                  extra: {
                    eventId: '{{ event.id }}',
                    object: 'gs://{{ bucket }}/{{ name }}',
                  },
                },
              },
              {
                name: 'unknown-assets',
                match: {type: 'storage', name: {prefix: 'unknown-assets/'}},
                asset: {
                  uri: `${ASSET_PREFIX}{{ dirname }}`,
                  extra: {eventId: '{{ event.id }}'},
                },
              },
            ]
          : []),
      ],
    };
    const env = {
      AIRFLOW_PASSWORD: af.password,
      STORAGE_EMULATOR_HOST: store.host,
      GOOGLE_CLOUD_PROJECT: 'soak',
      LOG_LEVEL: 'warn',
    };
    fns.push(
      ...(await Promise.all(
        Array.from({length: o.instances}, () =>
          FunctionProcess.start(config, env),
        ),
      )),
    );

    const runTag = `soak${o.seed}`;
    const events = makeEvents(o.events, random, runTag, o.api, assetUris);
    // The platform's delivery schedule: at least once each; 15% twice, 5% three times; extra copies
    // either at the same moment as the first or anywhere later; the first deliveries of a quarter
    // of the events in bursts of 5 to 8 distinct events at one moment; the whole schedule shuffled.
    const schedule: SoakEvent[][] = [];
    const burstTarget = Math.ceil(events.length * 0.25);
    let burst: SoakEvent[] = [];
    let burstEvents = 0;

    for (const event of events) {
      const r = random();
      const copies = r < 0.8 ? 1 : r < 0.95 ? 2 : 3;
      const concurrent = random() < 0.5;
      let first = 1;
      if (burstEvents < burstTarget) {
        burst.push(event);
        burstEvents++;
        if (burst.length >= 5 + Math.floor(random() * 4)) {
          schedule.push(burst);
          burst = [];
        }
      } else if (concurrent) {
        schedule.push(Array(copies).fill(event) as SoakEvent[]);
        first = copies;
      } else schedule.push([event]);
      for (let c = first; c < copies; c++) schedule.push([event]);
    }
    if (burst.length > 0) {
      if (burst.length < 5 && schedule.length > 0) {
        // Too few left for a burst of their own: they join the last burst.
        const last = schedule.findLast(b => new Set(b).size >= 5);
        if (last) last.push(...burst);
        else schedule.push(burst);
      } else schedule.push(burst);
    }
    shuffle(schedule, random);

    let deliveries = 0;
    let redeliveries = 0;
    /** When each delivery of an event was in flight, and on which instance. */
    const inFlight = new Map<string, Span[]>();
    const acked = new Set<string>();
    const deliver = async (event: SoakEvent): Promise<void> => {
      const binary = random() < 0.7;
      for (let attempt = 0; attempt < 60; attempt++) {
        deliveries++;
        if (attempt > 0) redeliveries++;
        // Each attempt to any instance, as the platform's load balancer does.
        const instance = Math.floor(random() * fns.length);
        const fn = fns[instance]!;
        const span: Span = {from: Date.now(), to: Infinity, instance};
        inFlight.set(event.id, [...(inFlight.get(event.id) ?? []), span]);
        try {
          const res = binary
            ? await fn.sendBinary(event.body)
            : await fn.sendStructured(event.body);
          if (res.status >= 200 && res.status < 300) {
            acked.add(event.id);
            return;
          }
        } catch {
          /* the function did not answer: redeliver */
        } finally {
          span.to = Date.now();
        }
        // The platform's backoff, compressed.
        await new Promise(r =>
          setTimeout(
            r,
            20 + Math.floor(random() * 80 * Math.min(attempt + 1, 5)),
          ),
        );
      }
    };
    let next = 0;
    let done = 0;
    let lastReport = Date.now();
    const worker = async () => {
      while (next < schedule.length) {
        const item = schedule[next++]!;
        await Promise.all(item.map(deliver));
        done++;
        if (Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          progress(
            `soak: ${done}/${schedule.length} scheduled deliveries done, ${deliveries} sent, ${proxy!.injected} faults injected; retries: ${retryReasons(fns)}`,
          );
        }
      }
    };
    progress(
      `soak: delivering ${schedule.length} scheduled deliveries of ${events.length} events`,
    );
    await Promise.all(Array.from({length: o.concurrency}, worker));

    progress('soak: reading Airflow and the dead-letter bucket back');
    const runs = (
      await Promise.all(
        ['soak_a', 'soak_b', 'typed_soak', 'not_allowed'].map(d =>
          af.allRunsOf(d).catch(() => []),
        ),
      )
    ).flat();
    const runsByEvent = new Map<string, number>();
    for (const run of runs) {
      const id = String(run.conf.eventId);
      runsByEvent.set(id, (runsByEvent.get(id) ?? 0) + 1);
    }
    const good = events.filter(e => e.good);
    const bad = events.filter(e => !e.good);
    const goodAssets = good.filter(e => e.kind === 'good-asset');
    const goodIds = new Set(
      good.filter(e => e.kind !== 'good-asset').map(e => e.id),
    );
    const assets =
      assetUris > 0
        ? assetReport(
            await af.assetEvents(ASSET_PREFIX),
            goodAssets.map(e => e.id),
            inFlight,
          )
        : undefined;
    const duplicated = assets?.duplicated ?? [];
    if (duplicated.length > 20)
      progress(
        `soak: ${duplicated.length} events made more than one asset event; the first 20:`,
      );
    for (const d of duplicated.slice(0, 20))
      progress(
        `soak: event ${d.id} made ${d.count} asset events; ${d.overlap ? 'two of its deliveries were in flight at the same moment on two instances (the stated race)' : 'its deliveries never overlapped across instances'}: ${d.deliveries}`,
      );
    const duplicateRuns = [...runsByEvent.values()].reduce(
      (n, c) => n + (c - 1),
      0,
    );
    const unexpectedRuns = [...runsByEvent.keys()].filter(
      id => !goodIds.has(id),
    ).length;
    const records = await store.list(BUCKET, 'soak/');
    const deadLettered = new Set<string>();
    for (const chunk of chunks(records, 32)) {
      await Promise.all(
        chunk.map(async o2 => {
          const rec = await store.readJson<{eventId?: string}>(BUCKET, o2.name);
          if (rec.eventId) deadLettered.add(rec.eventId);
        }),
      );
    }
    const unaccounted = events.filter(
      e =>
        (e.kind === 'good-asset'
          ? !assets?.byEvent.has(e.id)
          : e.good
            ? !runsByEvent.has(e.id)
            : !deadLettered.has(e.id)) || !acked.has(e.id),
    ).length;

    const result: SoakResult = {
      api: o.api,
      instances: fns.length,
      events: events.length,
      burstEvents,
      goodEvents: good.length,
      goodRunEvents: good.length - goodAssets.length,
      badEvents: bad.length,
      deliveries,
      redeliveries,
      airflowRequests: proxy.requests,
      faultsInjected: proxy.injected,
      faultShare: Number(
        (proxy.injected / Math.max(1, proxy.requests)).toFixed(3),
      ),
      faults: {...proxy.faults},
      runsCreated: runs.length,
      duplicateRuns,
      unexpectedRuns,
      deadLetters: records.length,
      eventsUnaccountedFor: unaccounted,
      assetRoutes: assets !== undefined,
      ...(!assets && {
        assetsSkipped:
          'the experimental API cannot create asset events: no asset routes in this run',
      }),
      assetUris: assets ? assetUris : null,
      goodAssetEvents: assets ? goodAssets.length : null,
      assetEvents: assets?.events ?? null,
      assetDistinctEvents: assets?.byEvent.size ?? null,
      assetEventsPerEvent: assets?.perEvent ?? null,
      assetDuplicates: assets?.duplicates ?? null,
      assetEventsOverlapping: assets?.overlappingEvents ?? null,
      assetDuplicatesOverlapping: assets?.duplicatesOverlapping ?? null,
      assetEventsPerEventSequential: assets?.perEventSequential ?? null,
      unexpectedAssetEvents: assets?.unexpected ?? null,
      seconds: Math.round((Date.now() - started) / 1000),
      seed: o.seed,
      ok: false,
    };
    result.ok =
      result.runsCreated === result.goodRunEvents &&
      result.duplicateRuns === 0 &&
      result.unexpectedRuns === 0 &&
      result.deadLetters === result.badEvents &&
      deadLettered.size === result.badEvents &&
      result.eventsUnaccountedFor === 0 &&
      (!assets ||
        (result.assetDistinctEvents === result.goodAssetEvents &&
          result.unexpectedAssetEvents === 0 &&
          result.assetEventsPerEventSequential === 1)) &&
      result.burstEvents >= 0.2 * result.events &&
      result.faultShare >= Math.min(0.2, o.faultRate * 0.8);
    return result;
  } finally {
    await stopAll();
    stopAll = undefined;
  }
}

interface Span {
  from: number;
  to: number;
  instance: number;
}

/** Whether two deliveries were in flight at the same moment on two instances. */
function overlapAcrossInstances(spans: Span[]): boolean {
  return spans.some((a, i) =>
    spans
      .slice(i + 1)
      .some(b => a.instance !== b.instance && a.from < b.to && b.from < a.to),
  );
}

/** Asset events read back from Airflow, per event (the route's eventId in extra), against the deliveries. */
function assetReport(
  read: {extra: Record<string, unknown>}[],
  goodIds: string[],
  inFlight: Map<string, Span[]>,
) {
  const byEvent = new Map<string, number>();
  for (const e of read) {
    const id = String(e.extra.eventId);
    byEvent.set(id, (byEvent.get(id) ?? 0) + 1);
  }
  const good = new Set(goodIds);
  const overlap = new Set(
    goodIds.filter(id => overlapAcrossInstances(inFlight.get(id) ?? [])),
  );
  const sequential = goodIds.filter(id => !overlap.has(id));
  const extra = (ids: string[]) =>
    ids.reduce((n, id) => n + Math.max(0, (byEvent.get(id) ?? 0) - 1), 0);
  const made = sequential.reduce((n, id) => n + (byEvent.get(id) ?? 0), 0);
  const ratio = (a: number, b: number) =>
    Number((a / Math.max(1, b)).toFixed(4));
  const t0 = Math.min(...[...inFlight.values()].flat().map(s => s.from));
  return {
    events: read.length,
    byEvent,
    perEvent: ratio(read.length, byEvent.size),
    duplicates: read.length - byEvent.size,
    overlappingEvents: overlap.size,
    duplicatesOverlapping: extra([...overlap]),
    perEventSequential: ratio(made, sequential.length),
    unexpected: [...byEvent.keys()].filter(id => !good.has(id)).length,
    duplicated: [...byEvent]
      .filter(([, c]) => c > 1)
      .map(([id, count]) => ({
        id,
        count,
        overlap: overlap.has(id),
        deliveries: (inFlight.get(id) ?? [])
          .map(
            s =>
              `instance ${s.instance} ${((s.from - t0) / 1000).toFixed(2)}-${((s.to - t0) / 1000).toFixed(2)}s`,
          )
          .join(', '),
      })),
  };
}

/** The commonest retry reasons logged so far (numbers and ids folded), to see why a soak is slow. */
function retryReasons(fns: FunctionProcess[]): string {
  const counts = new Map<string, number>();
  for (const fn of fns)
    for (const l of fn.outcomes({outcome: 'retry'})) {
      const key = `${String(l.httpStatus ?? '-')} ${String(l.reason)
        .replace(/\d+/g, 'N')
        .slice(0, 90)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  return (
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, n]) => `${n}× ${k}`)
      .join('; ') || 'none'
  );
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

if (require.main === module) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      process.stderr.write(`soak: ${signal}, stopping the servers\n`);
      void (stopAll?.() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  soak(parseArgs(process.argv.slice(2))).then(
    // Exit once the line is out: every server is stopped by then, and after a
    // 20,000-event run something left in the event loop kept the process
    // busy for minutes past its verdict.
    result =>
      process.stdout.write(`${JSON.stringify(result)}\n`, () =>
        process.exit(result.ok ? 0 : 1),
      ),
    (err: unknown) =>
      process.stderr.write(
        `soak failed: ${(err as Error).stack ?? String(err)}\n`,
        () => process.exit(2),
      ),
  );
}
