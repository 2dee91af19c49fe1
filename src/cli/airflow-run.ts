/**
 * One DAG run read back from Airflow, for `trace`: GET
 * /api/{v1|v2}/dags/{dag_id}/dagRuns/{dag_run_id} with the environment's
 * own auth (discovering the API variant first, as the trigger does).
 */
import {httpRequest} from '../core/http';
import type {AirflowTarget} from '../airflow/trigger';
import {settleDiscovery} from '../airflow/trigger';

export type RunLookup =
  | {
      exists: true;
      state?: string;
      queuedAt?: string | null;
      startDate?: string | null;
      endDate?: string | null;
      logicalDate?: string | null;
    }
  | {exists: false}
  | {exists: 'unknown'; reason: string};

export async function lookupRun(
  target: AirflowTarget,
  dagId: string,
  dagRunId: string,
): Promise<RunLookup> {
  try {
    await settleDiscovery(target);
    if (target.api.name === 'experimental')
      return {
        exists: 'unknown',
        reason:
          'the experimental API cannot read a run by id; look in the Airflow UI',
      };
    const url = `${target.environment.url}${target.api.dagPath(dagId)}/dagRuns/${encodeURIComponent(dagRunId)}`;
    const res = await httpRequest(url, {
      headers: {...(await target.auth.headers()), Accept: 'application/json'},
      timeoutMs: target.timeoutMs,
      excerptMax: 256 * 1024,
    });
    if (res.status === 404) return {exists: false};
    if (res.status !== 200)
      return {
        exists: 'unknown',
        reason: `Airflow answered ${res.status}: ${res.body.slice(0, 300)}`,
      };
    const run = JSON.parse(res.body) as Record<string, string | null>;
    return {
      exists: true,
      state: run.state ?? undefined,
      queuedAt: run.queued_at,
      startDate: run.start_date,
      endDate: run.end_date,
      logicalDate: run.logical_date,
    };
  } catch (err) {
    return {exists: 'unknown', reason: (err as Error).message};
  }
}
