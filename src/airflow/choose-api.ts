import type {ApiName} from '../config/types';
import type {AirflowApi} from './api';
import {apiExperimental} from './api-experimental';
import {apiV1, apiV1ExecutionDate} from './api-v1';
import {apiV2} from './api-v2';
import {apiComposerCli, apiComposerCli2} from './api-composer-cli';

/** `version` (Airflow's, e.g. 2.1.4) when known: Airflow before 2.2 names the logical date execution_date. */
export function apiFor(name: ApiName, version?: string): AirflowApi {
  if (name === 'v1')
    return version && /^2\.[01]\./.test(version) ? apiV1ExecutionDate : apiV1;
  if (name === 'composer-cli')
    return version?.startsWith('2.') ? apiComposerCli2 : apiComposerCli;
  return name === 'v2' ? apiV2 : apiExperimental;
}
