/**
 * STAND-IN for the Cloud Composer API (composer.googleapis.com), which cannot
 * be reached from here. Serves environments.get from a recorded Environment
 * resource (test/fixtures/composer-environment.json) with the airflowUri and
 * image version a test sets, and only to callers bearing an access token the
 * metadata-server stand-in issued.
 *
 * environments.executeAirflowCommand / pollAirflowCommand (the private-IP
 * path): the stand-in owns only the API surface and its auth. The command is
 * the REAL `airflow` CLI of the provisioned virtualenv, run against the real
 * Airflow database of the environment it was registered with; its real
 * output lines and exit code are what pollAirflowCommand streams. Shapes as
 * in Google's discovery document (ExecuteAirflowCommandRequest {command,
 * subcommand, parameters[]}, -> {executionId, pod, podNamespace, error};
 * PollAirflowCommandRequest {executionId, pod, podNamespace,
 * nextLineNumber} -> {output[{lineNumber, content}], outputEnd, exitInfo
 * {exitCode, error}}).
 */
import {spawn} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {createServer, type IncomingMessage, type Server} from 'node:http';
import {closeServer, listenLoopback} from './http';
import {readFileSync} from 'node:fs';
import type {MetadataServerStandIn} from './metadata-server';
import {fixture} from './paths';

/** What `airflow` to run, where and with which database (RealAirflow.cli()). */
export interface AirflowCli {
  bin: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

interface Execution {
  lines: string[];
  exitCode?: number;
  error?: string;
}

/** The commands Composer lets executeAirflowCommand run that the launcher uses (Composer allows more). */
const ALLOWED = new Set(['dags trigger', 'dags list-runs', 'dags state']);

export class ComposerApiStandIn {
  url = '';
  readonly calls: string[] = [];
  /** Every command run by executeAirflowCommand, as the CLI's argv. */
  readonly commands: string[][] = [];
  private server?: Server;
  private readonly environments = new Map<string, Record<string, unknown>>();
  private readonly clis = new Map<string, AirflowCli>();
  private readonly executions = new Map<string, Execution>();

  constructor(private readonly metadata: MetadataServerStandIn) {}

  /** Registers `projects/P/locations/L/environments/E` with its Airflow URL and image version (and its CLI, for executeAirflowCommand). */
  addEnvironment(
    name: string,
    airflowUri: string,
    imageVersion: string,
    cli?: AirflowCli,
  ): void {
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
    if (cli) this.clis.set(name, cli);
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
      const error = (code: number, status: string, message: string) =>
        send(code, {error: {code, status, message}});
      if (!token || !this.metadata.tokens.includes(token))
        return error(
          401,
          'UNAUTHENTICATED',
          'Request had invalid authentication credentials.',
        );
      const method =
        /^\/v1\/(.+?):(executeAirflowCommand|pollAirflowCommand)$/.exec(path);
      if (method && req.method === 'POST') {
        const cli = this.clis.get(method[1]!);
        if (!this.environments.has(method[1]!) || !cli)
          return error(404, 'NOT_FOUND', `Environment ${method[1]} not found.`);
        void readJson(req).then(body =>
          body === undefined
            ? error(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.')
            : method[2] === 'executeAirflowCommand'
              ? this.execute(cli, body, send, error)
              : this.poll(body, send, error),
        );
        return;
      }
      const env =
        req.method === 'GET'
          ? this.environments.get(path.replace(/^\/v1\//, ''))
          : undefined;
      if (!env)
        return error(404, 'NOT_FOUND', `Environment ${path} not found.`);
      send(200, env);
    });
    this.url = await listenLoopback(this.server);
    return this;
  }

  private execute(
    cli: AirflowCli,
    body: Record<string, unknown>,
    send: (status: number, body: unknown) => void,
    error: (code: number, status: string, message: string) => void,
  ): void {
    const unknown = Object.keys(body).filter(
      k => !['command', 'subcommand', 'parameters'].includes(k),
    );
    if (unknown.length)
      return error(
        400,
        'INVALID_ARGUMENT',
        `Invalid JSON payload received. Unknown name "${unknown[0]}"`,
      );
    const {
      command,
      subcommand,
      parameters = [],
    } = body as {
      command?: unknown;
      subcommand?: unknown;
      parameters?: unknown;
    };
    if (
      typeof command !== 'string' ||
      typeof subcommand !== 'string' ||
      !Array.isArray(parameters) ||
      !parameters.every(p => typeof p === 'string')
    )
      return error(
        400,
        'INVALID_ARGUMENT',
        'command, subcommand: strings; parameters: a list of strings',
      );
    if (!ALLOWED.has(`${command} ${subcommand}`))
      return error(
        400,
        'INVALID_ARGUMENT',
        `The command '${command} ${subcommand}' is not supported.`,
      );
    const argv = [command, subcommand, ...(parameters as string[])];
    this.commands.push(argv);
    const id = randomUUID();
    const run: Execution = {lines: []};
    this.executions.set(id, run);
    const child = spawn(cli.bin, argv, {
      env: cli.env,
      cwd: cli.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = {out: '', err: ''};
    const feed = (which: 'out' | 'err') => (chunk: Buffer) => {
      const text = partial[which] + chunk.toString();
      const lines = text.split('\n');
      partial = {...partial, [which]: lines.pop()!};
      run.lines.push(...lines);
    };
    child.stdout.on('data', feed('out'));
    child.stderr.on('data', feed('err'));
    child.on('close', code => {
      for (const rest of [partial.out, partial.err])
        if (rest) run.lines.push(rest);
      run.exitCode = code ?? 1;
      if (code !== 0) run.error = `Command exited with code ${code}`;
    });
    send(200, {
      executionId: id,
      pod: 'airflow-worker-standin',
      podNamespace: 'composer-standin',
      error: '',
    });
  }

  private poll(
    body: Record<string, unknown>,
    send: (status: number, body: unknown) => void,
    error: (code: number, status: string, message: string) => void,
  ): void {
    const run = this.executions.get(String(body.executionId));
    if (!run)
      return error(
        404,
        'NOT_FOUND',
        `Execution ${String(body.executionId)} not found.`,
      );
    const from = Math.max(1, Number(body.nextLineNumber ?? 1));
    const output = run.lines
      .slice(from - 1)
      .map((content, i) => ({lineNumber: from + i, content}));
    const outputEnd = run.exitCode !== undefined;
    send(200, {
      output,
      outputEnd,
      ...(outputEnd && {
        exitInfo: {exitCode: run.exitCode, error: run.error ?? ''},
      }),
    });
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}

function readJson(
  req: IncomingMessage,
): Promise<Record<string, unknown> | undefined> {
  return new Promise(resolve => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      try {
        const v = JSON.parse(text) as unknown;
        resolve(
          v !== null && typeof v === 'object' && !Array.isArray(v)
            ? (v as Record<string, unknown>)
            : undefined,
        );
      } catch {
        resolve(undefined);
      }
    });
  });
}
