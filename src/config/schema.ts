/**
 * The configuration file's schema. Shape only: cross-references, templates
 * and regexes are checked by `compile.ts`, which compiles this into what the
 * handler runs. Written with check.ts rather than a schema library: loading
 * and building a library's schemas cost ~50 ms of every cold start.
 */
import {
  array,
  before,
  boolean,
  described,
  jsonSchemaOf,
  literal,
  nullValue,
  number,
  oneOf,
  optional,
  record,
  refine,
  report,
  strictObject,
  string,
  tagged,
  union,
  unknown,
  withDefault,
  type Check,
  type Infer,
} from './check';
import {CLOUD_PLATFORM} from '../google/auth-client';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION_MESSAGE = 'expected a duration like 30s, 5m, 6h or 1d';

/** `30s`, `5m`, `6h`, `1d`, `250ms`, or a number of seconds, in milliseconds (0 included). */
function durationMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0)
    return Math.round(v * 1000);
  const m = typeof v === 'string' ? DURATION.exec(v) : null;
  return m ? Math.round(Number(m[1]) * UNIT_MS[m[2]!]!) : undefined;
}

/**
 * A duration in the config: parsed to milliseconds, at least 1 ms. Zero is
 * refused: a 0 ms timeout fails every call, a 0 s maxEventAge dead-letters
 * every retry, a 0 backoff retries in a busy loop.
 */
export const Duration: Check<number> = described(
  (v, at, problems) => {
    const ms = durationMs(v);
    if (ms === undefined) return report(problems, at, DURATION_MESSAGE);
    if (ms < 1)
      return report(
        problems,
        at,
        `${JSON.stringify(v)} is no time at all; ${DURATION_MESSAGE} (at least 1ms)`,
      );
    return ms;
  },
  () => ({
    anyOf: [
      {type: 'number', exclusiveMinimum: 0},
      // DURATION, less the zeros (0s, 0.0ms) refused above.
      {
        type: 'string',
        pattern: `^(?!0*(?:\\.0*)?\\s*(?:ms|s|m|h|d)$)${DURATION.source.slice(1)}`,
      },
    ],
    description: `${DURATION_MESSAGE}, or a number of seconds`,
  }),
);

/** Parses a duration outside a config file (env vars, where 0 may mean "always"); undefined when it is not one. */
export function parseDuration(value: string): number | undefined {
  return durationMs(value);
}

const text = string();
const nonEmpty = string({min: 1});

const StringMatcher = union<
  | string
  | string[]
  | {glob: string}
  | {regex: string}
  | {prefix: string}
  | {suffix: string}
  | {exists: boolean}
>(
  [
    text,
    array(text, {min: 1}),
    strictObject({glob: nonEmpty}),
    strictObject({regex: nonEmpty}),
    strictObject({prefix: text}),
    strictObject({suffix: text}),
    strictObject({exists: boolean}),
  ],
  'expected a string, a list of strings, or one of {glob}, {regex}, {prefix}, {suffix}, {exists}',
);

const ValueMatcher = union<
  Infer<typeof StringMatcher> | number | boolean | null
>(
  [StringMatcher, number(), boolean, nullValue],
  'expected a string, number, true/false, null, a list of strings, or one of {glob}, {regex}, {prefix}, {suffix}, {exists}',
);

export const MatchSchema = strictObject({
  /** CloudEvent type(s); `storage` and `pubsub` are shorthands. */
  type: optional(
    union<string | string[]>(
      [text, array(text, {min: 1})],
      'expected an event type or a list of them',
    ),
  ),
  bucket: optional(StringMatcher),
  name: optional(StringMatcher),
  contentType: optional(StringMatcher),
  metadata: optional(record(text, StringMatcher)),
  /** Topic id (`my-topic`) or full name (`projects/p/topics/my-topic`). */
  topic: optional(StringMatcher),
  /** Push subscription id or full name (`projects/p/subscriptions/s`). */
  subscription: optional(StringMatcher),
  attributes: optional(record(text, StringMatcher)),
  /** Fields of the message body parsed as JSON, by dotted path (`order.region`). */
  json: optional(record(text, ValueMatcher)),
});

/** Env var names only: passwords come from the environment (gcloud --set-secrets), never the file. */
const EnvVarName = string({
  regex: /^[A-Za-z_][A-Za-z0-9_]*$/,
  message: 'expected an environment variable name',
});

