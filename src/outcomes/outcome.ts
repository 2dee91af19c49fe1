/**
 * outcome: what one (event, route) attempt means, per the contract users rely on.
 *
 *   200/201                             triggered
 *   "exists" naming our dag_run_id,     duplicate (delivered before; success, no new run)
 *     or a conflict after which a GET found our run
 *   a conflict, and our run is absent   rejected (another run holds that logical date)
 *   a conflict, and the GET failed      retry (then expired)
 *   429, 5xx, timeout, network, token   retry (the platform redelivers)
 *   401/403/404/405, DAG import errors  retry while the event is young (IAM or a DAG can be fixed), then dead-letter
 *   other 4xx for a body we built       rejected (dead-lettered, never retried)
 *   what this Airflow cannot take       rejected (asset events before Airflow 2.9)
 *   a retry for an event past maxAge    expired (dead-lettered, not retried forever)
 *
 * Pure: the look-up of our run after an ambiguous conflict is done by the
 * caller (airflow/lookup-run.ts) when `needsRunLookup` says so, and passed in.
 */
import type {AirflowApi} from '../airflow/api';
import type {RunLookup} from '../airflow/lookup-run';
import type {TriggerResult} from '../airflow/trigger';

export type OutcomeKind =
  'triggered' | 'duplicate' | 'retry' | 'rejected' | 'expired';

export interface Outcome {
  outcome: OutcomeKind;
  reason: string;
}

const OPERATOR_FIXABLE = new Set([401, 403, 404, 405]);

/**
 * Airflow 2 (v1, 400): "DAG with dag_id: 'x' has import errors"; Airflow 3
 * (v2, 400): "Dag with dag_id: 'x' has import errors and cannot be
 * triggered". Usually a deploy in progress: the next parse may fix it.
 */
const IMPORT_ERRORS = /dag_id: '[^']*' has import errors/i;

/** True when the trigger's answer says some run exists without saying it is ours: look our run up first. */
export function needsRunLookup(
  result: TriggerResult,
  api: AirflowApi,
): boolean {
  return (
    result.kind === 'response' &&
    api.existingRun(result.status, result.body) === 'unknown'
  );
}

/** How old the event is, and how old it may get before a retry becomes `expired`. */
export interface EventAge {
  eventAgeMs: number;
  maxEventAgeMs: number;
  /** The event has no time: its age cannot be told, so nothing is left for a redelivery. */
  timeless?: boolean;
}

/** A retry while the event is young; `expired` past maxEventAge, or at once for an event without a time. */
export function retryOrExpire(reason: string, age: EventAge): Outcome {
  if (age.timeless)
    return {
      outcome: 'expired',
      reason: `${reason}; the event carries no time, so its age cannot be told and a redelivery could loop forever: dead-lettered (replay it once fixed)`,
    };
  return age.eventAgeMs > age.maxEventAgeMs
    ? {
        outcome: 'expired',
        reason: `${reason}; event is ${Math.round(age.eventAgeMs / 1000)}s old, past maxEventAge ${Math.round(age.maxEventAgeMs / 1000)}s`,
      }
    : {outcome: 'retry', reason};
}

export function decideOutcome(
  result: TriggerResult,
  api: AirflowApi,
  age: EventAge,
  lookup?: RunLookup,
): Outcome {
  const retry = (reason: string): Outcome => retryOrExpire(reason, age);

  if (result.kind === 'failure')
    return result.failure === 'unsupported'
      ? {outcome: 'rejected', reason: result.message}
      : retry(`${result.failure}: ${result.message}`);
  const {status, body} = result;
  if (status === 200 || status === 201)
    return {outcome: 'triggered', reason: 'DAG run created'};
  const existing = api.existingRun(status, body);
  if (existing === 'ours')
    return {
      outcome: 'duplicate',
      reason: `Airflow answered ${status}: a run with this dag_run_id exists; the event was delivered before`,
    };
  if (existing === 'unknown') return afterLookup(status, lookup, retry);
  if (status === 429 || status >= 500)
    return retry(`Airflow answered ${status}`);
  if (OPERATOR_FIXABLE.has(status))
    return retry(`Airflow answered ${status}: ${HINTS[status]}`);
  if (status === 400 && IMPORT_ERRORS.test(body))
    return retry(
      'Airflow answered 400: the DAG has import errors (a deploy in progress? fix the DAG file; the run is created once it parses)',
    );
  return {
    outcome: 'rejected',
    reason: `Airflow refused the request with ${status}`,
  };
}

function afterLookup(
  status: number,
  lookup: RunLookup | undefined,
  retry: (reason: string) => Outcome,
): Outcome {
  const conflict = `Airflow answered ${status}: a run already exists`;
  if (!lookup) return retry(`${conflict}, and whose it is was not looked up`);
  if (lookup.kind === 'found')
    return {
      outcome: 'duplicate',
      reason: `${conflict}, and GET ${lookup.path} found the run with this dag_run_id: the event was delivered before`,
    };
  if (lookup.kind === 'failed')
    return retry(
      `${conflict}; looking up the run with this dag_run_id failed (${lookup.message})`,
    );
  return {
    outcome: 'rejected',
    reason: `${conflict}, but it is not ours: GET ${lookup.path} has no run with this dag_run_id (answered ${lookup.status}), so another run holds the same logical date. Replay the dead letter to trigger it`,
  };
}

const HINTS: Record<number, string> = {
  401: 'not authenticated (check the auth mode and credentials)',
  403: "forbidden (the service account needs Composer User and Airflow's Op role)",
  404: 'not found (is the DAG deployed and parsed? is the API version right for this Airflow?)',
  405: 'method not allowed (is the API version right for this Airflow?)',
};
