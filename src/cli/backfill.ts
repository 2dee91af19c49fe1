/**
 * backfill: fire the objects that landed while the function was down,
 * misconfigured, or before a route existed. Each live object becomes the
 * finalize event its landing produced (bucket, name, generation), so each
 * route renders the dag_run_id the live event had: an object already
 * triggered comes back `duplicate`, never a second run. Runs through the
 * handler's own per-route step (`attempt`: render, trigger, in-delivery
 * retries, outcome); rejections go to the config's dead letters.
 *
 * Objects are listed page by page (1,000 at a time) and at most
 * `concurrency` are in flight, so a million objects take the memory of a
 * page. Age is not judged, as in replay: a backfill is an operator's
 * explicit decision, so an old object is tried, not expired. An aborted
 * backfill starts nothing new, finishes what is in flight and returns its
 * summary; running it again picks up where it stopped (what was done is a
 * duplicate).
 *
 * Over 300 lines: the listing, the window and the per-object step belong
 * together (one page in memory, one report per object); they are split by
 * section rather than across files.
 */
import type {Storage, File} from '@google-cloud/storage';
import {parseGsUri} from '../config/gs-uri';
import type {LauncherConfig} from '../config/types';
import {RejectedError} from '../core/errors';
import {STORAGE_FINALIZED} from '../events/event';
import {normalizeEvent} from '../events/normalize';
import {sharedStorage} from '../google/storage';
import {createLogger} from '../logging/logger';
import {logDeadLetters, type DeadLetterSink} from '../outcomes/dead-letters';
import {GcsDeadLetterSink} from '../outcomes/dead-letters-gcs';
import {storeDeadLetter} from '../outcomes/store-dead-letter';
import {renderRun, runSubject} from '../routing/render';
import {routeEvent} from '../routing/route';
import {PausedCache} from '../airflow/paused';
import {attempt, type HandlerDeps} from '../handler';
import {RateLimit} from './rate';

export interface BackfillOptions {
  /** gs://BUCKET[/PREFIX] */
  uri: string;
  config: LauncherConfig;
  targets: HandlerDeps['targets'];
  /** Only objects created at or after / before these times (ms since the epoch). */
  since?: number;
  until?: number;
  /** Only this route. */
  route?: string;
  dryRun?: boolean;
  /** Objects in flight at once (default 8). */
  concurrency?: number;
  /** Objects started per second at most. */
  ratePerSecond?: number;
  signal?: AbortSignal;
  storage?: () => Promise<Storage>;
  deadLetters?: DeadLetterSink;
  /** Each object's report, as soon as it is known. */
  onObject?: (report: ObjectReport) => void;
  pageSize?: number;
}

export interface BackfillRouteReport {
  route: string;
  /** The DAG of a run route; an asset route has assetUri instead. */
  dagId?: string;
  assetUri?: string;
  dagRunId?: string;
  outcome: string;
  httpStatus?: number;
  reason?: string;
  deadLetter?: string;
  dagPaused?: boolean;
}

export interface ObjectReport {
  object: string;
  timeCreated?: string;
  /** ran: every route ended in a run (triggered/duplicate); failed: some did not; would-trigger: dry run. */
  result: 'ran' | 'failed' | 'unmatched' | 'would-trigger';
  routes: BackfillRouteReport[];
  reason?: string;
}

export interface BackfillSummary {
  /** Objects listed under the prefix, and those outside --since/--until. */
  listed: number;
  outsideWindow: number;
  objects: number;
  ran: number;
  failed: number;
  unmatched: number;
  wouldTrigger: number;
  /** Per (object, route). */
  outcomes: Record<string, number>;
  dryRun: boolean;
  interrupted: boolean;
  elapsedMs: number;
  objectsPerSecond: number;
}

/** The finalize CloudEvent an object's landing produced, rebuilt from its resource. */
export function finalizeEventOf(
  object: Record<string, unknown> & {
    bucket?: unknown;
    name?: unknown;
    generation?: unknown;
    timeCreated?: unknown;
  },
): Record<string, unknown> {
  const bucket = String(object.bucket);
  const name = String(object.name);
  return {
    specversion: '1.0',
    // Eventarc's id is not part of the run id; this one says where the event came from.
    id: `backfill:${bucket}/${name}#${String(object.generation)}`,
    type: STORAGE_FINALIZED,
    source: `//storage.googleapis.com/projects/_/buckets/${bucket}`,
    subject: `objects/${name}`,
    time:
      typeof object.timeCreated === 'string' ? object.timeCreated : undefined,
    datacontenttype: 'application/json',
    data: object,
  };
}

