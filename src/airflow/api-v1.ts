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

export const apiV1: AirflowApi = v1('logical_date');

/**
 * Airflow 2.0 and 2.1 call the logical date `execution_date` (2.2 renamed
 * it and still reads the old key); discover.ts picks this variant from the
 * environment's version.
 */
export const apiV1ExecutionDate: AirflowApi = v1('execution_date');

function v1(dateKey: 'logical_date' | 'execution_date'): AirflowApi {
  return {
    name: 'v1',
    triggerPath: dagId => `/api/v1/dags/${encodeURIComponent(dagId)}/dagRuns`,
    dagPath: dagId => `/api/v1/dags/${encodeURIComponent(dagId)}`,
    triggerBody: run => ({
      dag_run_id: run.dagRunId,
      ...(run.logicalDate !== undefined && {[dateKey]: run.logicalDate}),
      ...(run.dataInterval && {
        data_interval_start: run.dataInterval.start,
        data_interval_end: run.dataInterval.end,
      }),
      conf: run.conf,
      ...(run.note !== undefined ? {note: run.note} : {}),
    }),
    existingRun: (status, body) =>
      status !== 409 ? undefined : OUR_RUN_ID.test(body) ? 'ours' : 'unknown',
    runLookup: (dagId, dagRunId) => ({
      path: `/api/v1/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(dagRunId)}`,
    }),
  };
}
