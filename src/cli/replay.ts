/**
 * replay: re-submit dead-lettered events through the same pipeline the
 * function runs (normalize -> route -> render -> trigger -> outcome), with
 * the same dag_run_ids, so a run that did get created the first time is a
 * duplicate, never a second run. Records whose routes now end in a run
 * (triggered or duplicate) are deleted, or marked with `--mark`; the rest stay
 * where they are, with the reason reported. Age no longer matters: replay is
 * an operator's explicit decision, so an old event is tried, not expired.
 */
import type {Storage, File} from '@google-cloud/storage';
import {parseGsUri} from '../config/gs-uri';
import type {LauncherConfig} from '../config/types';
import {reviveEvent, type DeadLetterRecord} from '../outcomes/dead-letters';
import {sharedStorage} from '../google/storage';
import {RejectedError} from '../core/errors';
import type {TriggerEvent} from '../events/event';
import {attempt, type HandlerDeps} from '../handler';
import {normalizeEvent} from '../events/normalize';
import {renderRun, runSubject} from '../routing/render';
import {routeEvent} from '../routing/route';

export interface ReplayOptions {
  uri: string;
  config: LauncherConfig;
  targets: HandlerDeps['targets'];
  dryRun?: boolean;
  /** Mark records that succeed (object metadata `replayedAt`) instead of deleting them. */
  mark?: boolean;
  storage?: () => Promise<Storage>;
  /** How many records there are, once listed (the progress bar's total). */
  onListed?: (records: number) => void;
}

export interface RouteReport {
  route: string;
  /** The DAG of a run route; an asset route has assetUri instead. */
  dagId?: string;
  assetUri?: string;
  dagRunId?: string;
  /** Dry run: the run's conf, or the asset event's extra. */
  conf?: unknown;
  extra?: unknown;
  outcome: string;
  httpStatus?: number;
  reason: string;
}

export interface RecordReport {
  record: string;
  eventId?: string;
  /** deleted / marked: it ended in a run; kept: it still fails; would-replay: dry run; skipped: marked earlier. */
  action: 'deleted' | 'marked' | 'kept' | 'would-replay' | 'skipped';
  routes: RouteReport[];
  reason?: string;
}

export interface ReplaySummary {
  records: number;
  replayed: number;
  kept: number;
  skipped: number;
  dryRun: boolean;
}

export async function* replayDeadLetters(
  options: ReplayOptions,
): AsyncGenerator<RecordReport, ReplaySummary> {
  const {bucket: bucketName, prefix} = parseGsUri(options.uri);
  const storage = await (options.storage ?? sharedStorage)();
  const [files] = await storage
    .bucket(bucketName)
    .getFiles({prefix, autoPaginate: true});
  const summary: ReplaySummary = {
    records: 0,
    replayed: 0,
    kept: 0,
    skipped: 0,
    dryRun: options.dryRun ?? false,
  };
  const records = files
    .filter(f => f.name.endsWith('.json'))
    .sort((a, b) => a.name.localeCompare(b.name));
  options.onListed?.(records.length);
  for (const file of records) {
    summary.records++;
    const report = await replayOne(
      file,
      `gs://${bucketName}/${file.name}`,
      options,
    );
    if (report.action === 'deleted' || report.action === 'marked')
      summary.replayed++;
    else if (report.action === 'skipped') summary.skipped++;
    else if (report.action === 'kept') summary.kept++;
    yield report;
  }
  return summary;
}

async function replayOne(
  file: File,
  uri: string,
  options: ReplayOptions,
): Promise<RecordReport> {
  if (file.metadata.metadata?.replayedAt) {
    return {
      record: uri,
      action: 'skipped',
      routes: [],
      reason: `marked as replayed at ${String(file.metadata.metadata.replayedAt)}`,
    };
  }
  let record: DeadLetterRecord;
  try {
    const [content] = await file.download();
    record = JSON.parse(content.toString('utf8')) as DeadLetterRecord;
    if (!record || typeof record !== 'object' || !('event' in record))
      throw new Error('not a dead-letter record (no event)');
  } catch (err) {
    return {
      record: uri,
      action: 'kept',
      routes: [],
      reason: `unreadable record: ${(err as Error).message}`,
    };
  }
  const base = {record: uri, eventId: record.eventId};
  let event: TriggerEvent;
  try {
    event = normalizeEvent(reviveEvent(record.event), options.config);
  } catch (err) {
    if (!(err instanceof RejectedError)) throw err;
    return {
      ...base,
      action: 'kept',
      routes: [],
      reason: `still not a valid event: ${err.message}`,
    };
  }
  const matches = routeEvent(options.config, event).filter(
    mt => record.route === undefined || mt.route.name === record.route,
  );
  if (matches.length === 0) {
    return {
      ...base,
      action: 'kept',
      routes: [],
      reason: record.route
        ? `route '${record.route}' is gone or no longer matches this event`
        : 'no route matches this event',
    };
  }
  if (options.dryRun) {
    const routes = matches.map((mt): RouteReport => {
      try {
        const run = renderRun(options.config, mt, event);
        return {
          route: mt.route.name,
          ...runSubject(run),
          dagRunId: run.dagRunId,
          ...(run.asset ? {extra: run.asset.extra} : {conf: run.conf}),
          outcome: 'would-trigger',
          reason: 'dry run: nothing sent',
        };
      } catch (err) {
        if (!(err instanceof RejectedError)) throw err;
        return {route: mt.route.name, outcome: 'rejected', reason: err.message};
      }
    });
    return {...base, action: 'would-replay', routes};
  }
  const deps = {config: options.config, targets: options.targets};
  const age = {eventAgeMs: 0, maxEventAgeMs: Number.POSITIVE_INFINITY};
  const attempts = await Promise.all(
    matches.map(mt => attempt(deps, mt, event, age)),
  );
  const routes = attempts.map(({match, run, result, outcome}): RouteReport => ({
    route: match.route.name,
    ...(run && runSubject(run)),
    dagRunId: run?.dagRunId,
    outcome: outcome.outcome,
    httpStatus: result?.kind === 'response' ? result.status : undefined,
    reason: outcome.reason,
  }));
  const done = routes.every(
    r => r.outcome === 'triggered' || r.outcome === 'duplicate',
  );
  if (!done) return {...base, action: 'kept', routes};
  if (options.mark) {
    await file.setMetadata({
      metadata: {
        replayedAt: new Date().toISOString(),
        replayOutcome: routes.map(r => `${r.route}:${r.outcome}`).join(','),
      },
    });
    return {...base, action: 'marked', routes};
  }
  await file.delete({ignoreNotFound: true});
  return {...base, action: 'deleted', routes};
}
