/**
 * auth mode `google` (Cloud Composer 2/3): the OAuth2 access token of the
 * function's own service account, from Application Default Credentials,
 * scope cloud-platform. On Cloud Run functions that is the runtime's
 * metadata server, read directly (google/metadata.ts); elsewhere google-auth-library
 * resolves ADC (a key file, federation, gcloud credentials, a VM).
 */
import {BearerTokenAuth} from './bearer';
import {RetryableError} from '../core/errors';
import {sharedGoogleAuth, TOKEN_REFRESH_MARGIN_MS} from '../google/auth-client';
import {metadataAccessToken, onServerlessMetadata} from '../google/metadata';

export class GoogleAccessTokenAuth extends BearerTokenAuth {
  readonly mode = 'google';
  /** Where tokens come from: the runtime's metadata server, or ADC through google-auth-library. */
  readonly source: 'metadata-server' | 'google-auth-library';

  constructor(
    private readonly scopes: string[],
    refreshMarginMs = TOKEN_REFRESH_MARGIN_MS,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly timeoutMs = 10_000,
  ) {
    // A 401 with a fresh Google token is IAM, not expiry: the outcome contract decides.
    super(() => this.fetch(refreshMarginMs), refreshMarginMs, false);
    this.source = onServerlessMetadata(env)
      ? 'metadata-server'
      : 'google-auth-library';
  }

  /**
   * Asks for the token (loading google-auth-library when it is the source)
   * while the framework is still starting; a failure is left for the first event to retry and report.
   */
  warm(): void {
    this.headers().catch(() => undefined);
  }

  private async fetch(marginMs: number) {
    if (this.source === 'metadata-server') {
      try {
        return await metadataAccessToken(this.scopes, this.env, this.timeoutMs);
      } catch (err) {
        throw new RetryableError(
          `cannot get a Google access token from the metadata server: ${(err as Error).message}`,
          err,
        );
      }
    }
    try {
      const client = await (
        await sharedGoogleAuth(this.scopes, marginMs)
      ).getClient();
      const {token} = await client.getAccessToken();
      if (!token) throw new Error('no access token returned');
      const expiry = client.credentials.expiry_date ?? undefined;
      return {value: token, expiresAt: expiry ?? Date.now() + 3_000_000};
    } catch (err) {
      throw new RetryableError(
        `cannot get a Google access token: ${(err as Error).message}`,
        err,
      );
    }
  }
}
