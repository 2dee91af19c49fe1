import type {ApiName} from '../config/types';
import type {AirflowApi} from './api';
import {apiExperimental} from './api-experimental';
import {apiV1} from './api-v1';
import {apiV2} from './api-v2';

export function apiFor(name: ApiName): AirflowApi {
  return name === 'v1' ? apiV1 : name === 'v2' ? apiV2 : apiExperimental;
}
