/**
 * How the launcher authenticates to an Airflow environment: one strategy per
 * file behind this interface, chosen by the environment's `auth.mode`.
 */
import type { AuthConfig } from './schema';
import type { Environment } from './config';
import { GoogleAccessTokenAuth } from './auth-google';

export interface AirflowAuth {
  readonly mode: string;
  /** Headers for one request. Throws on a credential failure (a retry, not a rejection). */
  headers(): Promise<Record<string, string>>;
  /** Called on a 401 so the next request fetches a fresh credential. Returns true if a retry may help. */
  onUnauthorized?(sentHeaders: Record<string, string>): boolean;
}

export interface AuthOptions {
  /** Overrides for tests and benchmarks; production uses the defaults. */
  tokenRefreshMarginMs?: number;
}

/**
 * Builds the auth for an environment. Environments that present the same
 * credential (e.g. the service account's token for the same scopes) share one
 * instance through `shared`, so the instance holds one token, not one per environment.
 */
export function createAuth(env: Environment, shared = new Map<string, AirflowAuth>(), options: AuthOptions = {}): AirflowAuth {
  const auth: AuthConfig = env.auth;
  const key = JSON.stringify(auth);
  const existing = shared.get(key);
  if (existing) return existing;
  let created: AirflowAuth;
  switch (auth.mode) {
    case 'google':
      created = new GoogleAccessTokenAuth(auth.scopes, options.tokenRefreshMarginMs);
      break;
  }
  shared.set(key, created);
  return created;
}
