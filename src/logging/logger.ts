/**
 * The function's logger: pino writing Google Cloud Logging's structured JSON
 * (https://cloud.google.com/logging/docs/structured-logging): `severity`,
 * `message`, `timestamp` as seconds/nanos, `serviceContext`, trace
 * correlation (`logging.googleapis.com/trace`, `spanId`, `trace_sampled`),
 * `stack_trace` for errors, and a monotonic `insertId` that keeps lines of
 * the same millisecond in order. Written here rather than taken from
 * @google-cloud/pino-logging-gcp-config, whose dependency on the whole
 * Cloud Logging client cost a fifth of a second of every cold start.
 * Credential-bearing keys are redacted in case an error object drags a
 * request along, and every credential the instance knows is scrubbed from
 * each line.
 */
import pino, {type Logger} from 'pino';
import {VERSION} from '../core/version';
import {scrubSecrets} from './secrets';
import {boundLine} from './line-limit';
import {metadataGet} from '../google/metadata';

export type {Logger};

/**
 * Keys whose values never reach a log line, at any depth (case-insensitive):
 * where a credential sits when an error object drags a request along.
 * Matched by key in the line formatter rather than by pino's path redaction,
 * whose wildcard paths walked and cloned every line (a tenth of the CPU per
 * event under load).
 */
export const REDACTED_KEYS = [
  'authorization',
  'proxy-authorization',
  'password',
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'headers',
  'cookie',
  'set-cookie',
];
const REDACTED = new RegExp(`^(?:${REDACTED_KEYS.join('|')})$`, 'i');
const REDACT_DEPTH = 8;

/** `value` with every REDACTED_KEYS entry replaced; the same object when there is nothing to replace (never mutated). */
export function redactKeys(value: unknown, depth = REDACT_DEPTH): unknown {
  if (value === null || typeof value !== 'object' || depth === 0) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((v, i) => {
      const r = redactKeys(v, depth - 1);
      if (r !== v) (out ??= [...value])[i] = r;
    });
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const v = (value as Record<string, unknown>)[k];
    const r = REDACTED.test(k)
      ? '[redacted]'
      : v !== null && typeof v === 'object'
        ? redactKeys(v, depth - 1)
        : v;
    // An Error with something to hide becomes a plain object that keeps its name, message and stack.
    if (r !== v)
      (out ??=
        value instanceof Error
          ? {
              ...(value as object),
              name: value.name,
              message: value.message,
              stack: value.stack,
            }
          : {...value})[k] = r;
  }
  return out ?? value;
}

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export function createLogger(
  destination?: pino.DestinationStream,
  env: NodeJS.ProcessEnv = process.env,
): Logger {
  const gcp = new GcpFields(env);
  const options: pino.LoggerOptions = {
    level: env.LOG_LEVEL ?? 'info',
    base: undefined, // no pid/hostname: Cloud Logging has the instance in its resource labels
    messageKey: 'message',
    timestamp: gcpTimestamp,
    formatters: {
      level: label => ({severity: SEVERITY[label] ?? 'INFO'}),
      log: entry => gcp.format(entry),
    },
    // Whatever a field holds, no credential this instance knows leaves in a log line, and no line is
    // too long for Cloud Logging to keep.
    hooks: {streamWrite: line => boundLine(scrubSecrets(line))},
  };
  // Synchronous writes to stdout, as Node's own console does for a pipe on Linux: an outcome line is out
  // before the event is acked, and a burst that outruns the log pipe cannot pile up lines in memory
  // (pino's default asynchronous stream buffered ~3 MiB of lines during the benchmark's load).
  return pino(options, destination ?? pino.destination({dest: 1, sync: true}));
}

/** `,"timestamp":{"seconds":S,"nanos":N}`: Cloud Logging's own form, cheaper than an ISO string. */
function gcpTimestamp(): string {
  const ms = Date.now();
  return `,"timestamp":{"seconds":${Math.floor(ms / 1000)},"nanos":${(ms % 1000) * 1_000_000}}`;
}

class GcpFields {
  private project?: string;
  private readonly serviceContext: {service: string; version: string};
  private readonly insertPrefix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-`;
  private sequence = 0;

  constructor(env: NodeJS.ProcessEnv) {
    this.serviceContext = {
      service: env.K_SERVICE ?? 'dag-launcher',
      version: VERSION,
    };
    this.project =
      env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT ?? env.GCP_PROJECT;
    // On Cloud Run functions without a project variable: ask the metadata server, once, in the background.
    if (!this.project && env.K_SERVICE) void this.lookUpProject(env);
  }

  format(input: Record<string, unknown>): Record<string, unknown> {
    const redacted = redactKeys(input) as Record<string, unknown>;
    const entry = redacted === input ? {...input} : redacted;
    if (typeof entry.trace_id === 'string' && entry.trace_id) {
      entry['logging.googleapis.com/trace'] = this.project
        ? `projects/${this.project}/traces/${entry.trace_id}`
        : entry.trace_id;
    }
    if (typeof entry.span_id === 'string' && entry.span_id)
      entry['logging.googleapis.com/spanId'] = entry.span_id;
    if (
      typeof entry.trace_flags === 'string' &&
      (parseInt(entry.trace_flags, 16) & 1) === 1
    )
      entry['logging.googleapis.com/trace_sampled'] = true;
    delete entry.trace_id;
    delete entry.span_id;
    delete entry.trace_flags;
    entry.serviceContext = this.serviceContext;
    if (entry.err instanceof Error && entry.err.stack)
      entry.stack_trace = entry.err.stack;
    entry['logging.googleapis.com/insertId'] =
      this.insertPrefix + (this.sequence++).toString(36).padStart(8, '0');
    return entry;
  }

  private async lookUpProject(env: NodeJS.ProcessEnv): Promise<void> {
    try {
      this.project =
        (await metadataGet('project/project-id', env, 3000)).trim() ||
        undefined;
    } catch {
      // Trace ids stay unqualified; Cloud Logging still shows them.
    }
  }
}

/** W3C traceparent -> trace_id/span_id/trace_flags, which the formatter turns into logging.googleapis.com/trace fields. */
export function traceFields(
  traceparent: string | undefined,
): Record<string, string> {
  const m = traceparent
    ? /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/i.exec(
        traceparent.trim(),
      )
    : null;
  return m ? {trace_id: m[1]!, span_id: m[2]!, trace_flags: m[3]!} : {};
}
