/**
 * STAND-IN for Cloud Composer's front door (the Google-managed proxy in front
 * of the Airflow web server), which cannot run here. Like the real one, it
 * admits only requests bearing a Google credential of the caller's service
 * account, here: an access token the metadata-server stand-in issued, or (IAP
 * mode) an ID token whose audience is the configured IAP client id. It then
 * forwards to the real Airflow with Airflow's own credentials, as Composer
 * maps the Google identity to an Airflow user.
 */
import {createServer, type Server} from 'node:http';
import {closeServer, listenLoopback} from './http';
import type {MetadataServerStandIn} from './metadata-server';

export interface FrontDoorOptions {
  /** IAP mode: accept ID tokens with this audience instead of access tokens. */
  iapAudience?: string;
}

export class ComposerFrontDoorStandIn {
  url = '';
  admitted = 0;
  refused = 0;
  /** Paths of the admitted requests, in order. */
  readonly requests: string[] = [];
  private server?: Server;

  constructor(
    private readonly metadata: MetadataServerStandIn,
    private readonly upstream: {
      url: string;
      authHeaders(): Promise<Record<string, string>>;
    },
    private readonly options: FrontDoorOptions = {},
  ) {}

  private admits(authorization: string | undefined): boolean {
    const token = authorization?.startsWith('Bearer ')
      ? authorization.slice(7)
      : undefined;
    if (!token) return false;
    if (this.options.iapAudience)
      return this.metadata.idTokens.some(
        t => t.token === token && t.audience === this.options.iapAudience,
      );
    return this.metadata.tokens.includes(token);
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      if (!this.admits(req.headers.authorization)) {
        this.refused++;
        res
          .writeHead(401, {'Content-Type': 'text/html'})
          .end('<html>401: Unauthorized (stand-in Composer front door)</html>');
        return;
      }
      this.admitted++;
      this.requests.push(req.url ?? '/');
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers: Record<string, string> = {
        ...(await this.upstream.authHeaders()),
      };
      if (req.headers['content-type'])
        headers['Content-Type'] = req.headers['content-type'];
      try {
        const up = await fetch(this.upstream.url + (req.url ?? '/'), {
          method: req.method,
          headers,
          body: chunks.length ? Buffer.concat(chunks) : undefined,
        });
        res.writeHead(up.status, {
          'Content-Type': up.headers.get('content-type') ?? 'application/json',
        });
        res.end(Buffer.from(await up.arrayBuffer()));
      } catch (err) {
        res.writeHead(502).end(`upstream error: ${(err as Error).message}`);
      }
    });
    this.url = await listenLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}
