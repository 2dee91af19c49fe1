/**
 * The configuration file's schema (zod). Shape only: cross-references,
 * templates and regexes are checked by `config.ts`, which compiles this into
 * what the handler runs.
 */
import { z } from 'zod';
import { CLOUD_PLATFORM } from './google';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `5m`, `6h`, `1d`, `250ms`, or a number of seconds. Parsed to milliseconds. */
export const Duration = z
  .union([z.number().positive(), z.string().regex(DURATION, 'expected a duration like 30s, 5m, 6h or 1d')])
  .transform((v) => {
    if (typeof v === 'number') return Math.round(v * 1000);
    const m = DURATION.exec(v)!;
    return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
  });

const StringMatcher = z.union([
  z.string(),
  z.array(z.string()).min(1),
  z.strictObject({ glob: z.string().min(1) }),
  z.strictObject({ regex: z.string().min(1) }),
  z.strictObject({ prefix: z.string() }),
  z.strictObject({ suffix: z.string() }),
  z.strictObject({ exists: z.boolean() }),
], { error: 'expected a string, a list of strings, or one of {glob}, {regex}, {prefix}, {suffix}, {exists}' });

const ValueMatcher = z.union([StringMatcher, z.number(), z.boolean(), z.null()]);

export const MatchSchema = z.strictObject({
  /** CloudEvent type(s); `storage` and `pubsub` are shorthands. */
  type: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  bucket: StringMatcher.optional(),
  name: StringMatcher.optional(),
  contentType: StringMatcher.optional(),
  metadata: z.record(z.string(), StringMatcher).optional(),
  /** Topic id (`my-topic`) or full name (`projects/p/topics/my-topic`). */
  topic: StringMatcher.optional(),
  attributes: z.record(z.string(), StringMatcher).optional(),
  /** Fields of the message body parsed as JSON, by dotted path (`order.region`). */
  json: z.record(z.string(), ValueMatcher).optional(),
});

const GoogleAuth = z.strictObject({
  mode: z.literal('google'),
  /** OAuth scopes for the access token; Composer needs cloud-platform. */
  scopes: z.array(z.string()).min(1).default([CLOUD_PLATFORM]),
});

/** Env var names only: passwords come from the environment (gcloud --set-secrets), never the file. */
const EnvVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

const IapAuth = z.strictObject({
  mode: z.literal('iap'),
  /** The OAuth client id of the IAP-protected web server: the ID token's audience. */
  audience: z.string().min(1),
});

const BasicAuth = z.strictObject({
  mode: z.literal('basic'),
  username: z.string().min(1),
  passwordEnv: EnvVarName.default('AIRFLOW_PASSWORD'),
});

const AirflowJwtAuth = z.strictObject({
  mode: z.literal('airflow-jwt'),
  username: z.string().min(1),
  passwordEnv: EnvVarName.default('AIRFLOW_PASSWORD'),
});

const NoAuth = z.strictObject({ mode: z.literal('none') });

export const AuthSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { mode: v } : v),
  z.discriminatedUnion('mode', [GoogleAuth, IapAuth, BasicAuth, AirflowJwtAuth, NoAuth]),
);

/** `projects/P/locations/L/environments/E`: a Cloud Composer environment, resolved at cold start. */
export const COMPOSER_NAME = /^projects\/[^/]+\/locations\/[^/]+\/environments\/[^/]+$/;

export const EnvironmentSchema = z
  .strictObject({
    /** Airflow web server base URL, e.g. the Composer environment's airflowUri. */
    url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    /** Or a Composer environment by name; its airflowUri and Airflow version come from the Composer API. */
    composer: z.string().regex(COMPOSER_NAME, 'expected projects/PROJECT/locations/REGION/environments/NAME').optional(),
    /**
     * `v1` = Airflow 2 stable API (/api/v1), `v2` = Airflow 3 (/api/v2), `experimental` = Airflow 1.10
     * contract, `auto` = ask the server (or Composer's image version) once per instance.
     */
    api: z.enum(['v1', 'v2', 'experimental', 'auto']).default('auto'),
    auth: AuthSchema.default({ mode: 'google', scopes: [CLOUD_PLATFORM] }),
  })
  .refine((e) => (e.url === undefined) !== (e.composer === undefined), { message: 'give exactly one of url and composer' });

export const RouteSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'route names are 1-64 characters of A-Z a-z 0-9 _ . -'),
  description: z.string().optional(),
  /** Optional when exactly one environment is configured. */
  environment: z.string().optional(),
  match: MatchSchema.default({}),
  /** A DAG id, or a template such as `{{ json.dag }}` (then `allowedDags` is required). */
  dag: z.string().min(1),
  allowedDags: z.array(z.string().min(1)).min(1).optional(),
  /** The run's conf: any JSON; strings may hold templates. Default: the event's main fields. */
  conf: z.unknown().optional(),
  /** Airflow's free-text note on the run (template allowed). */
  note: z.string().optional(),
});

export const ConfigSchema = z.strictObject({
  environments: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'environment names are A-Z a-z 0-9 _ . -'), EnvironmentSchema),
  routes: z.array(RouteSchema).min(1),
  /** Events older than this are dead-lettered instead of retried. Keep it below the trigger's retention (24h). */
  maxEventAge: Duration.default(6 * 3_600_000),
  /** Per-request timeout for Airflow calls; must leave room inside the function's timeout. */
  requestTimeout: Duration.default(30_000),
  /** The deployed function's timeout (gcloud --timeout); requestTimeout must be below it. */
  functionTimeout: Duration.default(60_000),
  /** Largest rendered conf, in bytes of JSON, before an event is rejected. */
  maxConfBytes: z.number().int().positive().default(64 * 1024),
  /** Retries inside one delivery for 429/502/503/504, connection resets and token failures; then the platform redelivers. */
  retry: z
    .strictObject({
      attempts: z.number().int().min(1).max(10).default(4),
      initialBackoff: Duration.default(250),
      maxBackoff: Duration.default(8_000),
    })
    .default({ attempts: 4, initialBackoff: 250, maxBackoff: 8_000 }),
  /** Where rejected and expired events are kept: `gs://bucket/prefix/`. Without it they are only in the ERROR log line. */
  deadLetters: z
    .string()
    .regex(/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/.*)?$/, 'expected gs://bucket/prefix/ (a Cloud Storage bucket name, then an optional prefix)')
    .optional(),
});

export type RawConfig = z.infer<typeof ConfigSchema>;
export type RawRoute = z.infer<typeof RouteSchema>;
export type RawEnvironment = z.infer<typeof EnvironmentSchema>;
export type AuthConfig = z.infer<typeof AuthSchema>;
export type MatchConfig = z.infer<typeof MatchSchema>;

/** Formats zod issues as `path: message` lines. */
export function issuesToProblems(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}
