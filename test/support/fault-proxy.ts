/**
 * A fault-injecting HTTP proxy in front of an Airflow web server, playing an
 * overloaded Airflow and the load balancer before it. On a configured share
 * of requests it injects one of: 429 with Retry-After, 500, 503, a hang past
 * the client's request timeout, or a reset connection. Hangs and resets come
 * in two phases: before the request reaches Airflow (nothing happened) and
 * after Airflow answered (the run exists, the client never hears of it),
 * which is what makes redelivery dangerous without deterministic run ids.
 */
import {
  createServer,
  request as httpRequest,
  Agent,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import {closeServer, listenLoopback} from './http';

export type FaultKind =
  | '429'
  | '500'
  | '503'
  | 'hang-before'
  | 'hang-after'
  | 'reset-before'
  | 'reset-after';
export const FAULT_KINDS: FaultKind[] = [
  '429',
  '500',
  '503',
  'hang-before',
  'hang-after',
  'reset-before',
  'reset-after',
];

export interface FaultProxyOptions {
  /** Share of requests that get a fault, 0..1. */
  rate: number;
  /** How long a hang lasts: longer than the client's request timeout. */
  hangMs: number;
  /** Retry-After seconds sent with 429. */
  retryAfterS?: number;
  /** Deterministic randomness for reproducible runs. */
  random?: () => number;
}

export class FaultProxy {
  url = '';
  requests = 0;
  readonly faults: Record<FaultKind, number> = Object.fromEntries(
    FAULT_KINDS.map(k => [k, 0]),
  ) as Record<FaultKind, number>;
  private server?: Server;
  private readonly agent = new Agent({keepAlive: true, maxSockets: 64});
  private readonly target: URL;
  private readonly random: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    target: string,
    private readonly options: FaultProxyOptions,
  ) {
    this.target = new URL(target);
    this.random = options.random ?? Math.random;
  }

  get injected(): number {
    return Object.values(this.faults).reduce((a, b) => a + b, 0);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.url = await listenLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await closeServer(this.server);
    this.agent.destroy();
  }

  private pick(): FaultKind | undefined {
    if (this.random() >= this.options.rate) return undefined;
    return FAULT_KINDS[Math.floor(this.random() * FAULT_KINDS.length)];
  }

  private later(ms: number): Promise<void> {
    return new Promise(r => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        r();
      }, ms);
      this.timers.add(t);
    });
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const fault = this.pick();
    if (fault) this.faults[fault]++;
    switch (fault) {
      case '429':
        res.writeHead(429, {
          'Content-Type': 'application/json',
          'Retry-After': String(this.options.retryAfterS ?? 1),
        });
        return void res.end('{"detail":"Too many requests (injected)"}');
      case '500':
      case '503':
        res.writeHead(Number(fault), {'Content-Type': 'application/json'});
        return void res.end(`{"detail":"injected ${fault}"}`);
      case 'hang-before':
        await this.later(this.options.hangMs);
        return void req.socket.destroy();
      case 'reset-before':
        return void req.socket.resetAndDestroy();
      default:
        break;
    }
    let upstream: {
      status: number;
      headers: IncomingMessage['headers'];
      body: Buffer;
    };
    try {
      upstream = await this.forward(req, body);
    } catch (err) {
      res.writeHead(502, {'Content-Type': 'application/json'});
      return void res.end(
        JSON.stringify({
          detail: `proxy: upstream failed: ${(err as Error).message}`,
        }),
      );
    }
    if (fault === 'hang-after') {
      await this.later(this.options.hangMs);
      return void req.socket.destroy();
    }
    if (fault === 'reset-after') return void req.socket.resetAndDestroy();
    const headers = {...upstream.headers};
    delete headers['transfer-encoding'];
    delete headers.connection;
    delete headers['keep-alive'];
    headers['content-length'] = String(upstream.body.length);
    res.writeHead(upstream.status, headers);
    res.end(upstream.body);
  }

  private forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{
    status: number;
    headers: IncomingMessage['headers'];
    body: Buffer;
  }> {
    return new Promise((resolve, reject) => {
      const headers = {...req.headers, host: this.target.host};
      delete headers.connection;
      const up = httpRequest(
        {
          host: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers,
          agent: this.agent,
          timeout: 60_000,
        },
        r => {
          const parts: Buffer[] = [];
          r.on('data', (c: Buffer) => parts.push(c));
          r.on('end', () =>
            resolve({
              status: r.statusCode ?? 502,
              headers: r.headers,
              body: Buffer.concat(parts),
            }),
          );
          r.on('error', reject);
        },
      );
      up.on('timeout', () => up.destroy(new Error('upstream timeout')));
      up.on('error', reject);
      up.end(body);
    });
  }
}
