/**
 * Memory that holds under the worst burst: large request bodies are let in
 * a few at a time, before functions-framework reads them.
 *
 * functions-framework reads and parses every body before the function runs
 * (body-parser, limit '1024mb'): a 10 MB Pub/Sub message is a 13.4 MB body,
 * held as a Buffer (req.rawBody), a string while it is parsed, and the
 * parsed message's data string, and the function then decodes it (bytes,
 * text, JSON). At the deploy default of 80 requests per instance, 80 such
 * messages would need gigabytes; an instance of 256 MiB gives V8 a heap of
 * about 100 MB. So before the framework sees a request whose body is over
 * SMALL_BODY_BYTES, the request is paused (the socket's flow control holds
 * the rest of the body in the kernel and upstream), and resumed once the
 * large bodies in flight leave room for it in a budget sized from the heap.
 * One body is always let in, whatever its size, so every event is decided;
 * small bodies (every Storage event, most messages) are never held.
 *
 * Hooked through node:diagnostics_channel's `http.server.request.start`,
 * which Node publishes just before the server's 'request' event: the
 * framework has no option for its body limit or a middleware before it.
 */
import {subscribe} from 'node:diagnostics_channel';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {getHeapStatistics, setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';
import {keepBodyRaw} from '../events/body';

/** Bodies up to this size go straight through: 80 of them are 20 MiB. */
export const SMALL_BODY_BYTES = 256 * 1024;
/**
 * The budget is the heap limit over this: a body costs about 4 times its
 * size while it is parsed and decoded (measured in `npm run bench`, see
 * BENCHMARKS.md), and the rest of the heap is the function's own.
 */
const HEAP_SHARE = 6;

interface Waiting {
  cost: number;
  admit: () => void;
}

export class BodyAdmission {
  inFlightBytes = 0;
  /** The most bytes ever let in at once, and how many requests waited. */
  peakBytes = 0;
  waited = 0;
  private readonly queue: Waiting[] = [];

  constructor(
    readonly budgetBytes: number,
    /** A full garbage collection, run between large bodies when others wait. */
    private readonly collect?: () => void,
  ) {}

  /** Called for every request before anything reads its body. */
  onRequest(req: IncomingMessage, res: ServerResponse): void {
    const cost = this.costOf(req);
    if (cost > 0 || req.headers['content-length'] === undefined)
      res.once('close', () => forgetBody(req));
    if (cost === 0) return;
    let admitted = false;
    const waiting: Waiting = {
      cost,
      admit: () => {
        admitted = true;
        this.inFlightBytes += cost;
        this.peakBytes = Math.max(this.peakBytes, this.inFlightBytes);
        req.resume();
      },
    };
    res.once('close', () => {
      if (admitted) this.inFlightBytes -= cost;
      else this.queue.splice(this.queue.indexOf(waiting), 1);
      // What a large body left behind (its strings, its bytes) goes before the next is let in.
      if (admitted && this.queue.length > 0) this.collect?.();
      this.drain();
    });
    if (this.queue.length === 0 && this.fits(cost)) {
      admitted = true;
      this.inFlightBytes += cost;
      this.peakBytes = Math.max(this.peakBytes, this.inFlightBytes);
      return;
    }
    req.pause(); // stays paused when body-parser adds its 'data' listener
    this.waited++;
    this.queue.push(waiting);
  }

  private costOf(req: IncomingMessage): number {
    const length = req.headers['content-length'];
    if (length !== undefined) {
      const bytes = Number(length);
      return bytes > SMALL_BODY_BYTES ? Math.min(bytes, this.budgetBytes) : 0;
    }
    // A chunked body of unknown size: on its own.
    return req.headers['transfer-encoding'] ? this.budgetBytes : 0;
  }

  private fits(cost: number): boolean {
    return (
      this.inFlightBytes === 0 || this.inFlightBytes + cost <= this.budgetBytes
    );
  }

  private drain(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!.cost))
      this.queue.shift()!.admit();
  }
}

/**
 * A keep-alive connection keeps its last request object until the next
 * request arrives on it, and the framework left the body on that object
 * (`body`, `rawBody`): idle connections would keep the last large message
 * each. Once the response is sent, nothing reads them.
 */
function forgetBody(req: IncomingMessage): void {
  const bodies = req as {body?: unknown; rawBody?: unknown};
  bodies.body = undefined;
  bodies.rawBody = undefined;
}

/** Installs admission for every HTTP server of this process; the budget comes from V8's heap limit. */
export function admitLargeBodies(
  budgetBytes = Math.floor(getHeapStatistics().heap_size_limit / HEAP_SHARE),
): BodyAdmission {
  const admission = new BodyAdmission(budgetBytes, fullCollection());
  subscribe('http.server.request.start', message => {
    const {request, response} = message as {
      request: IncomingMessage;
      response: ServerResponse;
    };
    keepBodyRaw(request); // the function reads the body itself: events/body.ts says why
    escapeStrayPercents(request);
    admission.onRequest(request, response);
  });
  return admission;
}

/**
 * The framework's router decodes the path (`/{*splat}`) with
 * decodeURIComponent, and a path it cannot decode (a `%` not followed by
 * two hex digits, `%FF` which is not UTF-8: a push endpoint's path, a
 * hand-made request) makes it answer a plain-text 400 with a URIError
 * stack, which a push subscription redelivers forever. Such a path is taken
 * literally (every `%` as `%25`): the function reads the path it was sent.
 */
export function escapeStrayPercents(req: {url?: string}): void {
  const url = req.url;
  if (url === undefined || !url.includes('%')) return;
  try {
    decodeURIComponent(url);
  } catch {
    req.url = url.replaceAll('%', '%25');
  }
}

/**
 * V8 collects a large body's garbage (13 MB strings, the bytes behind
 * Buffers) when its heap nears the limit, so under a burst the next body
 * arrived on top of the last one's remains: peak RSS 257 to 275 MiB for 80
 * messages of 10 MB at a 256 MiB deploy. One full collection between large
 * bodies, only while others wait (a burst), costs a few ms each
 * (BENCHMARKS.md) and keeps the peak to one body's working set.
 */
function fullCollection(): () => void {
  let gc: (() => void) | undefined;
  return () => {
    // Made on first use (a burst), not at cold start: a new VM context costs a few ms.
    if (!gc) {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    }
    gc();
  };
}
