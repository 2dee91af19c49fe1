/**
 * The experimental API: POST /api/experimental/dags/{dag_id}/dag_runs, the
 * Airflow 1.10 contract (still served by Airflow 2 with
 * `[api] enable_experimental_api = True`). An existing run id is a 400 with
 * "already exists" here, not a 409.
 */
import type {AirflowApi} from './api';

export const apiExperimental: AirflowApi = {
  name: 'experimental',
  triggerPath: dagId =>
    `/api/experimental/dags/${encodeURIComponent(dagId)}/dag_runs`,
  dagPath: dagId =>
    `/api/experimental/dags/${encodeURIComponent(dagId)}/paused`,
  triggerBody: run => ({run_id: run.dagRunId, conf: run.conf}),
  isDuplicate: (status, body) => status === 400 && /already exists/i.test(body),
};
