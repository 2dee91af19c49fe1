/**
 * The real Apache Airflow (from PyPI, provisioned by test/airflow/provision.sh
 * into a cache directory) started on 127.0.0.1 with its metadata database in a
 * throwaway PostgreSQL server (as on Cloud Composer; SQLite cannot take
 * concurrent triggers) and DAG files of the tests' own in a temp dir. Airflow 3 runs `airflow
 * api-server` (public API /api/v2, JWT from POST /auth/token); Airflow 2 runs
 * `airflow webserver` (/api/v1 with the basic-auth backend, optionally the
 * experimental API). Stopped by the PID this harness started.
 *
 * Over 300 lines: one lifecycle (PostgreSQL, migrations, users, api-server, scheduler, dag-processor) for two Airflow generations whose set-up differs at every step.
 */
import {
  execFile,
  spawn,
  spawnSync,
  type ChildProcess,
} from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import {homedir, tmpdir} from 'node:os';
import {join} from 'node:path';
import {randomBytes} from 'node:crypto';
import {freePort} from './function-process';
import {PostgresServer} from './postgres';
import {stopChild} from './process';

export const AIRFLOW_CACHE =
  process.env.DAG_LAUNCHER_CACHE ?? join(homedir(), '.cache', 'dag-launcher');

export interface AirflowOptions {
  /** DAG ids to create; `paused` ones start paused. */
  dags: string[];
  paused?: string[];
  /** Airflow 2 only: serve /api/experimental (the Airflow 1.10 contract). */
  experimentalApi?: boolean;
  /** Run the scheduler (see startScheduler) so triggered runs really run. */
  scheduler?: boolean;
  /** DAG ids whose one task (`echo_conf`) logs its run's conf and returns it as XCom. */
  echoDags?: string[];
  /** DAG files of a test's own: file stem -> Python source (e.g. ds-echo, asset-scheduled DAGs). */
  dagFiles?: Record<string, string>;
  /** Airflow 2 only: gunicorn workers (default 1). Each serves one request at a time. */
  webserverWorkers?: number;
  /**
   * Airflow 2 only: store the admin password with 1,000 PBKDF2 rounds
   * instead of werkzeug's default (hundreds of thousands), which Airflow's
   * basic-auth backend re-checks on every request: ~0.2 s of CPU each, the
   * whole budget of a 2-core machine under a soak's load.
   */
  fastBasicAuth?: boolean;
}

export interface AirflowRun {
  dag_id: string;
  dag_run_id: string;
  conf: Record<string, unknown>;
  logical_date: string | null;
  state: string;
  note: string | null;
}

/** An asset (dataset) event as Airflow lists it. */
export interface AirflowAssetEvent {
  uri: string;
  extra: Record<string, unknown>;
  timestamp: string;
}

interface RawAssetEvent {
  extra?: Record<string, unknown> | null;
  timestamp: string;
}

export function airflowBin(major: 2 | 3): string {
  return join(AIRFLOW_CACHE, `airflow-${major}`, 'bin', 'airflow');
}

export function airflowAvailable(major: 2 | 3): boolean {
  return existsSync(airflowBin(major));
}

export class RealAirflow {
  url = '';
  readonly username = 'admin';
  readonly password = `pw-${randomBytes(9).toString('hex')}`;
  version = '';
  private child?: ChildProcess;
  private home = '';
  private jwt?: string;
  private output: string[] = [];
  private pg?: PostgresServer;
  private serverEnv: NodeJS.ProcessEnv = {};
  private dbUrl = '';
  private readonly schedulerProcesses: ChildProcess[] = [];

  private constructor(readonly major: 2 | 3) {}

  get api(): 'v1' | 'v2' {
    return this.major === 3 ? 'v2' : 'v1';
  }

  static async start(
    major: 2 | 3,
    options: AirflowOptions,
  ): Promise<RealAirflow> {
    const af = new RealAirflow(major);
    try {
      await af.boot(options);
    } catch (e) {
      await af.stop();
      throw e;
    }
    return af;
  }

