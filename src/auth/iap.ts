/**
 * auth mode `iap` (Cloud Composer 1, any IAP-protected Airflow): an OIDC ID
 * token of the function's service account with the IAP OAuth client id as
 * audience, from google-auth-library (the metadata server's identity endpoint
 * on Cloud Functions). Cached until its `exp`.
 */
import {BearerTokenAuth} from './bearer';
import {RetryableError} from '../core/errors';
import {jwtExpiry} from './jwt';
import {sharedGoogleAuth} from '../google/auth-client';

export class IapIdTokenAuth extends BearerTokenAuth {
  readonly mode = 'iap';

  constructor(audience: string) {
    super(
      async () => {
        try {
          const client = await (
            await sharedGoogleAuth()
          ).getIdTokenClient(audience);
          const token = await client.idTokenProvider.fetchIdToken(audience);
          return {
            value: token,
            expiresAt: jwtExpiry(token) ?? Date.now() + 3_000_000,
          };
        } catch (err) {
          throw new RetryableError(
            `cannot get an ID token for audience ${audience}: ${(err as Error).message}`,
            err,
          );
        }
      },
      5 * 60_000,
      false,
    );
  }
}
