/**
 * One token per instance, shared by every concurrent event.
 *
 * - A fresh token is returned from memory.
 * - Inside the refresh margin, one refresh starts in the background and
 *   callers keep using the still-valid token (no burst of refreshes).
 * - An expired or missing token: callers wait for one shared fetch.
 * - `invalidate()` after a 401 drops the token so the next call fetches.
 */
export interface Token {
  value: string;
  /** Epoch ms; undefined = never expires on its own. */
  expiresAt?: number;
}

export class TokenCache {
  private token?: Token;
  private inflight?: Promise<Token>;
  fetches = 0;

  constructor(
    private readonly fetchToken: () => Promise<Token>,
    private readonly refreshMarginMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The token when it is fresh (outside the refresh margin), else undefined: then call get(). */
  fresh(): string | undefined {
    const t = this.token;
    return t &&
      (t.expiresAt === undefined || this.now() < t.expiresAt - this.margin(t))
      ? t.value
      : undefined;
  }

  async get(): Promise<string> {
    const t = this.token;
    const now = this.now();
    if (t && (t.expiresAt === undefined || now < t.expiresAt - this.margin(t)))
      return t.value;
    if (t && t.expiresAt !== undefined && now < t.expiresAt) {
      this.refresh().catch(() => undefined); // the next caller sees the failure if the token really expires
      return t.value;
    }
    return (await this.refresh()).value;
  }

  invalidate(value?: string): void {
    if (value === undefined || this.token?.value === value)
      this.token = undefined;
  }

  private margin(t: Token): number {
    // Short-lived tokens refresh in their last quarter instead of on every call.
    return t.expiresAt === undefined
      ? 0
      : Math.min(
          this.refreshMarginMs,
          Math.max(0, (t.expiresAt - this.issuedAt) / 4),
        );
  }

  private issuedAt = 0;

  private refresh(): Promise<Token> {
    this.inflight ??= (async () => {
      try {
        this.fetches++;
        const t = await this.fetchToken();
        this.token = t;
        this.issuedAt = this.now();
        return t;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}
