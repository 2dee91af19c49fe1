/**
 * A throwaway PostgreSQL server (Debian's postgresql package) for the real
 * Airflow servers: Airflow's metadata database in production (Cloud Composer
 * runs on Cloud SQL for PostgreSQL). SQLite cannot take concurrent writes: a
 * second concurrent POST /dagRuns to Airflow 3 on SQLite waits on the database
 * lock and fails with "database is locked" after 5 s, which is SQLite's limit,
 * not Airflow's or ours.
 *
 * initdb into a temp dir (owned by the `postgres` user when we run as root,
 * since PostgreSQL refuses to run as root), listen on a free 127.0.0.1 port,
 * trust auth on loopback only, durability off (a test database). Stopped by
 * the PID this harness started, with a fast shutdown.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {chownSync, existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createConnection} from 'node:net';
import {freePort} from './function-process';
import {stopChild} from './process';

export function postgresBinDir(): string | undefined {
  const fromEnv = process.env.PG_BINDIR;
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter(v => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

export class PostgresServer {
  port = 0;
  private dir = '';
  private child?: ChildProcess;
  private output: string[] = [];
  private bin = '';
  private asUser: string[] = [];

  static async start(): Promise<PostgresServer> {
    const pg = new PostgresServer();
    try {
      await pg.boot();
    } catch (e) {
      await pg.stop();
      throw e;
    }
    return pg;
  }

  private async boot(): Promise<void> {
    const bin = postgresBinDir();
    if (!bin)
      throw new Error(
        'PostgreSQL is not installed (initdb not found under /usr/lib/postgresql): run test/airflow/provision.sh',
      );
    this.bin = bin;
    this.dir = mkdtempSync(join(tmpdir(), 'dag-launcher-pg-'));
    if (process.getuid?.() === 0) {
      const id = spawnSync('id', ['-u', 'postgres'], {encoding: 'utf8'});
      const gid = spawnSync('id', ['-g', 'postgres'], {encoding: 'utf8'});
      if (id.status !== 0)
        throw new Error(
          'running as root needs the `postgres` user (Debian postgresql package) to run the server',
        );
      chownSync(this.dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
      this.asUser = ['runuser', '-u', 'postgres', '--'];
    }
    const data = join(this.dir, 'data');
    const init = this.sh([
      join(bin, 'initdb'),
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ]);
    if (init.status !== 0)
      throw new Error(
        `initdb failed (${init.status}):\n${init.stdout}\n${init.stderr}`,
      );
    this.port = await freePort();
    const [cmd, ...args] = [
      ...this.asUser,
      join(bin, 'postgres'),
      '-D',
      data,
      '-k',
      this.dir,
      '-h',
      '127.0.0.1',
      '-p',
      String(this.port),
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
    ];
    this.child = spawn(cmd!, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const keep = (c: Buffer) => {
      this.output.push(c.toString());
      if (this.output.length > 100) this.output.shift();
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(
          `postgres exited (${this.child.exitCode}):\n${this.output.join('')}`,
        );
      if (await this.ready()) return;
      await new Promise(r => setTimeout(r, 100));
    }
    throw new Error(`postgres not ready within 30s:\n${this.output.join('')}`);
  }

  private sh(argv: string[]) {
    const [cmd, ...args] = [...this.asUser, ...argv];
    return spawnSync(cmd!, args, {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: this.dir || tmpdir(),
    });
  }

  private async ready(): Promise<boolean> {
    const open = await new Promise<boolean>(res => {
      const s = createConnection({host: '127.0.0.1', port: this.port}, () => {
        s.destroy();
        res(true);
      });
      s.on('error', () => res(false));
    });
    if (!open) return false;
    return (
      spawnSync(join(this.bin, 'pg_isready'), [
        '-h',
        '127.0.0.1',
        '-p',
        String(this.port),
      ]).status === 0
    );
  }

  /** A fresh database; returns its SQLAlchemy URL for Airflow. */
  createDatabase(name: string): string {
    const r = spawnSync(
      join(this.bin, 'createdb'),
      ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', name],
      {encoding: 'utf8'},
    );
    if (r.status !== 0) throw new Error(`createdb ${name} failed: ${r.stderr}`);
    return `postgresql+psycopg2://postgres@127.0.0.1:${this.port}/${name}`;
  }

  async stop(): Promise<void> {
    await stopChild(this.child, {group: true, signal: 'SIGINT'}); // fast shutdown: disconnect clients, stop
    if (this.dir) rmSync(this.dir, {recursive: true, force: true});
  }
}