const GoogleAuth = strictObject({
  mode: literal('google'),
  /** OAuth scopes for the access token; Composer needs cloud-platform. */
  scopes: withDefault(array(text, {min: 1}), () => [CLOUD_PLATFORM]),
});

const IapAuth = strictObject({
  mode: literal('iap'),
  /** The OAuth client id of the IAP-protected web server: the ID token's audience. */
  audience: nonEmpty,
});

const BasicAuth = strictObject({
  mode: literal('basic'),
  username: nonEmpty,
  passwordEnv: withDefault(EnvVarName, () => 'AIRFLOW_PASSWORD'),
});

const AirflowJwtAuth = strictObject({
  mode: literal('airflow-jwt'),
  username: nonEmpty,
  passwordEnv: withDefault(EnvVarName, () => 'AIRFLOW_PASSWORD'),
});

const NoAuth = strictObject({mode: literal('none')});

export type AuthConfig =
  | Infer<typeof GoogleAuth>
  | Infer<typeof IapAuth>
  | Infer<typeof BasicAuth>
  | Infer<typeof AirflowJwtAuth>
  | Infer<typeof NoAuth>;

/** A mode name alone (`auth: google`) or an object with `mode`. */
const AUTH_MODES = {
  google: GoogleAuth,
  iap: IapAuth,
  basic: BasicAuth,
  'airflow-jwt': AirflowJwtAuth,
  none: NoAuth,
} as Record<string, Check<AuthConfig>>;
const AuthObject = tagged<AuthConfig>('mode', AUTH_MODES);
export const AuthSchema: Check<AuthConfig> = before(
  v => (typeof v === 'string' ? {mode: v} : v),
  AuthObject,
  () => ({
    anyOf: [
      // A name alone is the modes that need nothing else.
      {
        enum: Object.keys(AUTH_MODES).filter(
          m =>
            (jsonSchemaOf(AUTH_MODES[m]!).required as string[]).join() ===
            'mode',
        ),
      },
      jsonSchemaOf(AuthObject),
    ],
  }),
);

/** `projects/P/locations/L/environments/E`: a Cloud Composer environment, resolved at cold start. */
export const COMPOSER_NAME =
  /^projects\/[^/]+\/locations\/[^/]+\/environments\/[^/]+$/;

