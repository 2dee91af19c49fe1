/**
 * A request deadline that lets go as soon as the request is done.
 *
 * `AbortSignal.timeout(ms)` keeps its timer, and through the signal the
 * request's state, alive for the full `ms` even after the response: at a few
 * thousand events a second with a 30 s requestTimeout that is tens of
 * thousands of finished requests held in memory. Here the timer is cleared
 * when `work` settles. The abort reason is a `TimeoutError`, as with
 * AbortSignal.timeout.
 */
export async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no response within ${ms}ms`, 'TimeoutError')), ms);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
