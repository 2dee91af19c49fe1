/**
 * Airflow 2 stable REST API: POST /api/v1/dags/{dag_id}/dagRuns.
 *
 * Airflow 2 answers 409 for a run with our dag_run_id ("DAGRun with DAG ID:
 * 'd' and DAGRun ID: 'r' already exists", said only when the existing run's
 * logical date differs from the request's, so it is that run) and also for
 * another run with the same logical date ("… DAGRun logical date: '…'
 * already exists"), which may or may not be ours: that one is looked up.
 */
import type {AirflowApi} from './api';

const OUR_RUN_ID = /DAGRun ID: '[^']*' already exists/;

export const apiV1: AirflowApi = {
  name: 'v1',
  triggerPath: dagId => `/api/v1/dags/${encodeURIComponent(dagId)}/dagRuns`,
  dagPath: dagId => `/api/v1/dags/${encodeURIComponent(dagId)}`,
  triggerBody: run => ({
    dag_run_id: run.dagRunId,
    conf: run.conf,
    ...(run.note !== undefined ? {note: run.note} : {}),
  }),
  existingRun: (status, body) =>
    status !== 409 ? undefined : OUR_RUN_ID.test(body) ? 'ours' : 'unknown',
  runLookup: (dagId, dagRunId) => ({
    path: `/api/v1/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(dagRunId)}`,
  }),
};
