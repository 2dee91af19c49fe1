/**
 * The function's logger: pino with Google Cloud Logging's structured format
 * (severity, timestamp, serviceContext, trace correlation). Secrets are
 * redacted by path in case an error object drags a request along.
 */
import pino, { type Logger } from 'pino';
import { createGcpLoggingPinoConfig } from '@google-cloud/pino-logging-gcp-config';
import { VERSION } from './version';
import { scrubSecrets } from './secrets';

export type { Logger };

export const REDACT_PATHS = [
  'authorization',
  'password',
  'token',
  'access_token',
  'id_token',
  '*.authorization',
  '*.Authorization',
  '*.password',
  '*.token',
  '*.access_token',
  '*.id_token',
  '*.headers',
  '*.*.headers',
  'config.headers',
  'err.config',
  'err.response.config',
];

export function createLogger(destination?: pino.DestinationStream, env: NodeJS.ProcessEnv = process.env): Logger {
  const project = env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT ?? env.GCP_PROJECT;
  const options = createGcpLoggingPinoConfig(
    {
      serviceContext: { service: env.K_SERVICE ?? 'dag-launcher', version: VERSION },
      // Without a project id the library asks the metadata server for it, once.
      ...(project ? { traceGoogleCloudProjectId: project } : {}),
      inihibitDiagnosticMessage: true,
    },
    {
      level: env.LOG_LEVEL ?? 'info',
      base: undefined, // no pid/hostname: Cloud Logging has the instance in its resource labels
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Whatever a field holds, no credential this instance knows leaves in a log line.
      hooks: { streamWrite: scrubSecrets },
    },
  );
  return destination ? pino(options, destination) : pino(options);
}

/** W3C traceparent -> the fields the GCP config turns into logging.googleapis.com/trace. */
export function traceFields(traceparent: string | undefined): Record<string, string> {
  const m = traceparent ? /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/i.exec(traceparent.trim()) : null;
  return m ? { trace_id: m[1]!, span_id: m[2]!, trace_flags: m[3]! } : {};
}
