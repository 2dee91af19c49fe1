/**
 * Runs the built function under the real functions-framework in a child
 * process, and delivers events to it exactly as the platform does: Eventarc
 * binary mode (`ce-*` headers), structured mode, and gen1 legacy bodies.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {createServer, connect} from 'node:net';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {REPO} from './paths';

export interface Delivery {
  status: number;
  body: string;
}

export type LogLine = Record<string, unknown> & {
  severity?: string;
  message?: string;
  outcome?: string;
};

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>(r => srv.listen(0, '127.0.0.1', r));
  const {port} = srv.address() as {port: number};
  await new Promise<void>(r => srv.close(() => r()));
  return port;
}

export class FunctionProcess {
  readonly logs: LogLine[] = [];
  readonly rawOutput: string[] = [];
  url = '';
  exitCode: number | null = null;
  private child?: ChildProcess;
  private exited?: Promise<void>;

  /** Starts the function with a config (an object is written to a temp JSON file) and extra env. */
  /**
   * `root`: run a built package the way the Node.js runtime does: from that
   * directory, with its own functions-framework, and no --source, so the
   * framework finds the code through package.json's `main`.
   */
  static async start(
    config: unknown,
    env: Record<string, string> = {},
    options: {root?: string} = {},
  ): Promise<FunctionProcess> {
    const fp = new FunctionProcess();
    await fp.spawn(config, env, options.root);
    return fp;
  }

  private async spawn(
    config: unknown,
    env: Record<string, string>,
    root?: string,
  ): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'dag-launcher-fn-'));
    let configPath: string | undefined;
    if (typeof config === 'string') configPath = config;
    else if (config !== undefined) {
      configPath = join(dir, 'launcher.json');
      writeFileSync(configPath, JSON.stringify(config));
    }
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const main = resolve(
      root ?? REPO,
      'node_modules/@google-cloud/functions-framework/build/src/main.js',
    );
    const source = root
      ? []
      : [`--source=${resolve(REPO, 'dist/src/index.js')}`];
    this.child = spawn(
      process.execPath,
      [
        main,
        '--target=launchDag',
        '--signature-type=http',
        ...source,
        `--port=${port}`,
      ],
      {
        cwd: root ?? REPO,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          CLOUDSDK_CONFIG: join(dir, 'gcloud'), // no developer ADC file leaks in
          NODE_ENV: 'production',
          ...(configPath ? {LAUNCHER_CONFIG: configPath} : {}),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.rawOutput.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          /* framework's own plain-text lines */
        }
      }
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise(r =>
      this.child!.once('exit', code => {
        this.exitCode = code ?? -1;
        r();
      }),
    );
    await this.waitForPort(port);
  }

  private async waitForPort(port: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.exitCode !== null)
        throw new Error(
          `function exited with ${this.exitCode}:\n${this.rawOutput.join('\n')}`,
        );
      const ok = await new Promise<boolean>(r => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (ok) return;
      await new Promise(r => setTimeout(r, 50));
    }
    throw new Error(
      `function did not listen within 20s:\n${this.rawOutput.join('\n')}`,
    );
  }

  /** Eventarc binary content mode: context attributes in ce-* headers, data as the body. */
  async sendBinary(
    ce: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<Delivery> {
    const {data, ...attrs} = ce;
    const h: Record<string, string> = {
      'Content-Type': String(attrs.datacontenttype ?? 'application/json'),
      ...headers,
    };
    for (const [k, v] of Object.entries(attrs))
      if (k !== 'datacontenttype' && v !== undefined) h[`ce-${k}`] = String(v);
    return this.post(h, typeof data === 'string' ? data : JSON.stringify(data));
  }

  /** Structured content mode: the whole CloudEvent is the JSON body. */
  async sendStructured(
    ce: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<Delivery> {
    return this.post(
      {'Content-Type': 'application/cloudevents+json', ...headers},
      JSON.stringify(ce),
    );
  }

  /** A gen1 (background function) delivery: `{data, context}` as JSON. */
  async sendLegacy(body: unknown): Promise<Delivery> {
    return this.post(
      {'Content-Type': 'application/json'},
      JSON.stringify(body),
    );
  }

  async post(
    headers: Record<string, string>,
    body: string | Uint8Array,
  ): Promise<Delivery> {
    const res = await fetch(this.url, {method: 'POST', headers, body});
    return {status: res.status, body: await res.text()};
  }

  /** Outcome lines (one per route per delivery) logged so far. */
  outcomes(filter: Partial<Record<string, unknown>> = {}): LogLine[] {
    return this.logs.filter(
      l =>
        l.outcome !== undefined &&
        Object.entries(filter).every(([k, v]) => l[k] === v),
    );
  }

  /** Waits until at least `count` outcome lines match (log lines may trail the HTTP response a little). */
  async waitOutcomes(
    filter: Partial<Record<string, unknown>>,
    count = 1,
    timeoutMs = 5000,
  ): Promise<LogLine[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.outcomes(filter);
      if (lines.length >= count || Date.now() > deadline) return lines;
      await new Promise(r => setTimeout(r, 10));
    }
  }

  async stop(): Promise<void> {
    if (!this.child || this.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await Promise.race([this.exited, new Promise(r => setTimeout(r, 3000))]);
    if (this.exitCode === null) this.child.kill('SIGKILL');
  }

  /** Waits for the process to exit by itself (a function that refuses to start). */
  async waitForExit(timeoutMs = 15_000): Promise<number | null> {
    await Promise.race([
      this.exited,
      new Promise(r => setTimeout(r, timeoutMs)),
    ]);
    return this.exitCode;
  }

  /** Starts a process that is expected to fail; returns its exit code and output. */
  static async startFailing(
    config: unknown,
    env: Record<string, string> = {},
  ): Promise<{code: number | null; output: string}> {
    const fp = new FunctionProcess();
    try {
      await fp.spawn(config, env);
    } catch {
      return {code: fp.exitCode, output: fp.rawOutput.join('\n')};
    }
    const code = await fp.waitForExit();
    await fp.stop();
    return {code, output: fp.rawOutput.join('\n')};
  }
}
