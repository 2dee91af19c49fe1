/**
 * `dag-launcher backfill gs://BUCKET[/PREFIX]`: arguments, Ctrl-C, progress
 * and the exit code around backfill.ts.
 */
import type {LauncherConfig} from '../config/types';
import {buildTargets} from '../airflow/targets';
import {
  backfillObjects,
  countObjects,
  type BackfillSummary,
  type ObjectReport,
} from './backfill';
import {createProgress, type Progress} from './progress';
import {parseRate} from './rate';
import {onInterrupt} from './interrupt';

export const BACKFILL_USAGE = `  dag-launcher backfill gs://BUCKET[/PREFIX] [--config <file>] [--since <time>] [--until <time>]
                        [--route NAME] [--dry-run] [--concurrency N] [--rate N/s]
      fires the finalize event of each live object under the prefix, with the
      dag_run_id its landing had: objects already triggered come back duplicate.
      --since/--until: object creation time (ISO 8601, or a date), until exclusive.
      Ctrl-C finishes what is in flight and prints the summary; run it again to go on.
      Exit 0 when every matched object ended in a run, 3 when some did not,
      130 when interrupted.`;

export interface BackfillArgs {
  uri: string;
  since?: number;
  until?: number;
  route?: string;
  dryRun: boolean;
  concurrency: number;
  ratePerSecond?: number;
}

/** The command's arguments after --config, or the problem with them. */
export function parseBackfillArgs(args: string[]): BackfillArgs | string {
  const out: Partial<BackfillArgs> = {dryRun: false, concurrency: 8};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.startsWith('--') ? a.split(/=(.*)/s, 2) : [a];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case '--dry-run':
        out.dryRun = true;
        break;
      case '--since':
      case '--until': {
        const v = value();
        const t = v === undefined ? NaN : Date.parse(v);
        if (Number.isNaN(t))
          return `${flag} expects a time such as 2026-11-20 or 2026-11-20T10:00:00Z, got ${v ?? 'nothing'}`;
        out[flag === '--since' ? 'since' : 'until'] = t;
        break;
      }
      case '--route':
        out.route = value();
        if (!out.route) return '--route expects a route name';
        break;
      case '--concurrency': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 256)
          return '--concurrency expects a whole number from 1 to 256';
        out.concurrency = n;
        break;
      }
      case '--rate': {
        const v = value();
        out.ratePerSecond = v === undefined ? undefined : parseRate(v);
        if (out.ratePerSecond === undefined)
          return `--rate expects objects per second, such as 20/s, got ${v ?? 'nothing'}`;
        break;
      }
      default:
        if (a.startsWith('-')) return `unknown option ${a}`;
        if (out.uri) return `one gs:// location only, got ${out.uri} and ${a}`;
        out.uri = a;
    }
  }
  if (!out.uri || !/^gs:\/\/[^/]+/.test(out.uri))
    return 'backfill expects gs://BUCKET[/PREFIX]';
  if (
    out.since !== undefined &&
    out.until !== undefined &&
    out.until <= out.since
  )
    return '--until must be after --since';
  return out as BackfillArgs;
}

export async function runBackfill(
  config: LauncherConfig,
  args: BackfillArgs,
  progress: Progress = createProgress({label: 'backfill'}),
): Promise<number> {
  if (
    args.route !== undefined &&
    !config.routes.some(r => r.name === args.route)
  ) {
    process.stderr.write(
      `no route named ${args.route} (routes: ${config.routes.map(r => r.name).join(', ')})\n`,
    );
    return 2;
  }
  const stop = new AbortController();
  const release = onInterrupt(() => {
    process.stderr.write(
      '\ninterrupted: finishing the objects in flight (Ctrl-C again to quit at once)\n',
    );
    stop.abort();
  });
  const counting = countObjects(
    {uri: args.uri, since: args.since, until: args.until},
    (n, final) => progress.total(n, final),
    stop.signal,
  ).catch(() => undefined); // only the bar's total; the backfill reports its own errors
  let summary: BackfillSummary;
  try {
    summary = await backfillObjects({
      ...args,
      config,
      targets: buildTargets(config),
      signal: stop.signal,
      onObject: report =>
        progress.item(report, report.result !== 'failed', failureText(report)),
    });
  } finally {
    release();
  }
  stop.abort();
  await counting;
  progress.finish(summary);
  if (summary.interrupted) return 130;
  return summary.failed > 0 ? 3 : 0;
}

function failureText(report: ObjectReport): string | undefined {
  if (report.result !== 'failed') return undefined;
  const why =
    report.routes
      .filter(r => r.outcome !== 'triggered' && r.outcome !== 'duplicate')
      .map(r => `${r.route}: ${r.outcome} (${r.reason ?? ''})`)
      .join('; ') || report.reason;
  return `${report.object}: ${why}`;
}
