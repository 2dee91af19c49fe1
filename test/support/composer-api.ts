/**
 * STAND-IN for the Cloud Composer API (composer.googleapis.com), which cannot
 * be reached from here. Serves environments.get from a recorded Environment
 * resource (test/fixtures/composer-environment.json) with the airflowUri and
 * image version a test sets, and only to callers bearing an access token the
 * metadata-server stand-in issued.
 */
import {createServer, type Server} from 'node:http';
import {closeServer, listenLoopback} from './http';
import {readFileSync} from 'node:fs';
import type {MetadataServerStandIn} from './metadata-server';
import {fixture} from './paths';

export class ComposerApiStandIn {
  url = '';
  readonly calls: string[] = [];
  private server?: Server;
  private readonly environments = new Map<string, Record<string, unknown>>();

  constructor(private readonly metadata: MetadataServerStandIn) {}

  /** Registers `projects/P/locations/L/environments/E` with its Airflow URL and image version. */
  addEnvironment(name: string, airflowUri: string, imageVersion: string): void {
    const recorded = JSON.parse(
      readFileSync(fixture('composer-environment.json'), 'utf8'),
    ) as {
      config: Record<string, unknown> & {
        softwareConfig: Record<string, unknown>;
      };
    };
    recorded.config.airflowUri = airflowUri;
    recorded.config.softwareConfig.imageVersion = imageVersion;
    this.environments.set(name, {...recorded, name});
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const token = req.headers.authorization?.replace(/^Bearer /, '');
      const path = (req.url ?? '').split('?')[0]!;
      this.calls.push(path);
      const send = (status: number, body: unknown) =>
        res
          .writeHead(status, {'Content-Type': 'application/json'})
          .end(JSON.stringify(body));
      if (!token || !this.metadata.tokens.includes(token))
        return send(401, {
          error: {
            code: 401,
            status: 'UNAUTHENTICATED',
            message: 'Request had invalid authentication credentials.',
          },
        });
      const env =
        req.method === 'GET'
          ? this.environments.get(path.replace(/^\/v1\//, ''))
          : undefined;
      if (!env)
        return send(404, {
          error: {
            code: 404,
            status: 'NOT_FOUND',
            message: `Environment ${path} not found.`,
          },
        });
      send(200, env);
    });
    this.url = await listenLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}
