/**
 * The launcher's CLI (`dist/src/cli/main.js`) run as a user runs it: a
 * child process with only PATH, a scratch HOME and the given environment.
 */
import {execFile} from 'node:child_process';
import {tmpdir} from 'node:os';
import {resolve} from 'node:path';
import {REPO} from './paths';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout's lines, each parsed as JSON. */
  lines: () => Record<string, unknown>[];
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  return new Promise(done => {
    const child = execFile(
      process.execPath,
      [resolve(REPO, 'dist/src/cli/main.js'), ...args],
      {
        env: {PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env},
        encoding: 'utf8',
        timeout: 60_000,
      },
      (_err, stdout, stderr) =>
        done({
          status: child.exitCode,
          stdout,
          stderr,
          lines: () =>
            stdout
              .trim()
              .split('\n')
              .filter(Boolean)
              .map(l => JSON.parse(l) as Record<string, unknown>),
        }),
    );
  });
}
