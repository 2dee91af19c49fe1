/**
 * The HTTP endpoint functions-framework serves: each request becomes a
 * delivery (events/delivery.ts) for the handler, and the answer is ours, so
 * nothing the event controls reaches plain-text output. A CloudEvent
 * function that throws to be redelivered has the framework print the error's
 * stack (its message included: an event id with a newline forges a log
 * line) as unstructured text on every retry; here a retry is a bare 500,
 * already explained by its outcome line, and an unexpected error is one JSON
 * line.
 */
import type {Request, Response} from '@google-cloud/functions-framework';
import {deliveredFrom} from './events/delivery';
import {bodyAsSent} from './events/body';
import {RedeliverError} from './handler';
import type {Handler} from './function';
import type {Logger} from './logging/logger';

export function deliveryEndpoint(
  handle: Handler,
  logger: Logger,
): (req: Request, res: Response) => Promise<void> {
  // A promise chain, not an async function: the framework runs each request in a node:domain, whose
  // async hooks track every await (BENCHMARKS.md, "Fewer promises and allocations per event").
  return function serveDelivery(req, res): Promise<void> {
    leaveDomain();
    const reading = bodyAsSent(req);
    const d = deliveredFrom({
      method: req.method,
      path: req.path,
      rawBody: req.rawBody,
      headers: reading.ok ? reading.headers : req.headers,
      body: reading.ok ? reading.body : reading.delivered,
    });
    // Read: the bytes (up to 14 MB) are not held while Airflow answers.
    (req as {rawBody?: Buffer}).rawBody = undefined;
    if (d.kind === 'refused') {
      logger.warn(
        {httpMethod: req.method.slice(0, 16), path: req.path.slice(0, 256)},
        `not an event: ${d.reason}; answered ${d.status}`,
      );
      res.status(d.status).set('Allow', 'POST').end();
      return Promise.resolve();
    }
    let handled: Promise<void>;
    try {
      handled = handle(d.delivered);
    } catch (err) {
      handled = Promise.reject(err);
    }
    return handled.then(
      () => {
        if (!res.headersSent) res.status(204).end();
      },
      (err: unknown) => {
        // A retry was logged as an outcome already: only the status is left to say.
        if (!(err instanceof RedeliverError))
          logger.error(
            {err, outcome: 'retry', reason: 'unexpected error'},
            'retry: unexpected error while handling the event; it will be redelivered',
          );
        if (!res.headersSent) res.status(500).end();
      },
    );
  };
}

/**
 * functions-framework runs each request in a `node:domain`, only to turn an
 * error it cannot see into a 500. This function catches its own (every path
 * ends in the promise chain above), and inside a domain every promise,
 * timer and socket the request makes is tracked by async hooks: 10% of the
 * CPU the function spent per event under load (BENCHMARKS.md). So the
 * request leaves the domain before any of them is made.
 */
function leaveDomain(): void {
  (process as {domain?: {exit(): void} | null}).domain?.exit();
}
