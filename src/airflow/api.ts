/**
 * The Airflow REST API variants: one small file each (api-v1, api-v2,
 * api-experimental) behind this interface; choose-api.ts picks one by the
 * environment's `api`.
 */
import type {RunRequest} from '../routing/render';

export interface AirflowApi {
  readonly name: string;
  /** Path (after the base URL) of the trigger endpoint for a DAG. */
  triggerPath(dagId: string): string;
  /** JSON body of the trigger request. */
  triggerBody(run: RunRequest): Record<string, unknown>;
  /** Path of the DAG details endpoint (used for is_paused). */
  dagPath(dagId: string): string;
  /** True when a non-409 response still means "this run already exists". */
  isDuplicate?(status: number, body: string): boolean;
}
