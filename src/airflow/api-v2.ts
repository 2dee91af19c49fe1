/**
 * Airflow 3 public REST API: POST /api/v2/dags/{dag_id}/dagRuns.
 * `logical_date` is required since 3.0 and may be null (a run "now");
 * the body model forbids extra fields, so nothing else is sent.
 *
 * Airflow 3's 409 is its generic unique-constraint answer
 * (`{"detail": {"reason": "Unique constraint violation", "statement":
 * "hidden", …}}`): it does not say which constraint, so the run is always
 * looked up.
 */
import type {AirflowApi} from './api';

export const apiV2: AirflowApi = {
  name: 'v2',
  triggerPath: dagId => `/api/v2/dags/${encodeURIComponent(dagId)}/dagRuns`,
  dagPath: dagId => `/api/v2/dags/${encodeURIComponent(dagId)}`,
  triggerBody: run => ({
    dag_run_id: run.dagRunId,
    logical_date: run.logicalDate ?? null,
    ...(run.dataInterval && {
      data_interval_start: run.dataInterval.start,
      data_interval_end: run.dataInterval.end,
    }),
    conf: run.conf,
    ...(run.note !== undefined ? {note: run.note} : {}),
  }),
  existingRun: status => (status === 409 ? 'unknown' : undefined),
  runLookup: (dagId, dagRunId) => ({
    path: `/api/v2/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(dagRunId)}`,
  }),
};
