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
    dagId: string;
    dagRunId: string;
    conf: Record<string, unknown>;
    /** The note as sent: rendered, then capped to Airflow's 1,000 characters. */
    note?: string;
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
      out.triggers.push({
        route: run.route,
        environment: run.environment,
        dagId: run.dagId,
        dagRunId: run.dagRunId,
        conf: run.conf,
        ...(run.note !== undefined && {note: run.note}),
      });
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
