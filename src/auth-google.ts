/**
 * auth mode `google` (Cloud Composer 2/3): the OAuth2 access token of the
 * function's own service account, from Application Default Credentials
 * (the metadata server on Cloud Functions), scope cloud-platform.
 */
import { BearerTokenAuth } from './auth-bearer';
import { RetryableError } from './errors';
import { sharedGoogleAuth, TOKEN_REFRESH_MARGIN_MS } from './google';

export class GoogleAccessTokenAuth extends BearerTokenAuth {
  readonly mode = 'google';

  constructor(
    private readonly scopes: string[],
    refreshMarginMs = TOKEN_REFRESH_MARGIN_MS,
  ) {
    // A 401 with a fresh Google token is IAM, not expiry: the outcome contract decides.
    super(() => this.fetch(refreshMarginMs), refreshMarginMs, false);
  }

  /**
   * Loads google-auth-library and asks the metadata server while the framework
   * is still starting; a failure is left for the first event to retry and report.
   */
  warm(): void {
    this.headers().catch(() => undefined);
  }

  private async fetch(marginMs: number) {
    try {
      const client = await (await sharedGoogleAuth(this.scopes, marginMs)).getClient();
      const { token } = await client.getAccessToken();
      if (!token) throw new Error('no access token returned');
      const expiry = client.credentials.expiry_date ?? undefined;
      return { value: token, expiresAt: expiry ?? Date.now() + 3_000_000 };
    } catch (err) {
      throw new RetryableError(`cannot get a Google access token: ${(err as Error).message}`, err);
    }
  }
}