const HttpUrl: Check<string> = refine(
  text,
  v => {
    try {
      const u = new URL(v);
      return (
        (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== ''
      );
    } catch {
      return false;
    }
  },
  'expected an http(s) URL',
  () => ({pattern: '^[hH][tT][tT][pP][sS]?://[^/?#:@]'}),
);

export const EnvironmentSchema = refine(
  refine(
    strictObject({
      /** Airflow web server base URL, e.g. the Composer environment's airflowUri. */
      url: optional(HttpUrl),
      /** Or a Composer environment by name; its airflowUri and Airflow version come from the Composer API. */
      composer: optional(
        string({
          regex: COMPOSER_NAME,
          message:
            'expected projects/PROJECT/locations/REGION/environments/NAME',
        }),
      ),
      /**
       * `v1` = Airflow 2 stable API (/api/v1), `v2` = Airflow 3 (/api/v2), `experimental` = Airflow 1.10
       * contract, `auto` = ask the server (or Composer's image version) once per instance,
       * `composer-cli` = `dags trigger` through the Composer API (Private IP / VPC-SC environments).
       */
      api: withDefault(
        oneOf(['v1', 'v2', 'experimental', 'auto', 'composer-cli']),
        () => 'auto' as const,
      ),
      auth: withDefault(AuthSchema, (): AuthConfig => ({
        mode: 'google',
        scopes: [CLOUD_PLATFORM],
      })),
    }),
    e => (e.url === undefined) !== (e.composer === undefined),
    'give exactly one of url and composer',
    () => ({oneOf: [{required: ['url']}, {required: ['composer']}]}),
  ),
  e => e.api !== 'composer-cli' || e.composer !== undefined,
  'api: composer-cli runs Airflow commands through the Composer API: name the environment with composer: projects/P/locations/L/environments/E instead of url',
  () => ({
    if: {properties: {api: {const: 'composer-cli'}}, required: ['api']},
    then: {required: ['composer']},
  }),
);

export const RouteSchema = strictObject({
  name: string({
    regex: /^[A-Za-z0-9_.-]{1,64}$/,
    message: 'expected a route name: 1-64 characters of A-Z a-z 0-9 _ . -',
  }),
  description: optional(text),
  /** Optional when exactly one environment is configured. */
  environment: optional(text),
  match: withDefault<Infer<typeof MatchSchema>>(MatchSchema, () => ({})),
  /** A DAG id, or a template such as `{{ json.dag }}` (then `allowedDags` is required). Exactly one of dag and asset. */
  dag: optional(nonEmpty),
  /** Instead of dag: create an asset (dataset) event; uri and the strings in extra may hold templates. */
  asset: optional(strictObject({uri: nonEmpty, extra: optional(unknown)})),
  /** The run's logical date: a template giving ISO 8601 (date-only = midnight UTC; no offset = UTC). */
  logicalDate: optional(nonEmpty),
  /** The run's data interval (both ends, same forms as logicalDate); needs logicalDate. */
  dataInterval: optional(strictObject({start: nonEmpty, end: nonEmpty})),
  allowedDags: optional(array(nonEmpty, {min: 1})),
  /** The run's conf: any JSON; strings may hold templates. Default: the event's main fields. */
  conf: optional(unknown),
  /** Airflow's free-text note on the run (template allowed). */
  note: optional(text),
});

const Retry = strictObject({
  attempts: withDefault(number({int: true, min: 1, max: 10}), () => 4),
  initialBackoff: withDefault(Duration, () => 250),
  maxBackoff: withDefault(Duration, () => 8_000),
});

const UnmatchedPolicy = oneOf(['ack', 'deadLetter']);
export type UnmatchedPolicyName = 'ack' | 'deadLetter';

export const ConfigSchema = strictObject({
  environments: record(
    string({
      regex: /^[A-Za-z0-9_.-]+$/,
      message: 'expected an environment name of A-Z a-z 0-9 _ . -',
    }),
    EnvironmentSchema,
  ),
  routes: array(RouteSchema, {min: 1}),
  /** Events older than this are dead-lettered instead of retried. Keep it below the trigger's retention (24h). */
  maxEventAge: withDefault(Duration, () => 6 * 3_600_000),
  /** Per-request timeout for Airflow calls; must leave room inside the function's timeout. */
  requestTimeout: withDefault(Duration, () => 30_000),
  /** The deployed function's timeout (gcloud --timeout); requestTimeout must be below it. */
  functionTimeout: withDefault(Duration, () => 60_000),
  /** Largest rendered conf, in bytes of JSON, before an event is rejected. */
  maxConfBytes: withDefault(
    number({int: true, positive: true}),
    () => 64 * 1024,
  ),
  /** Retries inside one delivery for 429/502/503/504, connection resets and token failures; then the platform redelivers. */
  retry: withDefault(Retry, () => ({
    attempts: 4,
    initialBackoff: 250,
    maxBackoff: 8_000,
  })),
  /**
   * Push subscriptions whose endpoint path does not name the topic: full
   * subscription name -> full topic name (`projects/P/topics/T`).
   */
  subscriptionTopics: optional(
    record(
      string({
        regex: /^projects\/[^/]+\/subscriptions\/[^/]+$/,
        message: 'expected a subscription name projects/P/subscriptions/S',
      }),
      string({
        regex: /^projects\/[^/]+\/topics\/[^/]+$/,
        message: 'expected a topic name projects/P/topics/T',
      }),
    ),
  ),
  /**
   * An event no route matches: `ack` (an INFO line) or `deadLetter` (a record
   * and an ERROR line saying why each route did not match). One policy, or
   * one per kind; default `{storage: ack, pubsub: deadLetter}`.
   */
  unmatched: optional(
    union<
      | UnmatchedPolicyName
      | {storage?: UnmatchedPolicyName; pubsub?: UnmatchedPolicyName}
    >(
      [
        UnmatchedPolicy,
        strictObject({
          storage: optional(UnmatchedPolicy),
          pubsub: optional(UnmatchedPolicy),
        }),
      ],
      'expected ack or deadLetter, or {storage: ack|deadLetter, pubsub: ack|deadLetter}',
    ),
  ),
  /** Where rejected and expired events are kept: `gs://bucket/prefix/`. Without it they are only in the ERROR log line. */
  deadLetters: optional(
    string({
      regex: /^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/.*)?$/,
      message:
        'expected gs://bucket/prefix/ (a Cloud Storage bucket name, then an optional prefix)',
    }),
  ),
});

export type RawConfig = Infer<typeof ConfigSchema>;
export type RawRoute = Infer<typeof RouteSchema>;
export type RawEnvironment = Infer<typeof EnvironmentSchema>;
export type MatchConfig = Infer<typeof MatchSchema>;
