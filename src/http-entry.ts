/**
 * The function as functions-framework serves it: an HTTP function, so the
 * request (body, headers, path) reaches readDelivery whole. Registered as a
 * CloudEvent function instead, the framework turns a raw Pub/Sub push into a
 * gen1 event first and drops its subscription and ordering key (and its
 * topic unless the push path names it); see events/delivery.ts.
 *
 * Answers as the framework does for a CloudEvent function: 204 to ack, 500
 * to make the platform redeliver.
 */
import type {Request, Response} from '@google-cloud/functions-framework';
import {readDelivery} from './events/delivery';
import {RedeliverError} from './handler';

export type Handle = (delivered: unknown) => Promise<void>;

export function serveDeliveries(
  handle: Handle,
): (req: Request, res: Response) => Promise<void> {
  return async function serve(req: Request, res: Response): Promise<void> {
    if (req.method !== 'POST') {
      res.status(405).set('Allow', 'POST').send('events are POSTed');
      return;
    }
    const delivered = readDelivery({
      body: req.body,
      headers: req.headers,
      path: req.path,
    });
    try {
      await handle(delivered);
      res.status(204).end();
    } catch (err) {
      // A RedeliverError's outcome lines are logged already; anything else is a bug worth its stack.
      if (!(err instanceof RedeliverError)) console.error(err);
      res
        .status(500)
        .send(err instanceof RedeliverError ? err.message : 'internal error');
    }
  };
}