/** The live objects under a prefix, one page in memory at a time. */
export async function* listObjects(
  storage: Storage,
  bucket: string,
  prefix: string,
  pageSize = 1000,
): AsyncGenerator<File> {
  let pageToken: string | undefined;
  do {
    const [files, next] = await storage.bucket(bucket).getFiles({
      prefix,
      autoPaginate: false,
      maxResults: pageSize,
      pageToken,
    });
    yield* files;
    pageToken = (next as {pageToken?: string} | null)?.pageToken;
  } while (pageToken);
}

/**
 * Counts the objects a backfill will take (for the progress bar's total and
 * ETA), page by page beside the backfill itself: listing is far quicker than
 * triggering, so the total is known early.
 */
export async function countObjects(
  options: Pick<BackfillOptions, 'uri' | 'since' | 'until' | 'storage'>,
  onCount: (count: number, final: boolean) => void,
  signal?: AbortSignal,
): Promise<void> {
  const {bucket, prefix} = parseGsUri(options.uri);
  const storage = await (options.storage ?? sharedStorage)();
  let count = 0;
  let pageToken: string | undefined;
  do {
    if (signal?.aborted) return;
    const [files, next] = await storage.bucket(bucket).getFiles({
      prefix,
      autoPaginate: false,
      maxResults: 1000,
      pageToken,
    });
    for (const f of files)
      if (inWindow(options, f.metadata.timeCreated)) count++;
    pageToken = (next as {pageToken?: string} | null)?.pageToken;
    onCount(count, !pageToken);
  } while (pageToken);
}

function inWindow(
  options: Pick<BackfillOptions, 'since' | 'until'>,
  timeCreated: unknown,
): boolean {
  const created = Date.parse(String(timeCreated));
  return !(
    (options.since !== undefined && !(created >= options.since)) ||
    (options.until !== undefined && !(created < options.until))
  );
}

export function deadLetterSinkOf(config: LauncherConfig): DeadLetterSink {
  return config.deadLetters
    ? new GcsDeadLetterSink(
        config.deadLetters.bucket,
        config.deadLetters.prefix,
      )
    : logDeadLetters;
}

