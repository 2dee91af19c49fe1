/**
 * The experimental API: POST /api/experimental/dags/{dag_id}/dag_runs, the
 * Airflow 1.10 contract (still served by Airflow 2 with
 * `[api] enable_experimental_api = True`).
 *
 * Unless the body says `replace_microseconds: "false"`, Airflow truncates
 * the execution date to the second, and every run triggered in the same
 * second collides with the first: one run and "already exists" for the rest.
 * An existing run is a 400 "A DAG Run already exists for DAG d at <date>
 * with run id <ours>" whether the run found has our run id or only the same
 * execution date, so it is always looked up. This API has no GET of one run
 * by id: the look-up reads the DAG's run list (dag_runs) and searches it.
 */
import type {AirflowApi} from './api';

export const apiExperimental: AirflowApi = {
  name: 'experimental',
  triggerPath: dagId =>
    `/api/experimental/dags/${encodeURIComponent(dagId)}/dag_runs`,
  dagPath: dagId =>
    `/api/experimental/dags/${encodeURIComponent(dagId)}/paused`,
  triggerBody: run => ({
    run_id: run.dagRunId,
    ...(run.logicalDate !== undefined && {execution_date: run.logicalDate}),
    conf: run.conf,
    replace_microseconds: 'false',
  }),
  existingRun: (status, body) =>
    (status === 400 || status === 409) && /already exists/i.test(body)
      ? 'unknown'
      : undefined,
  runLookup: (dagId, dagRunId) => ({
    path: `/api/experimental/dags/${encodeURIComponent(dagId)}/dag_runs`,
    listed: true,
    // Airflow 2 serves the stable API beside the experimental one, behind the same auth backends.
    direct: `/api/v1/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(dagRunId)}`,
  }),
};
