import {compileConfig} from '../../src/config/compile';
import type {LauncherConfig} from '../../src/config/types';

/** A config with one local v2 environment and the given routes. */
export function configWith(
  routes: unknown[],
  extra: Record<string, unknown> = {},
): LauncherConfig {
  return compileConfig(
    {
      environments: {local: {url: 'http://127.0.0.1:8080', api: 'v2'}},
      routes,
      ...extra,
    },
    'test',
  );
}
