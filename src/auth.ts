/**
 * How the launcher authenticates to an Airflow environment: one strategy per
 * file behind this interface, chosen by the environment's `auth.mode`.
 */
import type { AuthConfig } from './schema';
import type { Environment } from './config';
import { GoogleAccessTokenAuth } from './auth-google';
import { IapIdTokenAuth } from './auth-iap';
import { BasicAuth } from './auth-basic';
import { AirflowJwtAuth } from './auth-airflow-jwt';
import { noAuth } from './auth-none';
import { ConfigError } from './errors';

export interface AirflowAuth {
  readonly mode: string;
  /** Headers for one request. Throws on a credential failure (a retry, not a rejection). */
  headers(): Promise<Record<string, string>>;
  /** Called on a 401 so the next request fetches a fresh credential. Returns true if a retry may help. */
  onUnauthorized?(sentHeaders: Record<string, string>): boolean;
  /** Starts fetching a credential in the background at cold start, so the first event does not wait for it. */
  warm?(): void;
  /** The headers when they are ready now (a fresh cached token), without a promise; undefined means call headers(). */
  ready?(): Record<string, string> | undefined;
}

export interface AuthOptions {
  /** Overrides for tests and benchmarks; production uses the defaults. */
  tokenRefreshMarginMs?: number;
  /** Where passwords and the runtime's variables are read from (process.env). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Builds the auth for an environment. Environments that present the same
 * credential (e.g. the service account's token for the same scopes) share one
 * instance through `shared`, so the instance holds one token, not one per environment.
 */
export function createAuth(env: Environment, shared = new Map<string, AirflowAuth>(), options: AuthOptions = {}): AirflowAuth {
  const auth: AuthConfig = env.auth;
  // Credentials bound to a server (passwords, Airflow JWTs) are per environment; Google credentials are per identity.
  const key = auth.mode === 'google' || auth.mode === 'iap' ? JSON.stringify(auth) : `${env.name}:${JSON.stringify(auth)}`;
  const existing = shared.get(key);
  if (existing) return existing;
  let created: AirflowAuth;
  switch (auth.mode) {
    case 'google':
      created = new GoogleAccessTokenAuth(auth.scopes, options.tokenRefreshMarginMs, options.env, Math.min(options.timeoutMs ?? 10_000, 10_000));
      break;
    case 'iap':
      created = new IapIdTokenAuth(auth.audience);
      break;
    case 'basic':
      created = new BasicAuth(auth.username, password(env.name, auth.passwordEnv, options.env));
      break;
    case 'airflow-jwt':
      created = new AirflowJwtAuth(env.url, auth.username, password(env.name, auth.passwordEnv, options.env), options.timeoutMs ?? 30_000);
      break;
    case 'none':
      created = noAuth;
      break;
  }
  shared.set(key, created);
  return created;
}

function password(envName: string, variable: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[variable];
  if (!value) {
    throw new ConfigError([`environments.${envName}.auth.passwordEnv: ${variable} is not set (gcloud functions deploy --set-secrets=${variable}=SECRET:latest)`], 'environment variables');
  }
  return value;
}