  private env(port: number, options: AirflowOptions): NodeJS.ProcessEnv {
    const common = {
      PATH: process.env.PATH ?? '',
      HOME: this.home,
      AIRFLOW_HOME: this.home,
      AIRFLOW__CORE__DAGS_FOLDER: join(this.home, 'dags'),
      AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
      AIRFLOW__CORE__UNIT_TEST_MODE: 'False',
      AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: this.dbUrl,
      // One request can hold a pooled connection while it waits for a second
      // one; with the default pool (5 + 10) a burst of concurrent triggers
      // waits out pool_timeout (30 s) and fails. Room for a burst of 64.
      AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE: '32',
      AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW: '96',
      AIRFLOW__LOGGING__LOGGING_LEVEL: 'WARNING',
      NO_PROXY: '*',
    };
    if (this.major === 3) {
      writeFileSync(
        join(this.home, 'passwords.json'),
        JSON.stringify({[this.username]: this.password}),
      );
      return {
        ...common,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: `${this.username}:admin`,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: join(
          this.home,
          'passwords.json',
        ),
        AIRFLOW__API_AUTH__JWT_SECRET: randomBytes(24).toString('hex'),
        AIRFLOW__API__WORKERS: '1',
        AIRFLOW__API__BASE_URL: `http://127.0.0.1:${port}`,
      };
    }
    return {
      ...common,
      AIRFLOW__API__AUTH_BACKENDS: 'airflow.api.auth.backend.basic_auth',
      AIRFLOW__API__ENABLE_EXPERIMENTAL_API: options.experimentalApi
        ? 'True'
        : 'False',
      AIRFLOW__WEBSERVER__WORKERS: String(options.webserverWorkers ?? 1),
      // returnValue() reads XComs with deserialize=true, which Airflow 2 refuses (400) unless enabled.
      AIRFLOW__API__ENABLE_XCOM_DESERIALIZE_SUPPORT: 'True',
      AIRFLOW__WEBSERVER__SECRET_KEY: randomBytes(16).toString('hex'),
      AIRFLOW__WEBSERVER__WEB_SERVER_MASTER_TIMEOUT: '120',
    };
  }

