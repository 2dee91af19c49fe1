/**
 * One google-auth-library GoogleAuth per instance and scope set, shared by
 * every user of the function's identity (access tokens for Airflow, ID tokens
 * for IAP, Composer API calls), so ADC detection runs once and a token
 * fetched for one is reused by the others. Loaded on first use: an instance
 * that never triggers never pays for the library.
 */
import type {GoogleAuth} from 'google-auth-library';

export const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

const instances = new Map<string, Promise<GoogleAuth>>();

export function sharedGoogleAuth(
  scopes: string[] = [CLOUD_PLATFORM],
  eagerRefreshMs = TOKEN_REFRESH_MARGIN_MS,
): Promise<GoogleAuth> {
  const key = JSON.stringify([[...scopes].sort(), eagerRefreshMs]);
  let auth = instances.get(key);
  if (!auth) {
    auth = import('google-auth-library').then(
      ({GoogleAuth}) =>
        new GoogleAuth({
          scopes,
          clientOptions: {eagerRefreshThresholdMillis: eagerRefreshMs},
        }),
    );
    instances.set(key, auth);
  }
  return auth;
}
