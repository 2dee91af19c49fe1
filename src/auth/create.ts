/**
 * Chooses the auth strategy for an environment by its `auth.mode` (one
 * strategy per file in this folder, behind the interface in types.ts).
 */
import type {AuthConfig} from '../config/schema';
import type {Environment} from '../config/types';
import {GoogleAccessTokenAuth} from './google';
import {IapIdTokenAuth} from './iap';
import {BasicAuth} from './basic';
import {AirflowJwtAuth} from './airflow-jwt';
import {noAuth} from './none';
import {ConfigError} from '../core/errors';
import type {AirflowAuth, AuthOptions} from './types';

/**
 * Builds the auth for an environment. Environments that present the same
 * credential (e.g. the service account's token for the same scopes) share one
 * instance through `shared`, so the instance holds one token, not one per environment.
 */
export function createAuth(
  env: Environment,
  shared = new Map<string, AirflowAuth>(),
  options: AuthOptions = {},
): AirflowAuth {
  const auth: AuthConfig = env.auth;
  // Credentials bound to a server (passwords, Airflow JWTs) are per environment; Google credentials are per identity.
  const key =
    auth.mode === 'google' || auth.mode === 'iap'
      ? JSON.stringify(auth)
      : `${env.name}:${JSON.stringify(auth)}`;
  const existing = shared.get(key);
  if (existing) return existing;
  let created: AirflowAuth;
  switch (auth.mode) {
    case 'google':
      created = new GoogleAccessTokenAuth(
        auth.scopes,
        options.tokenRefreshMarginMs,
        options.env,
        Math.min(options.timeoutMs ?? 10_000, 10_000),
      );
      break;
    case 'iap':
      created = new IapIdTokenAuth(auth.audience);
      break;
    case 'basic':
      created = new BasicAuth(
        auth.username,
        password(env.name, auth.passwordEnv, options.env),
      );
      break;
    case 'airflow-jwt':
      created = new AirflowJwtAuth(
        env.url,
        auth.username,
        password(env.name, auth.passwordEnv, options.env),
        options.timeoutMs ?? 30_000,
      );
      break;
    case 'none':
      created = noAuth;
      break;
  }
  shared.set(key, created);
  return created;
}

function password(
  envName: string,
  variable: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const value = env[variable];
  if (!value) {
    throw new ConfigError(
      [
        `environments.${envName}.auth.passwordEnv: ${variable} is not set (gcloud functions deploy --set-secrets=${variable}=SECRET:latest)`,
      ],
      'environment variables',
    );
  }
  return value;
}
