/**
 * At most N starts per second, spaced evenly (1/N s apart, no bursts): what
 * `--rate N/s` promises Airflow. Ten lines, so written here rather than a
 * dependency.
 */
export class RateLimit {
  private next = 0;
  private readonly gapMs: number;

  constructor(perSecond: number) {
    this.gapMs = 1000 / perSecond;
  }

  /** Resolves when the next start is allowed (at once when aborted). */
  take(signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    const at = Math.max(now, this.next);
    this.next = at + this.gapMs;
    if (at <= now || signal?.aborted) return Promise.resolve();
    return new Promise(resolve => {
      const timer = setTimeout(done, at - now);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, {once: true});
    });
  }
}

/** `--rate 20/s`, `20`, `1.5/s`; undefined when it is not a positive rate. */
export function parseRate(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(text.trim());
  const n = m ? Number(m[1]) : NaN;
  return n > 0 ? n : undefined;
}
