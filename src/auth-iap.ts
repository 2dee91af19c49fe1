/**
 * auth mode `iap` (Cloud Composer 1, any IAP-protected Airflow): an OIDC ID
 * token of the function's service account with the IAP OAuth client id as
 * audience, from google-auth-library (the metadata server's identity endpoint
 * on Cloud Functions). Cached until its `exp`.
 */
import type { AirflowAuth } from './auth';
import { RetryableError } from './errors';
import { jwtExpiry } from './jwt';
import { TokenCache } from './token-cache';

export class IapIdTokenAuth implements AirflowAuth {
  readonly mode = 'iap';
  private readonly tokens: TokenCache;

  constructor(audience: string) {
    this.tokens = new TokenCache(async () => {
      try {
        const { GoogleAuth } = await import('google-auth-library');
        const client = await new GoogleAuth().getIdTokenClient(audience);
        const token = await client.idTokenProvider.fetchIdToken(audience);
        return { value: token, expiresAt: jwtExpiry(token) ?? Date.now() + 3_000_000 };
      } catch (err) {
        throw new RetryableError(`cannot get an ID token for audience ${audience}: ${(err as Error).message}`, err);
      }
    });
  }

  get fetches(): number {
    return this.tokens.fetches;
  }

  async headers(): Promise<Record<string, string>> {
    return { Authorization: `Bearer ${await this.tokens.get()}` };
  }

  onUnauthorized(sent: Record<string, string>): boolean {
    this.tokens.invalidate(sent.Authorization?.replace(/^Bearer /, ''));
    return false;
  }
}
