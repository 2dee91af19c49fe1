/**
 * The compiled configuration's data types: the bottom layer every stage
 * reads (routing, auth, airflow, outcomes). Built by compile.ts from what
 * schema.ts accepts; nothing here imports a stage.
 */
import type {Matcher} from '../patterns/matcher';
import type {Template} from '../patterns/template';
import type {EventKind} from '../events/event';
import type {AuthConfig, UnmatchedPolicyName} from './schema';

export type {AuthConfig};

export type ApiName = 'v1' | 'v2' | 'experimental' | 'composer-cli';

export interface Environment {
  name: string;
  /** '' until resolved when the environment is named by `composer`. */
  url: string;
  composer?: string;
  api: ApiName | 'auto';
  auth: AuthConfig;
}

export interface FieldCondition {
  /** What the condition reads, for explanations: `name`, `metadata.source`, `json.order.id`. */
  field: string;
  get: (ctx: Record<string, unknown>) => unknown;
  matcher: Matcher;
}

export type ValueTemplate =
  | {kind: 'constant'; value: unknown}
  | {kind: 'template'; template: Template}
  | {kind: 'array'; items: ValueTemplate[]}
  | {kind: 'object'; entries: [string, ValueTemplate][]};

export interface Route {
  name: string;
  environment: string;
  types?: ReadonlySet<string>;
  conditions: FieldCondition[];
  /** The DAG to trigger; absent on an asset route. */
  dag?: Template;
  allowedDags?: ReadonlySet<string>;
  /** Instead of `dag`: an asset (dataset) event on this URI, with `extra` (routing/asset-event.ts). */
  asset?: {uri: Template; extra?: ValueTemplate};
  /** The run's logical date (routing/logical-date.ts), and optionally its data interval. */
  logicalDate?: Template;
  dataInterval?: {start: Template; end: Template};
  /** undefined: the default conf for the event kind. */
  conf?: ValueTemplate;
  note?: Template;
}

export interface RetryPolicy {
  /** Tries within one delivery, the first included. */
  attempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export interface LauncherConfig {
  environments: Map<string, Environment>;
  routes: Route[];
  maxEventAgeMs: number;
  requestTimeoutMs: number;
  functionTimeoutMs: number;
  maxConfBytes: number;
  retry: RetryPolicy;
  /** What an event no route matches becomes, per event kind. */
  unmatched: Record<EventKind, UnmatchedPolicyName>;
  /** gs://bucket/prefix/ for dead-letter records, when configured. */
  deadLetters?: {bucket: string; prefix: string};
  /** Push subscription -> topic, for pushes whose endpoint path has no topic. */
  subscriptionTopics: ReadonlyMap<string, string>;
  origin: string;
}

/**
 * Airflow's dag_id rule (airflow.utils.helpers.KEY_REGEX), 250 characters at
 * most, less `.` and `..`: Airflow accepts them, but in the API's URL they are
 * dot segments (`/dags/../dagRuns` is `/dagRuns`), so no call can reach them.
 */
export const DAG_ID = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,250}$/;
