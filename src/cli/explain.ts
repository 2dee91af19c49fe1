/**
 * explain: what the launcher would do with an event, without calling Airflow.
 * Judges normalizing, routing and rendering; not the event's age (an old
 * sample file still explains).
 */
import type {LauncherConfig} from '../config/types';
import {RejectedError} from '../core/errors';
import {normalizeEvent} from '../events/normalize';
import {renderRun} from '../routing/render';
import {routeEvent, unmatchedMessage, unmatchedReasons} from '../routing/route';

export interface Explanation {
  triggers: {
    route: string;
    environment: string;
    /** Absent for an asset route, which prints `asset` instead (and no conf). */
    dagId?: string;
    dagRunId: string;
    conf?: Record<string, unknown>;
    /** The note as sent: rendered, then capped to Airflow's 1,000 characters. */
    note?: string;
    /** As sent: ISO 8601 UTC. */
    logicalDate?: string;
    dataInterval?: {start: string; end: string};
    /** An asset route's event: the URI and the extra as sent (with its dag_launcher_event key). */
    asset?: {uri: string; extra: Record<string, unknown>};
  }[];
  rejected: {route?: string; reason: string}[];
  /** When no route matched: why each did not, and what the function does then. */
  unmatched?: {policy: 'ack' | 'deadLetter'; reason: string; routes: string[]};
}

export function explainEvent(
  config: LauncherConfig,
  delivered: unknown,
): Explanation {
  const out: Explanation = {triggers: [], rejected: []};
  let event;
  try {
    event = normalizeEvent(delivered, config);
  } catch (err) {
    if (err instanceof RejectedError) {
      out.rejected.push({reason: err.message});
      return out;
    }
    throw err;
  }
  const matches = routeEvent(config, event);
  for (const m of matches) {
    try {
      const run = renderRun(config, m, event);
      out.triggers.push(
        run.asset
          ? {
              route: run.route,
              environment: run.environment,
              asset: run.asset,
              dagRunId: run.dagRunId,
            }
          : {
              route: run.route,
              environment: run.environment,
              dagId: run.dagId,
              dagRunId: run.dagRunId,
              conf: run.conf,
              ...(run.note !== undefined && {note: run.note}),
              ...(run.logicalDate !== undefined && {
                logicalDate: run.logicalDate,
              }),
              ...(run.dataInterval && {dataInterval: run.dataInterval}),
            },
      );
    } catch (err) {
      if (!(err instanceof RejectedError)) throw err;
      out.rejected.push({route: m.route.name, reason: err.message});
    }
  }
  if (matches.length === 0)
    out.unmatched = {
      policy: config.unmatched[event.kind],
      reason: unmatchedMessage(event),
      routes: unmatchedReasons(config, event),
    };
  return out;
}
