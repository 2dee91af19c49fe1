/** Airflow 2 stable REST API: POST /api/v1/dags/{dag_id}/dagRuns. */
import type {AirflowApi} from './api';

export const apiV1: AirflowApi = {
  name: 'v1',
  triggerPath: dagId => `/api/v1/dags/${encodeURIComponent(dagId)}/dagRuns`,
  dagPath: dagId => `/api/v1/dags/${encodeURIComponent(dagId)}`,
  triggerBody: run => ({
    dag_run_id: run.dagRunId,
    conf: run.conf,
    ...(run.note !== undefined ? {note: run.note} : {}),
  }),
};
