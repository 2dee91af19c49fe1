/** auth mode `none`: no credentials; config validation allows it for loopback URLs only. */
import type {AirflowAuth} from './types';

export const noAuth: AirflowAuth = {
  mode: 'none',
  headers: async () => ({}),
  ready: () => ({}),
};