export async function backfillObjects(
  options: BackfillOptions,
): Promise<BackfillSummary> {
  const started = performance.now();
  const {bucket, prefix} = parseGsUri(options.uri);
  const storage = await (options.storage ?? sharedStorage)();
  const summary: BackfillSummary = {
    listed: 0,
    outsideWindow: 0,
    objects: 0,
    ran: 0,
    failed: 0,
    unmatched: 0,
    wouldTrigger: 0,
    outcomes: {},
    dryRun: options.dryRun ?? false,
    interrupted: false,
    elapsedMs: 0,
    objectsPerSecond: 0,
  };
  const step = objectStep(options);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const rate = options.ratePerSecond
    ? new RateLimit(options.ratePerSecond)
    : undefined;
  const inFlight = new Set<Promise<void>>();
  const stopped = () => options.signal?.aborted ?? false;
  for await (const file of listObjects(
    storage,
    bucket,
    prefix,
    options.pageSize,
  )) {
    if (stopped()) break;
    summary.listed++;
    if (!inWindow(options, file.metadata.timeCreated)) {
      summary.outsideWindow++;
      continue;
    }
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (rate) await rate.take(options.signal);
    if (stopped()) break;
    summary.objects++;
    const one = step(file.metadata as Record<string, unknown>).then(report => {
      tally(summary, report);
      options.onObject?.(report);
    });
    const tracked = one.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  summary.interrupted = stopped();
  summary.elapsedMs = Math.round(performance.now() - started);
  summary.objectsPerSecond =
    Math.round((summary.objects / Math.max(summary.elapsedMs, 1)) * 10_000) /
    10;
  return summary;
}

function tally(summary: BackfillSummary, report: ObjectReport): void {
  if (report.result === 'ran') summary.ran++;
  else if (report.result === 'failed') summary.failed++;
  else if (report.result === 'unmatched') summary.unmatched++;
  else summary.wouldTrigger++;
  for (const r of report.routes)
    summary.outcomes[r.outcome] = (summary.outcomes[r.outcome] ?? 0) + 1;
}

/** One object through normalize -> route -> the handler's per-route step; never throws. */
function objectStep(
  options: BackfillOptions,
): (object: Record<string, unknown>) => Promise<ObjectReport> {
  const {config} = options;
  const deps = {
    config,
    targets: options.targets,
    paused: new PausedCache(),
  };
  const sink = options.deadLetters ?? deadLetterSinkOf(config);
  const age = {eventAgeMs: 0, maxEventAgeMs: Number.POSITIVE_INFINITY};
  return async object => {
    const delivered = finalizeEventOf(object);
    const base = {
      object: `gs://${String(object.bucket)}/${String(object.name)}#${String(object.generation)}`,
      timeCreated: object.timeCreated as string | undefined,
    };
    try {
      const event = normalizeEvent(delivered, config);
      const matches = routeEvent(config, event).filter(
        m => options.route === undefined || m.route.name === options.route,
      );
      if (matches.length === 0)
        return {...base, result: 'unmatched', routes: []};
      if (options.dryRun) {
        const routes = matches.map((m): BackfillRouteReport => {
          try {
            const run = renderRun(config, m, event);
            return {
              route: m.route.name,
              ...runSubject(run),
              dagRunId: run.dagRunId,
              outcome: 'would-trigger',
            };
          } catch (err) {
            if (!(err instanceof RejectedError)) throw err;
            return {
              route: m.route.name,
              outcome: 'rejected',
              reason: err.message,
            };
          }
        });
        return {
          ...base,
          result: routes.every(r => r.outcome === 'would-trigger')
            ? 'would-trigger'
            : 'failed',
          routes,
        };
      }
      const attempts = await Promise.all(
        matches.map(m => attempt(deps, m, event, age)),
      );
      const routes: BackfillRouteReport[] = [];
      for (const a of attempts) {
        const r: BackfillRouteReport = {
          route: a.match.route.name,
          ...(a.run && runSubject(a.run)),
          dagRunId: a.run?.dagRunId,
          outcome: a.outcome.outcome,
          httpStatus:
            a.result?.kind === 'response' ? a.result.status : undefined,
          ...(a.paused && {dagPaused: true}),
        };
        if (a.outcome.outcome !== 'triggered') r.reason = a.outcome.reason;
        if (
          a.outcome.outcome === 'rejected' ||
          a.outcome.outcome === 'expired'
        ) {
          const line = captureLine();
          const stored = await storeDeadLetter(sink, line.logger, {
            outcome: a.outcome as {
              outcome: 'rejected' | 'expired';
              reason: string;
            },
            delivered,
            firstSeen: new Date().toISOString(),
            event,
            match: a.match,
            run: a.run,
            result: a.result,
          });
          if (stored) r.deadLetter = line.last()?.deadLetter as string;
          else {
            r.outcome = 'retry';
            r.reason = `${a.outcome.outcome} (${a.outcome.reason}) but the dead letter could not be stored: ${String(line.last()?.deadLetterError)}`;
          }
        }
        routes.push(r);
      }
      const ran = routes.every(
        r => r.outcome === 'triggered' || r.outcome === 'duplicate',
      );
      return {...base, result: ran ? 'ran' : 'failed', routes};
    } catch (err) {
      // A malformed object resource, or a bug: reported, and the backfill goes on.
      return {
        ...base,
        result: 'failed',
        routes: [],
        reason: (err as Error).message,
      };
    }
  };
}

/** A logger whose one outcome line is kept, for the dead letter's location. */
function captureLine() {
  let last: Record<string, unknown> | undefined;
  const logger = createLogger(
    {
      write: (line: string) => {
        last = JSON.parse(line) as Record<string, unknown>;
      },
    },
    {LOG_LEVEL: 'info'},
  );
  return {logger, last: () => last};
}
