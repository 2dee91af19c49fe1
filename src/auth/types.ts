/**
 * What every auth strategy gives the Airflow client: headers for a request,
 * and hooks for 401s, warm-up and the synchronous fast path.
 */
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
