/**
 * STAND-IN for an Airflow web server's REST API, for fast integration tests.
 * Every request is validated against Apache Airflow's official OpenAPI spec
 * (from inside the provisioned Airflow packages, see openapi-specs.ts) by
 * openapi-backend; a request the spec refuses (body, path or query
 * parameters) is answered 400 and recorded in `invalidRequests`, so a test
 * can assert that none happened. Its own answers to the operations it
 * implements are checked against the same spec's response schemas, and an
 * answer that breaks them is recorded in `invalidResponses`. It keeps DAG
 * runs in memory and answers like Airflow (the bodies are Airflow 2.11's and
 * 3.3's own): 409 for an existing dag_run_id, 404 for an unknown DAG, GET of
 * one run. `takeLogicalDate` makes the next trigger of a DAG meet another
 * run holding its logical date (Airflow 2's second kind of 409; Airflow 3's
 * unique constraint). Asset (dataset) events: standin-assets.ts, with the
 * assets a test `declareAsset`s.
 *
 * It exposes the same small surface as the real-Airflow harness (url, api,
 * runs of a DAG), so a test can swap one for the other.

 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import {closeServer, listenLoopback} from './http';
import {readFileSync} from 'node:fs';
import {parse as parseYaml} from 'yaml';
import OpenAPIBackend, {type Context, type Document} from 'openapi-backend';
import addFormats from 'ajv-formats';
import {airflowSpecPath} from './openapi-specs';
import {StandInAssets} from './standin-assets';
import {
  dagBody,
  notFoundBody,
  nullableWithoutType,
  runBody,
} from './standin-bodies';

export interface StoredRun {
  dag_id: string;
  dag_run_id: string;
  conf: Record<string, unknown>;
  logical_date: string | null;
  note: string | null;
}

export interface Fault {
  status?: number;
  hangMs?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Drop the connection without an answer (a reset, as from an overloaded proxy). */
  reset?: boolean;
  /** Put the request's headers and body in the error body, as some proxies and debug pages do. */
  echo?: boolean;
}

const specCache = new Map<string, Document>();
function spec(api: 'v1' | 'v2'): Document {
  let d = specCache.get(api);
  if (!d) {
    d = nullableWithoutType(
      parseYaml(readFileSync(airflowSpecPath(api), 'utf8')),
    ) as Document;
    specCache.set(api, d);
  }
  return structuredClone(d);
}

export class AirflowStandIn {
  readonly runs = new Map<string, StoredRun[]>();
  readonly requests: {
    method: string;
    path: string;
    headers: IncomingMessage['headers'];
    body: unknown;
  }[] = [];
  readonly invalidRequests: {path: string; errors: unknown}[] = [];
  /** Answers of this stand-in that break the spec's response schema (a bug of the stand-in). */
  readonly invalidResponses: {
    operationId: string;
    status: number;
    errors: unknown;
  }[] = [];
  /** Assets Airflow knows and the asset events created (POST /api/v2/assets/events, /api/v1/datasets/events). */
  readonly assets: StandInAssets;
  readonly faults: Fault[] = [];
  /** What GET /version answers; default the Airflow the spec comes from. */
  version?: string;
  /** DAGs whose next trigger meets another run with the same logical date. */
  private readonly logicalDateTaken = new Set<string>();
  /** When set, only `Authorization: Bearer <expectedToken()>` is admitted (401 otherwise). */
  expectedToken?: () => string | undefined;
  /**
   * Echoes (refused credentials, `echo` faults) written as Python's json.dumps
   * writes them by default: every non-ASCII character as `\uXXXX`.
   */
  pythonEcho = false;
  /** When set, POST /auth/token issues JWTs for these credentials (Airflow 3's SimpleAuthManager endpoint). */
  jwtUsers?: Record<string, string>;
  readonly issuedJwts: string[] = [];
  url = '';
  private server?: Server;
  private backend!: OpenAPIBackend;
  readonly prefix: string;

  constructor(
    readonly api: 'v1' | 'v2',
    readonly dags: Record<string, {paused?: boolean}> = {},
  ) {
    this.prefix = api === 'v1' ? '/api/v1' : '';
    this.assets = new StandInAssets(api, (c, res, status, body) =>
      this.answer(c, res, status, body),
    );
  }

  /** Airflow knows this asset from now on (a parsed DAG declares it); returns its id. */
  declareAsset(uri: string): number {
    return this.assets.declare(uri);
  }

  runsOf(dagId: string): StoredRun[] {
    return this.runs.get(dagId) ?? [];
  }

  /** The next trigger of `dagId` is refused because another run holds its logical date. */
  takeLogicalDate(dagId: string): void {
    this.logicalDateTaken.add(dagId);
  }

