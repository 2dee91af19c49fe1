/**
 * The shared half of every token-based auth mode (google, iap, airflow-jwt):
 * a cached token sent as `Authorization: Bearer`, dropped when Airflow
 * answers 401. Each mode only says how to fetch a token.
 */
import type {AirflowAuth} from './types';
import {TokenCache, type Token} from './token-cache';
import {rememberSecret} from '../logging/secrets';

export abstract class BearerTokenAuth implements AirflowAuth {
  abstract readonly mode: string;
  private readonly tokens: TokenCache;

  /** `retryOn401`: whether a fresh token may fix a 401 (true for Airflow JWTs; a Google identity 401 is IAM). */
  protected constructor(
    fetchToken: () => Promise<Token>,
    refreshMarginMs: number,
    private readonly retryOn401: boolean,
  ) {
    this.tokens = new TokenCache(async () => {
      const token = await fetchToken();
      rememberSecret(token.value);
      return token;
    }, refreshMarginMs);
  }

  get fetches(): number {
    return this.tokens.fetches;
  }

  async headers(): Promise<Record<string, string>> {
    return {Authorization: `Bearer ${await this.tokens.get()}`};
  }

  ready(): Record<string, string> | undefined {
    const token = this.tokens.fresh();
    return token === undefined ? undefined : {Authorization: `Bearer ${token}`};
  }

  onUnauthorized(sent: Record<string, string>): boolean {
    this.tokens.invalidate(sent.Authorization?.replace(/^Bearer /, ''));
    return this.retryOn401;
  }
}
