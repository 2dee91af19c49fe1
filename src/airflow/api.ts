/**
 * The Airflow REST API variants: one small file each (api-v1, api-v2,
 * api-experimental) behind this interface; choose-api.ts picks one by the
 * environment's `api`.
 */
import type {DagRunRequest} from '../routing/render';

/**
 * What a refusal of the trigger says about an existing run: `ours` when it
 * names our dag_run_id beyond doubt; `unknown` when some run exists (ours,
 * or another one holding the same logical date): only a look-up of our run
 * can tell which.
 */
export type ExistingRun = 'ours' | 'unknown';

export interface AirflowApi {
  readonly name: string;
  /** Path (after the base URL) of the trigger endpoint for a DAG. */
  triggerPath(dagId: string): string;
  /** JSON body of the trigger request. */
  triggerBody(run: DagRunRequest): Record<string, unknown>;
  /** Path of the DAG details endpoint (used for is_paused). */
  dagPath(dagId: string): string;
  /** Whether the trigger's answer says a run exists; undefined when it is no conflict. */
  existingRun(status: number, body: string): ExistingRun | undefined;
  /**
   * The GET that looks our run up after an `unknown` conflict: the run itself
   * (200 = it exists, 404 = it does not), or, where the API has no such
   * endpoint, a list to search for `"run_id": "<ours>"` (`listed`), with
   * `direct`, a GET of the one run another API of the same server may
   * answer (the experimental API's Airflow 2 also serves /api/v1).
   */
  runLookup(
    dagId: string,
    dagRunId: string,
  ): {path: string; listed?: true; direct?: string};
}
