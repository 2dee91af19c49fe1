/**
 * STAND-IN for the GCE metadata server (what Cloud Functions' runtime serves
 * at metadata.google.internal), which cannot be reached from here. The real
 * google-auth-library talks to it through GCE_METADATA_HOST. Every answer
 * carries `Metadata-Flavor: Google`; requests without that header are refused,
 * as the real server does.
 */
import {createServer, type Server} from 'node:http';
import {closeServer, listenLoopback} from './http';
import {randomBytes} from 'node:crypto';

export interface MetadataServerOptions {
  /** Access token lifetime in seconds (default 3599, as Google issues). */
  tokenLifetimeSec?: number;
  projectId?: string;
  email?: string;
}

export class MetadataServerStandIn {
  private server?: Server;
  /** Every access token issued, newest last. */
  readonly tokens: string[] = [];
  /** Every ID token issued, with its audience. */
  readonly idTokens: {token: string; audience: string}[] = [];
  tokenRequests = 0;
  /** performance.now() of each access-token request. */
  readonly tokenRequestTimes: number[] = [];
  /** The `scopes` query parameter of each access-token request ('' when absent). */
  readonly tokenScopes: string[] = [];
  /** When set, token requests fail with this HTTP status. */
  failTokens?: number;
  host = '';

  constructor(private readonly options: MetadataServerOptions = {}) {}

  get currentToken(): string | undefined {
    return this.tokens.at(-1);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://metadata');
      const send = (
        status: number,
        body: string,
        type = 'application/text',
      ) => {
        res.writeHead(status, {
          'Metadata-Flavor': 'Google',
          'Content-Type': type,
        });
        res.end(body);
      };
      if (req.headers['metadata-flavor'] !== 'Google')
        return send(403, 'Missing Metadata-Flavor header');
      const p = url.pathname.replace(/\/+$/, '');
      if (
        p === '' ||
        p === '/computeMetadata/v1' ||
        p === '/computeMetadata/v1/instance'
      )
        return send(200, '');
      if (p === '/computeMetadata/v1/project/project-id')
        return send(200, this.options.projectId ?? 'test-project');
      if (p === '/computeMetadata/v1/project/numeric-project-id')
        return send(200, '123456789');
      if (p === '/computeMetadata/v1/instance/service-accounts/default/email')
        return send(
          200,
          this.options.email ?? 'launcher@test-project.iam.gserviceaccount.com',
        );
      if (p === '/computeMetadata/v1/instance/service-accounts/default/token') {
        this.tokenRequests++;
        this.tokenRequestTimes.push(performance.now());
        this.tokenScopes.push(url.searchParams.get('scopes') ?? '');
        if (this.failTokens)
          return send(this.failTokens, 'token service unavailable');
        const token = `ya29.standin-${randomBytes(12).toString('hex')}`;
        this.tokens.push(token);
        return send(
          200,
          JSON.stringify({
            access_token: token,
            expires_in: this.options.tokenLifetimeSec ?? 3599,
            token_type: 'Bearer',
          }),
          'application/json',
        );
      }
      if (
        p === '/computeMetadata/v1/instance/service-accounts/default/identity'
      ) {
        const audience = url.searchParams.get('audience') ?? '';
        this.tokenRequests++;
        if (this.failTokens)
          return send(this.failTokens, 'identity service unavailable');
        const token = fakeIdToken(
          audience,
          this.options.email ?? 'launcher@test-project.iam.gserviceaccount.com',
          this.options.tokenLifetimeSec ?? 3600,
        );
        this.idTokens.push({token, audience});
        return send(200, token);
      }
      return send(404, `stand-in metadata server has no ${p}`);
    });
    this.host = (await listenLoopback(this.server)).replace('http://', '');
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}

/** A JWT-shaped ID token (unsigned: the stand-in front door only reads its claims). */
export function fakeIdToken(
  audience: string,
  email: string,
  lifetimeSec: number,
): string {
  const b64 = (o: unknown) =>
    Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({alg: 'RS256', typ: 'JWT'})}.${b64({aud: audience, email, iss: 'https://accounts.google.com', iat: now, exp: now + lifetimeSec, nonce: randomBytes(6).toString('hex')})}.c2lnbmF0dXJl`;
}
