/**
 * The HTTP request as the value the handler reads: what functions-framework
 * would hand a CloudEvent function, except that a raw Pub/Sub push keeps its
 * subscription, ordering key and (from the path) topic, which the
 * framework's own legacy conversion drops. Pure over (body, headers, path),
 * so the CLI and tests read requests exactly as the function does.
 */
import {isPushBody, pushMessageId, pushToCloudEvent} from './push';
import {isObject, type Json} from './payload';

export interface DeliveryRequest {
  /** The body as functions-framework's body parsers left it. */
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  path?: string;
}

const BINARY_REQUIRED = ['ce-type', 'ce-specversion', 'ce-source', 'ce-id'];

export function readDelivery(req: DeliveryRequest): unknown {
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const traceparent = header('traceparent');
  if (BINARY_REQUIRED.every(h => header(h) !== undefined)) {
    // Binary mode: the context is in the ce-* headers, the body is the data.
    const ce: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (k.startsWith('ce-') && v !== undefined)
        ce[k.slice(3)] = Array.isArray(v) ? v[0] : v;
    ce.data = req.body;
    if (traceparent) ce.traceparent = traceparent;
    return ce;
  }
  if (isPushBody(req.body) && pushMessageId(req.body as Json) !== undefined)
    return pushToCloudEvent(req.body as Json, req.path);
  if (traceparent && isObject(req.body))
    return {...req.body, traceparent: req.body.traceparent ?? traceparent};
  return req.body;
}
