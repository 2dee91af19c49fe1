/**
 * What an asset route's attempt means (airflow/asset-events.ts did the
 * calls): the outcome contract of outcome.ts, with two answers of its own.
 *
 *   our key in a recent event of the asset  duplicate (delivered before)
 *   POST timed out, our key found after it  triggered (Airflow committed it late)
 *   no asset with this URI                  retry while young (declare it in a DAG), then expired
 *   200                                     triggered (the asset event was created)
 *   an Airflow with no asset-event API      rejected, saying which (asset-events.ts)
 *   anything else                           as for a DAG run (outcome.ts)
 */
import type {AirflowApi} from '../airflow/api';
import type {AssetEventResult} from '../airflow/asset-events';
import {
  decideOutcome,
  retryOrExpire,
  type EventAge,
  type Outcome,
} from './outcome';

/** No status means "a run exists" for an asset event: the look-up of our key did that. */
const NO_CONFLICT: Pick<AirflowApi, 'existingRun'> = {
  existingRun: () => undefined,
};

export function decideAssetOutcome(
  result: AssetEventResult,
  age: EventAge,
): Outcome {
  if (result.asset === 'existing')
    return {
      outcome: 'duplicate',
      reason: `GET ${result.path} found an event of this asset carrying this event's dag_launcher_event key: the event was delivered before`,
    };
  if (result.asset === 'created-late')
    return {
      outcome: 'triggered',
      reason: `asset event created: the POST got no answer within the request timeout, and GET ${result.path} found the event afterwards`,
    };
  if (result.asset === 'unknown-asset') {
    const reason = `${result.kind === 'response' ? result.body : 'unknown asset'} (GET/POST ${result.path}): an asset exists once a DAG that schedules on or produces it is parsed; deploy that DAG, or fix the route's asset.uri`;
    return retryOrExpire(reason, age);
  }
  const outcome = decideOutcome(result, NO_CONFLICT as AirflowApi, age);
  return outcome.outcome === 'triggered'
    ? {outcome: 'triggered', reason: 'asset event created'}
    : outcome;
}
