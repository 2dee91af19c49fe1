/**
 * The Airflow REST API variants: one small file each behind this interface,
 * chosen by the environment's `api`.
 */
import type { RunRequest } from './render';
import { apiV1 } from './api-v1';
import { apiV2 } from './api-v2';
import { apiExperimental } from './api-experimental';
import type { ApiName } from './config';

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

export function apiFor(name: ApiName): AirflowApi {
  return name === 'v1' ? apiV1 : name === 'v2' ? apiV2 : apiExperimental;
}
