/**
 * outcome: what one (event, route) attempt means, per the contract users rely on.
 *
 *   200/201                             triggered
 *   409, or the API's own "exists"      duplicate (delivered before; success, no new run)
 *   429, 5xx, timeout, network, token   retry (the platform redelivers)
 *   401/403/404/405                     retry while the event is young (IAM or a DAG can be fixed), then dead-letter
 *   other 4xx for a body we built       rejected (dead-lettered, never retried)
 *   a retry for an event past maxAge    expired (dead-lettered, not retried forever)
 */
import type {AirflowApi} from '../airflow/api';
import type {TriggerResult} from '../airflow/trigger';

export type OutcomeKind =
  'triggered' | 'duplicate' | 'retry' | 'rejected' | 'expired';

export interface Outcome {
  outcome: OutcomeKind;
  reason: string;
}

const OPERATOR_FIXABLE = new Set([401, 403, 404, 405]);

export function decideOutcome(
  result: TriggerResult,
  api: AirflowApi,
  age: {eventAgeMs: number; maxEventAgeMs: number},
): Outcome {
  const retry = (reason: string): Outcome =>
    age.eventAgeMs > age.maxEventAgeMs
      ? {
          outcome: 'expired',
          reason: `${reason}; event is ${Math.round(age.eventAgeMs / 1000)}s old, past maxEventAge ${Math.round(age.maxEventAgeMs / 1000)}s`,
        }
      : {outcome: 'retry', reason};

  if (result.kind === 'failure')
    return retry(`${result.failure}: ${result.message}`);
  const {status, body} = result;
  if (status === 200 || status === 201)
    return {outcome: 'triggered', reason: 'DAG run created'};
  if (status === 409 || api.isDuplicate?.(status, body)) {
    return {
      outcome: 'duplicate',
      reason:
        'a run with this dag_run_id exists: the event was delivered before',
    };
  }
  if (status === 429 || status >= 500)
    return retry(`Airflow answered ${status}`);
  if (OPERATOR_FIXABLE.has(status))
    return retry(`Airflow answered ${status}: ${HINTS[status]}`);
  return {
    outcome: 'rejected',
    reason: `Airflow refused the request with ${status}`,
  };
}

const HINTS: Record<number, string> = {
  401: 'not authenticated (check the auth mode and credentials)',
  403: "forbidden (the service account needs Composer User and Airflow's Op role)",
  404: 'not found (is the DAG deployed and parsed? is the API version right for this Airflow?)',
  405: 'method not allowed (is the API version right for this Airflow?)',
};
