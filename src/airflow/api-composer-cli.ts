/**
 * The outcome side of `api: composer-cli` (composer-cli.ts makes the
 * calls): a 409 is ours only when composer-cli.ts proved it from the CLI's
 * output. The REST paths are never used: the Airflow web server of such an
 * environment is out of the function's reach (no paused check either).
 */
import type {AirflowApi} from './api';
import {OUR_RUN_EXISTS} from './composer-cli';

function composerCli(major: 2 | 3): AirflowApi {
  return {
    name: major === 2 ? 'composer-cli-2' : 'composer-cli',
    triggerPath: () => '',
    triggerBody: () => ({}),
    dagPath: () => '',
    existingRun: (status, body) =>
      status === 409 && body.startsWith(OUR_RUN_EXISTS) ? 'ours' : undefined,
    runLookup: () => ({path: ''}),
  };
}

export const apiComposerCli = composerCli(3);
export const apiComposerCli2 = composerCli(2);
