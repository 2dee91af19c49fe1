/** Stopping the servers the tests started, by the PID they started. */
import type {ChildProcess} from 'node:child_process';

/**
 * Sends `signal` to a child (or, with `group`, to the process group it leads:
 * a server and the workers it forked), waits up to `graceMs` for it to exit,
 * then SIGKILLs it. A child that already exited is left alone.
 */
export async function stopChild(
  child: ChildProcess | undefined,
  options: {signal?: NodeJS.Signals; group?: boolean; graceMs?: number} = {},
): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null)
    return;
  const {signal = 'SIGTERM', group = false, graceMs = 10_000} = options;
  const pid = group ? -child.pid : child.pid;
  const exited = new Promise(r => child.once('exit', r));
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  send(signal);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    exited,
    new Promise(r => (timer = setTimeout(r, graceMs))),
  ]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) send('SIGKILL');
}
