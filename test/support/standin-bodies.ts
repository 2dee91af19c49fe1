/**
 * The Airflow stand-in's answers as Airflow writes them (Airflow 2.11's
 * connexion API, Airflow 3.3's FastAPI one), complete enough to pass the
 * response schemas of the spec the stand-in checks them against, and the one
 * adjustment that spec needs before ajv compiles it.
 */
import type {StoredRun} from './airflow-standin';

/**
 * Airflow 2's spec writes `nullable: true` beside a `$ref` or a `oneOf`
 * (OpenAPI 3.0 allows it, ajv refuses a `nullable` without `type`): the same
 * schema as `anyOf: [schema, null]`, so the response schemas that use it
 * (DAGDetail, ScheduleInterval) compile.
 */
export function nullableWithoutType(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableWithoutType);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = nullableWithoutType(v);
  if (out.nullable !== true || 'type' in out) return out;
  const {description, readOnly, ...schema} = out;
  delete schema.nullable;
  return {
    ...(description !== undefined && {description}),
    ...(readOnly !== undefined && {readOnly}),
    anyOf: [schema, {type: 'null'}],
  };
}

/** A DAG run as Airflow answers it: v1 DAGRun, v2 DAGRunResponse (every required field). */
export function runBody(
  api: 'v1' | 'v2',
  run: StoredRun,
): Record<string, unknown> {
  const common = {
    ...run,
    state: 'queued',
    run_type: 'manual',
    start_date: null,
    end_date: null,
  };
  if (api === 'v1') return common;
  const now = new Date().toISOString();
  return {
    ...common,
    queued_at: now,
    duration: null,
    data_interval_start: run.logical_date,
    data_interval_end: run.logical_date,
    run_after: run.logical_date ?? now,
    last_scheduling_decision: null,
    triggered_by: 'rest_api',
    triggering_user_name: 'admin',
    dag_versions: [],
    bundle_version: null,
    dag_display_name: run.dag_id,
    partition_key: null,
    partition_date: null,
  };
}

/** A DAG as Airflow answers GET of it: v1 the fields the launcher reads; v2 DAGResponse, every field required. */
export function dagBody(
  api: 'v1' | 'v2',
  dagId: string,
  paused: boolean,
): Record<string, unknown> {
  const dag = {dag_id: dagId, is_paused: paused};
  if (api === 'v1') return dag;
  return {
    ...dag,
    dag_display_name: dagId,
    is_stale: false,
    last_parsed_time: null,
    last_parse_duration: null,
    last_expired: null,
    bundle_name: 'dags-folder',
    bundle_version: null,
    relative_fileloc: `${dagId}.py`,
    fileloc: `/dags/${dagId}.py`,
    description: null,
    timetable_summary: null,
    timetable_description: 'Never, external triggers only',
    timetable_partitioned: false,
    timetable_periodic: false,
    tags: [],
    max_active_tasks: 16,
    max_active_runs: 16,
    max_consecutive_failed_dag_runs: 0,
    has_task_concurrency_limits: false,
    has_import_errors: false,
    next_dagrun_logical_date: null,
    next_dagrun_data_interval_start: null,
    next_dagrun_data_interval_end: null,
    next_dagrun_run_after: null,
    allowed_run_types: null,
    owners: ['airflow'],
    is_backfillable: false,
    file_token: 'standin',
  };
}

/** Airflow's 404 body: v2 a detail; v1 the connexion problem document. */
export function notFoundBody(
  api: 'v1' | 'v2',
  detail: string,
  title: string,
): Record<string, unknown> {
  return api === 'v2'
    ? {detail}
    : {
        detail,
        status: 404,
        title,
        type: 'https://airflow.apache.org/docs/apache-airflow/2.11.2/stable-rest-api-ref.html#section/Errors/NotFound',
      };
}