  private async boot(options: AirflowOptions): Promise<void> {
    const bin = airflowBin(this.major);
    if (!existsSync(bin))
      throw new Error(
        `Airflow ${this.major} is not provisioned at ${bin}: run test/airflow/provision.sh`,
      );
    this.home = mkdtempSync(
      join(tmpdir(), `dag-launcher-airflow${this.major}-`),
    );
    mkdirSync(join(this.home, 'dags'));
    this.pg = await PostgresServer.start();
    this.dbUrl = this.pg.createDatabase('airflow');
    for (const dag of options.dags)
      writeFileSync(
        join(this.home, 'dags', `${dag}.py`),
        dagFile(this.major, dag, options.paused?.includes(dag) ?? false),
      );
    for (const dag of options.echoDags ?? [])
      writeFileSync(join(this.home, 'dags', `${dag}.py`), echoDagFile(dag));
    for (const [stem, source] of Object.entries(options.dagFiles ?? {}))
      writeFileSync(join(this.home, 'dags', `${stem}.py`), source);
    const port = await freePort();
    const env = this.env(port, options);
    this.serverEnv = env;
    const run = (args: string[]) => this.airflowCli(args);
    run(['db', 'migrate']);
    if (this.major === 2)
      run([
        'users',
        'create',
        '-u',
        this.username,
        '-p',
        this.password,
        '-r',
        'Admin',
        '-f',
        'Dag',
        '-l',
        'Launcher',
        '-e',
        'admin@example.com',
      ]);
    if (this.major === 2 && options.fastBasicAuth)
      this.airflowCli(
        [
          '-c',
          [
            'import sys, psycopg2',
            'from werkzeug.security import generate_password_hash',
            "c = psycopg2.connect(sys.argv[1].replace('+psycopg2', ''))",
            "c.cursor().execute('UPDATE ab_user SET password = %s WHERE username = %s', (generate_password_hash(sys.argv[2], 'pbkdf2:sha256:1000'), sys.argv[3]))",
            'c.commit()',
          ].join('\n'),
          this.dbUrl,
          this.password,
          this.username,
        ],
        join(AIRFLOW_CACHE, 'airflow-2', 'bin', 'python'),
      );
    // Serialize the DAG files into the database so the API can trigger them without a scheduler.
    run(['dags', 'reserialize']);
    const server =
      this.major === 3
        ? ['api-server', '--port', String(port), '--host', '127.0.0.1']
        : ['webserver', '--port', String(port), '--hostname', '127.0.0.1'];
    this.child = spawn(bin, server, {
      env,
      cwd: this.home,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const keep = (c: Buffer) => {
      this.output.push(c.toString());
      if (this.output.length > 200) this.output.shift();
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.url = `http://127.0.0.1:${port}`;
    await this.waitHealthy();
    if (options.scheduler) this.startScheduler(env);
  }

  /** How to run this Airflow's own CLI against its database (the Composer API stand-in's executeAirflowCommand). */
  cli(): {bin: string; env: NodeJS.ProcessEnv; cwd: string} {
    return {bin: airflowBin(this.major), env: this.serverEnv, cwd: this.home};
  }

  private airflowCli(args: string[], bin = airflowBin(this.major)): void {
    const r = spawnSync(bin, args, {
      env: this.serverEnv,
      cwd: this.home,
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (r.status !== 0)
      throw new Error(
        `${bin} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`,
      );
  }

  private airflowCliAsync(
    args: string[],
    bin = airflowBin(this.major),
  ): Promise<void> {
    return new Promise((resolve, reject) =>
      execFile(
        bin,
        args,
        {env: this.serverEnv, cwd: this.home, timeout: 180_000},
        (err, stdout, stderr) =>
          err
            ? reject(
                new Error(
                  `${bin} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`,
                ),
              )
            : resolve(),
      ),
    );
  }

  /**
   * Replaces a DAG's file with one that fails to import and has Airflow's
   * own parser record it, as its DAG processor would after a broken deploy:
   * Airflow 3 `airflow dags reserialize` (which also marks the DAG stale);
   * Airflow 2 the DAG processor's `DagFileProcessor.process_file` (which
   * sets `has_import_errors` and leaves the DAG active).
   */
  async breakDagFile(dagId: string): Promise<void> {
    const file = join(this.home, 'dags', `${dagId}.py`);
    writeFileSync(
      file,
      `${dagFile(this.major, dagId, false)}\nraise ImportError("a deploy in progress")\n`,
    );
    // Asynchronously: a test's pooled connections must see their sockets close meanwhile.
    if (this.major === 3) return this.airflowCliAsync(['dags', 'reserialize']);
    const python = join(AIRFLOW_CACHE, 'airflow-2', 'bin', 'python');
    return this.airflowCliAsync(
      [
        '-c',
        [
          'import logging',
          'from airflow.dag_processing.processor import DagFileProcessor',
          `DagFileProcessor(dag_ids=None, dag_directory=${JSON.stringify(join(this.home, 'dags'))}, log=logging.getLogger()).process_file(${JSON.stringify(file)}, [])`,
        ].join('\n'),
      ],
      python,
    );
  }

  private async waitHealthy(): Promise<void> {
    const health = this.major === 3 ? '/api/v2/monitor/health' : '/health';
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (this.child?.exitCode !== null)
        throw new Error(
          `Airflow ${this.major} exited:\n${this.output.join('')}`,
        );
      try {
        const r = await fetch(this.url + health);
        if (r.ok) {
          const v = await fetch(`${this.url}/api/${this.api}/version`, {
            headers: await this.authHeaders(),
          });
          this.version = ((await v.json()) as {version: string}).version;
          return;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise(r => setTimeout(r, 250));
    }
    throw new Error(
      `Airflow ${this.major} not healthy within 120s:\n${this.output.join('')}`,
    );
  }

  /** Airflow's own credentials: a JWT (Airflow 3) or basic auth (Airflow 2). */
  async authHeaders(): Promise<Record<string, string>> {
    if (this.major === 2)
      return {
        Authorization: `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`,
      };
    if (!this.jwt) {
      const r = await fetch(`${this.url}/auth/token`, {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({
          username: this.username,
          password: this.password,
        }),
      });
      if (!r.ok)
        throw new Error(`POST /auth/token: ${r.status} ${await r.text()}`);
      this.jwt = ((await r.json()) as {access_token: string}).access_token;
    }
    return {Authorization: `Bearer ${this.jwt}`};
  }

  /** The DAG runs of a DAG, read back from Airflow's own API. */
  async runsOf(dagId: string): Promise<AirflowRun[]> {
    const r = await fetch(
      `${this.url}/api/${this.api}/dags/${encodeURIComponent(dagId)}/dagRuns?limit=100`,
      {headers: await this.authHeaders()},
    );
    if (!r.ok)
      throw new Error(`list runs of ${dagId}: ${r.status} ${await r.text()}`);
    return ((await r.json()) as {dag_runs: AirflowRun[]}).dag_runs;
  }

  /** Every run of a DAG, page by page (Airflow caps a page at 100). */
  async allRunsOf(dagId: string): Promise<AirflowRun[]> {
    const all: AirflowRun[] = [];
    for (let offset = 0; ; offset += 100) {
      const r = await fetch(
        `${this.url}/api/${this.api}/dags/${encodeURIComponent(dagId)}/dagRuns?limit=100&offset=${offset}&order_by=id`,
        {headers: await this.authHeaders()},
      );
      if (!r.ok)
        throw new Error(`list runs of ${dagId}: ${r.status} ${await r.text()}`);
      const page = (await r.json()) as {
        dag_runs: AirflowRun[];
        total_entries: number;
      };
      all.push(...page.dag_runs);
      if (page.dag_runs.length < 100 || all.length >= page.total_entries)
        return all;
    }
  }

  /**
   * Every asset (dataset) event of the assets whose URI starts with
   * `uriPrefix`, read back from Airflow's own API: the assets (v2
   * `GET /api/v2/assets?uri_prefix_pattern=`, v1 `GET /api/v1/datasets?uri_pattern=`),
   * then each asset's events page by page (Airflow caps a page at 100).
   */
  async assetEvents(uriPrefix: string): Promise<AirflowAssetEvent[]> {
    const v2 = this.api === 'v2';
    const get = async <T>(path: string): Promise<T> => {
      const r = await fetch(`${this.url}/api/${this.api}${path}`, {
        headers: await this.authHeaders(),
      });
      if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
      return (await r.json()) as T;
    };
    const assets: {id: number; uri: string}[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = await get<{
        assets?: {id: number; uri: string}[];
        datasets?: {id: number; uri: string}[];
        total_entries: number;
      }>(
        v2
          ? `/assets?uri_prefix_pattern=${encodeURIComponent(uriPrefix)}&limit=100&offset=${offset}&order_by=id`
          : `/datasets?uri_pattern=${encodeURIComponent(uriPrefix)}&limit=100&offset=${offset}&order_by=id`,
      );
      const got = (v2 ? page.assets : page.datasets) ?? [];
      assets.push(...got.filter(a => a.uri.startsWith(uriPrefix)));
      if (got.length < 100) break;
    }
    const events: AirflowAssetEvent[] = [];
    for (const asset of assets) {
      // Pages ordered by timestamp; a record seen twice (the order moved under
      // the offset) is counted once: same asset, timestamp and extra.
      const seen = new Map<string, AirflowAssetEvent>();
      let total = 0;
      for (let pass = 0; pass < 3 && (pass === 0 || seen.size < total); pass++)
        for (let offset = 0; ; offset += 100) {
          const page = await get<{
            asset_events?: RawAssetEvent[];
            dataset_events?: RawAssetEvent[];
            total_entries: number;
          }>(
            `/${v2 ? 'assets' : 'datasets'}/events?${v2 ? 'asset_id' : 'dataset_id'}=${asset.id}&limit=100&offset=${offset}&order_by=timestamp`,
          );
          total = page.total_entries;
          const got = (v2 ? page.asset_events : page.dataset_events) ?? [];
          for (const e of got) {
            const event = {
              uri: asset.uri,
              extra: e.extra ?? {},
              timestamp: e.timestamp,
            };
            seen.set(
              `${event.timestamp} ${JSON.stringify(event.extra)}`,
              event,
            );
          }
          if (got.length < 100) break;
        }
      if (seen.size !== total)
        throw new Error(
          `asset ${asset.uri}: read ${seen.size} distinct events, Airflow counts ${total}`,
        );
      events.push(...seen.values());
    }
    return events;
  }

  /** Starts the scheduler (and Airflow 3's dag-processor); see schedulerEnv. */
  private startScheduler(env: NodeJS.ProcessEnv): void {
    const commands =
      this.major === 3 ? [['scheduler'], ['dag-processor']] : [['scheduler']];
    for (const args of commands) {
      const child = spawn(airflowBin(this.major), args, {
        env: schedulerEnv(env, this.url),
        cwd: this.home,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // with the task processes it forks
      });
      const keep = (c: Buffer) => {
        this.output.push(c.toString());
        if (this.output.length > 200) this.output.shift();
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      this.schedulerProcesses.push(child);
    }
  }

  /** Waits for a run to finish (success or failed) and returns it. */
  async finishedRun(
    dagId: string,
    dagRunId: string,
    timeoutMs = 180_000,
  ): Promise<AirflowRun> {
    const deadline = Date.now() + timeoutMs;
    let last: AirflowRun | undefined;
    while (Date.now() < deadline) {
      const r = await fetch(
        `${this.url}/api/${this.api}/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(dagRunId)}`,
        {headers: await this.authHeaders()},
      );
      if (r.ok) {
        last = (await r.json()) as AirflowRun;
        if (last.state === 'success' || last.state === 'failed') return last;
      }
      await new Promise(res => setTimeout(res, 1000));
    }
    throw new Error(
      `run ${dagId}/${dagRunId} not finished within ${timeoutMs} ms (state ${last?.state}):\n${this.output.slice(-20).join('')}`,
    );
  }

  /** The XCom `return_value` of a task of a run: what an echo DAG's task received. */
  async returnValue(
    dagId: string,
    dagRunId: string,
    taskId = 'echo_conf',
  ): Promise<unknown> {
    const r = await fetch(
      `${this.url}/api/${this.api}/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(dagRunId)}/taskInstances/${taskId}/xcomEntries/return_value?deserialize=true&stringify=false`,
      {headers: await this.authHeaders()},
    );
    if (!r.ok)
      throw new Error(
        `XCom of ${dagId}/${dagRunId}: ${r.status} ${await r.text()}`,
      );
    return ((await r.json()) as {value: unknown}).value;
  }

  async stop(): Promise<void> {
    for (const c of this.schedulerProcesses)
      await stopChild(c, {group: true, signal: 'SIGTERM'});
    await stopChild(this.child, {group: true, signal: 'SIGTERM'}); // the server and the workers it forked
    await this.pg?.stop();
    if (this.home) rmSync(this.home, {recursive: true, force: true});
  }
}

// ---- The scheduler: triggered runs really run (issue 13) ----

/**
 * Beside the api-server: `airflow scheduler` with the LocalExecutor on the
 * same PostgreSQL database and, on Airflow 3, the `airflow dag-processor`
 * (it parses DAG files; Airflow 2's scheduler does that itself). No
 * triggerer: the tests' DAGs have no deferrable tasks. Airflow 3's task
 * processes report to the api-server's execution API, so they get its URL
 * and the same JWT secret (the env of the api-server).
 */
function schedulerEnv(env: NodeJS.ProcessEnv, url: string): NodeJS.ProcessEnv {
  return {
    ...env,
    AIRFLOW__CORE__EXECUTOR: 'LocalExecutor',
    AIRFLOW__CORE__PARALLELISM: '4', // a 2-core machine shared with other suites
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${url}/execution/`,
    AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC: '2',
    AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL: '5',
    AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: '5',
  };
}

/** Logs its run's conf (the task log) and returns it (the XCom `return_value`). */
function echoDagFile(dagId: string): string {
  return `# Written by the DAG Launcher tests: a task that shows the conf it received.
import json
from datetime import datetime
try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task

with DAG(${JSON.stringify(dagId)}, start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         is_paused_upon_creation=False, tags=["dag-launcher-test"]):
    @task(task_id="echo_conf")
    def echo_conf(**context):
        conf = context["dag_run"].conf
        print("conf received: " + json.dumps(conf, sort_keys=True))
        return conf

    echo_conf()
`;
}

function dagFile(major: 2 | 3, dagId: string, paused: boolean): string {
  const imports =
    major === 3
      ? 'from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator'
      : 'from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator';
  const param =
    major === 3
      ? 'from airflow.sdk import Param'
      : 'from airflow.models.param import Param';
  // typed_* DAGs declare an integer param, so Airflow itself refuses a conf that breaks it (400).
  const params = dagId.startsWith('typed')
    ? 'params={"n": Param(5, type="integer")}, '
    : '';
  return `# Written by the DAG Launcher tests.
from datetime import datetime
${imports}
${param}

with DAG(${JSON.stringify(dagId)}, start_date=datetime(2024, 1, 1), schedule=None, catchup=False, ${params}
         is_paused_upon_creation=${paused ? 'True' : 'False'}, tags=["dag-launcher-test"]):
    EmptyOperator(task_id="noop")
`;
}