  async start(): Promise<this> {
    this.backend = new OpenAPIBackend({
      definition: spec(this.api),
      // quick: skips openapi-backend's OpenAPI 3.0 meta-validation of the document, which refuses
      // Airflow 3's OpenAPI 3.1 spec; request validation (ajv) still applies in full.
      quick: true,
      validate: true,
      strict: false,
      ajvOpts: {strict: false, allErrors: true},
      customizeAjv: ajv => {
        addFormats(ajv);
        // Airflow 2's `{uri}` path parameter (a dataset URI with its slashes) is `format: path`.
        ajv.addFormat('path', true);
        return ajv;
      },
      handlers: {
        ...this.assets.handlers(),
        [this.api === 'v1' ? 'post_dag_run' : 'trigger_dag_run']: (
          c: Context,
          _req: unknown,
          res: unknown,
        ) => this.trigger(c, res as ServerResponse),
        get_dag: (c, _req, res) => this.getDag(c, res as ServerResponse),
        get_dag_run: (c, _req, res) => this.getDagRun(c, res as ServerResponse),
        get_version: (c, _req, res) =>
          this.answer(c, res as ServerResponse, 200, {
            version: this.version ?? (this.api === 'v1' ? '2.11.2' : '3.3.2'),
            git_version: null,
          }),
        validationFail: (c, req, res) => {
          this.invalidRequests.push({
            path: (req as IncomingMessage).url ?? '',
            errors: c.validation.errors,
          });
          json(res as ServerResponse, 400, {
            detail: 'request does not match the Airflow OpenAPI spec',
            errors: c.validation.errors,
          });
        },
        notFound: (_c, _req, res) =>
          json(res as ServerResponse, 404, {detail: 'Not Found'}),
        notImplemented: (c, _req, res) =>
          json(res as ServerResponse, 501, {
            detail: `stand-in does not implement ${c.operation?.operationId}`,
          }),
      },
    });
    // Authentication is checked above, the way the deployment under test does it.
    const schemes = Object.keys(
      (this.backend.document?.components?.securitySchemes as
        object | undefined) ?? {},
    );
    await this.backend.init();
    for (const name of Object.keys(
      this.backend.definition.components?.securitySchemes ?? {},
    ).concat(schemes)) {
      this.backend.registerSecurityHandler(name, () => true);
    }
    this.server = createServer((req, res) => void this.handle(req, res));
    this.url = await listenLoopback(this.server);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      /* left as text: the validator refuses it */
    }
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      headers: req.headers,
      body,
    });
    if (
      url.pathname === '/auth/token' &&
      req.method === 'POST' &&
      this.jwtUsers
    )
      return this.issueJwt(body, res);
    const fault = this.faults.shift();
    if (fault?.echo)
      return (this.pythonEcho ? pythonJson : json)(res, fault.status ?? 500, {
        detail: `injected ${fault.status ?? 500}`,
        request: {headers: req.headers, body: raw},
      });
    if (fault?.hangMs) await new Promise(r => setTimeout(r, fault.hangMs));
    if (fault?.reset) {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault?.status)
      return json(
        res,
        fault.status,
        fault.body
          ? JSON.parse(fault.body)
          : {detail: `injected ${fault.status}`},
        fault.headers,
      );
    if (this.expectedToken) {
      const want = this.expectedToken();
      if (!want || req.headers.authorization !== `Bearer ${want}`)
        return json(res, 401, {detail: 'Not authenticated'});
    }
    if (this.prefix && !url.pathname.startsWith(this.prefix))
      return json(res, 404, {detail: 'Not Found'});
    await this.backend.handleRequest(
      {
        method: req.method ?? 'GET',
        path: url.pathname.slice(this.prefix.length),
        query: Object.fromEntries(url.searchParams),
        headers: req.headers as Record<string, string>,
        body,
      },
      req,
      res,
    );
  }

  /**
   * Answers an operation of the spec, after checking the answer against the
   * operation's response schema for that status (or its default); an answer
   * the spec does not allow is still sent, and recorded in invalidResponses.
   */
  private answer(
    c: Context,
    res: ServerResponse,
    status: number,
    body: unknown,
  ): void {
    const op = c.operation;
    const declared =
      op && (op.responses?.[String(status)] ?? op.responses?.default);
    const result = !op
      ? {errors: 'no operation'}
      : !declared
        ? {errors: `status ${status} is not declared for ${op.operationId}`}
        : this.backend.validateResponse(body, op, status);
    if (result.errors)
      this.invalidResponses.push({
        operationId: String(op?.operationId),
        status,
        errors: result.errors,
      });
    json(res, status, body);
  }

  private issueJwt(body: unknown, res: ServerResponse): void {
    const {username, password} = (body ?? {}) as {
      username?: string;
      password?: string;
    };
    // An endpoint that echoes what it was sent when it refuses it, password included.
    if (!username || this.jwtUsers?.[username] !== password)
      return (this.pythonEcho ? pythonJson : json)(res, 401, {
        detail: 'Invalid credentials',
        received: body,
      });
    const payload = Buffer.from(
      JSON.stringify({
        sub: username,
        exp: Math.floor(Date.now() / 1000) + 3600,
        n: this.issuedJwts.length,
      }),
    ).toString('base64url');
    const token = `eyJhbGciOiJIUzUxMiJ9.${payload}.c2lnbmF0dXJl${this.issuedJwts.length}`;
    this.issuedJwts.push(token);
    json(res, 201, {access_token: token});
  }

  /** Airflow's 404 for an unknown DAG. */
  private dagNotFound(c: Context, res: ServerResponse, dagId: string): void {
    this.answer(
      c,
      res,
      404,
      notFoundBody(
        this.api,
        `DAG with dag_id: '${dagId}' not found`,
        'DAG not found',
      ),
    );
  }

  private trigger(c: Context, res: ServerResponse): void {
    const dagId = String(c.request.params.dag_id);
    if (!(dagId in this.dags)) return this.dagNotFound(c, res, dagId);
    const body = c.request.requestBody as Record<string, unknown>;
    const list = this.runs.get(dagId) ?? [];
    const runId = String(body.dag_run_id);
    const ours = list.some(r => r.dag_run_id === runId);
    if (this.logicalDateTaken.delete(dagId) || ours)
      return this.conflict(c, res, dagId, ours ? runId : undefined);
    const run: StoredRun = {
      dag_id: dagId,
      dag_run_id: runId,
      conf: (body.conf as Record<string, unknown>) ?? {},
      logical_date: (body.logical_date as string | null) ?? null,
      note: (body.note as string) ?? null,
    };
    list.push(run);
    this.runs.set(dagId, list);
    this.answer(c, res, 200, runBody(this.api, run));
  }

  /** Airflow's own 409 bodies: v1 says which run it met; v2 only "Unique constraint violation". */
  private conflict(
    c: Context,
    res: ServerResponse,
    dagId: string,
    runId?: string,
  ): void {
    if (this.api === 'v2')
      return this.answer(c, res, 409, {
        detail: {
          reason: 'Unique constraint violation',
          statement: 'hidden',
          orig_error: 'hidden',
          message:
            'Serious error when handling your request. Check logs for more details - you will find it in api server when you look for ID standin',
        },
      });
    this.answer(c, res, 409, {
      detail: runId
        ? `DAGRun with DAG ID: '${dagId}' and DAGRun ID: '${runId}' already exists`
        : `DAGRun with DAG ID: '${dagId}' and DAGRun logical date: '${new Date().toISOString().replace('T', ' ')}' already exists`,
      status: 409,
      title: 'Conflict',
      type: 'https://airflow.apache.org/docs/apache-airflow/2.11.2/stable-rest-api-ref.html#section/Errors/AlreadyExists',
    });
  }

  private getDagRun(c: Context, res: ServerResponse): void {
    const dagId = String(c.request.params.dag_id);
    const runId = String(c.request.params.dag_run_id);
    const run = this.runsOf(dagId).find(r => r.dag_run_id === runId);
    if (run) return this.answer(c, res, 200, runBody(this.api, run));
    this.answer(
      c,
      res,
      404,
      this.api === 'v2'
        ? {
            detail: `The DagRun with dag_id: \`${dagId}\` and run_id: \`${runId}\` was not found`,
          }
        : {
            detail: `DAGRun with DAG ID: '${dagId}' and DagRun ID: '${runId}' not found`,
            status: 404,
            title: 'DAGRun not found',
            type: 'https://airflow.apache.org/docs/apache-airflow/2.11.2/stable-rest-api-ref.html#section/Errors/NotFound',
          },
    );
  }

  private getDag(c: Context, res: ServerResponse): void {
    const dagId = String(c.request.params.dag_id);
    const dag = this.dags[dagId];
    if (!dag) return this.dagNotFound(c, res, dagId);
    this.answer(c, res, 200, dagBody(this.api, dagId, dag.paused ?? false));
  }
}

/** JSON as Python's json.dumps writes it by default (ensure_ascii): non-ASCII as \uXXXX. */
function pythonJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'Content-Type': 'application/json'});
  res.end(
    JSON.stringify(body).replace(
      /[^\x20-\x7f]/g,
      c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    ),
  );
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {'Content-Type': 'application/json', ...headers});
  res.end(JSON.stringify(body));
}
