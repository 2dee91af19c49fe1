/**
 * `api: composer-cli`: a DAG run through the Cloud Composer API instead of
 * the Airflow web server, for Private IP / VPC-SC environments a function
 * cannot reach. `environments.executeAirflowCommand` runs `airflow dags
 * trigger DAG -r RUN_ID -c CONF [-e|-l DATE] --no-replace-microseconds` in
 * the environment; `environments.pollAirflowCommand` streams its output and
 * exit code. The caller's Google access token (auth mode `google`) is the
 * only credential; the Composer API checks
 * `composer.environments.executeAirflowCommand` (roles/composer.user has it).
 *
 * The CLI's answer is mapped onto HTTP-like statuses so outcome.ts applies
 * the one contract: exit 0 = 200; "already exists" naming our run = 409
 * ours (duplicate); DAG not found / import errors = 404 / 400 import
 * errors (retry while young); any other failure = 500 (retry). Airflow 2's
 * CLI names the *requested* run id whether the existing run has it or only
 * the same logical date: with a logical date sent, that 409 cannot be told
 * apart and is left a conflict (rejected, dead letter), never a silent ack.
 */
import {errorCode, httpRequest, HttpTimeoutError} from '../core/http';
import type {DagRunRequest} from '../routing/render';
import type {AirflowTarget, TriggerResult} from './trigger';
import {settleDiscovery} from './trigger';

/** Prefix of the body of a 409 that the CLI's output proves is our run. */
export const OUR_RUN_EXISTS = 'the run with this dag_run_id exists: ';
/** Output kept per command (the tail): a trigger prints a few lines; a traceback a few hundred. */
const OUTPUT_MAX = 16 * 1024;

export interface CliCommand {
  command: string;
  subcommand: string;
  parameters: string[];
}

/** `dags trigger` for a run; `airflowMajor` picks the logical date flag (2: -e, 3: -l). */
export function triggerCommand(
  run: DagRunRequest,
  airflowMajor: 2 | 3,
): CliCommand {
  return {
    command: 'dags',
    subcommand: 'trigger',
    parameters: [
      run.dagId,
      '-r',
      run.dagRunId,
      '-c',
      JSON.stringify(run.conf),
      ...(run.logicalDate === undefined
        ? []
        : [airflowMajor === 3 ? '-l' : '-e', run.logicalDate]),
      // Without it Airflow 2 truncates "now" to the second: triggers in one second collide.
      '--no-replace-microseconds',
    ],
  };
}

export async function triggerByComposerCli(
  target: AirflowTarget,
  run: DagRunRequest,
): Promise<TriggerResult> {
  const started = performance.now();
  const since = () => Math.round(performance.now() - started);
  const deadline = Date.now() + target.timeoutMs;
  try {
    await settleDiscovery(target);
  } catch (err) {
    return {
      kind: 'failure',
      failure: 'discovery',
      message: (err as Error).message,
      latencyMs: since(),
    };
  }
  let headers: Record<string, string>;
  try {
    headers = target.auth.ready?.() ?? (await target.auth.headers());
  } catch (err) {
    return {
      kind: 'failure',
      failure: 'credentials',
      message: (err as Error).message,
      latencyMs: since(),
    };
  }
  const base = `${(target.composerEndpoint ?? 'https://composer.googleapis.com').replace(/\/+$/, '')}/v1/${target.environment.composer}`;
  const call = (method: string, body: unknown) =>
    httpRequest(`${base}:${method}`, {
      method: 'POST',
      headers: {
        ...headers,
        'Content-Type': 'application/json',
        Accept: 'application/json',
      },
      body: JSON.stringify(body),
      timeoutMs: Math.max(1, deadline - Date.now()),
      // A poll answer holds whole output lines (a traceback: tens of KiB); parsed, not excerpted.
      excerptMax: 1024 * 1024,
    });
  const major = target.api.name === 'composer-cli-2' ? 2 : 3;
  const command = triggerCommand(run, major);
  try {
    const exec = await call('executeAirflowCommand', command);
    if (exec.status !== 200)
      return {
        kind: 'response',
        status: exec.status,
        body: exec.body,
        latencyMs: since(),
      };
    const started = JSON.parse(exec.body) as {
      executionId?: string;
      pod?: string;
      podNamespace?: string;
      error?: string;
    };
    if (started.error || !started.executionId)
      return {
        kind: 'response',
        status: 500,
        body: `executeAirflowCommand: ${started.error || 'no executionId'}`,
        latencyMs: since(),
      };
    let output = '';
    let next = 1;
    for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
      const poll = await call('pollAirflowCommand', {
        executionId: started.executionId,
        pod: started.pod,
        podNamespace: started.podNamespace,
        nextLineNumber: next,
      });
      if (poll.status !== 200)
        return {
          kind: 'response',
          status: poll.status,
          body: poll.body,
          latencyMs: since(),
        };
      const p = JSON.parse(poll.body) as {
        output?: {lineNumber?: number; content?: string}[];
        outputEnd?: boolean;
        exitInfo?: {exitCode?: number; error?: string};
      };
      for (const line of p.output ?? []) {
        output = (output + (line.content ?? '') + '\n').slice(-OUTPUT_MAX);
        next = Math.max(next, (line.lineNumber ?? next) + 1);
      }
      if (p.outputEnd) {
        const code = p.exitInfo?.exitCode ?? 0;
        return {
          kind: 'response',
          ...classify(code, output, p.exitInfo?.error, run, major),
          latencyMs: since(),
        };
      }
      if (Date.now() + wait > deadline)
        throw new HttpTimeoutError('pollAirflowCommand');
      await new Promise(r => setTimeout(r, wait));
    }
  } catch (err) {
    if (err instanceof HttpTimeoutError)
      return {
        kind: 'failure',
        failure: 'timeout',
        message: `the Airflow command did not finish within ${target.timeoutMs}ms`,
        latencyMs: since(),
      };
    const code = errorCode(err);
    return {
      kind: 'failure',
      failure: 'network',
      message: (err as Error).message,
      latencyMs: since(),
      ...(code !== undefined && {code}),
    };
  }
}

/** The CLI's exit code and output as the status the outcome contract reads. */
export function classify(
  exitCode: number,
  output: string,
  error: string | undefined,
  run: Pick<DagRunRequest, 'dagRunId' | 'logicalDate'>,
  major: 2 | 3,
): {status: number; body: string} {
  const body = `${error ? `${error}\n` : ''}${output}`;
  if (exitCode === 0) return {status: 200, body};
  // Airflow 3: "A DAG Run already exists for DAG d with run id <the existing run's id>".
  // Airflow 2: "… for DAG d at <date> with run id <the requested id>", whether the run has it or only the date.
  const exists =
    /A DAG Run already exists for DAG \S+ (?:at .+? )?with run id (\S+)/.exec(
      body,
    );
  if (exists) {
    const ours =
      exists[1] === run.dagRunId &&
      (major === 3 || run.logicalDate === undefined);
    return ours
      ? {status: 409, body: OUR_RUN_EXISTS + body}
      : {
          status: 409,
          body: `a run with the same logical date exists, and the CLI does not tell whether it is ours:\n${body}`,
        };
  }
  if (/unique constraint|UniqueViolation|duplicate key/i.test(body))
    return {
      status: 409,
      body: `another run holds the same logical date:\n${body}`,
    };
  if (
    /DagNotFound|Dag id \S+ not found|could not find dag|not found in DagModel/i.test(
      body,
    )
  )
    return {status: 404, body};
  if (/has import errors/i.test(body))
    return {status: 400, body: `dag_id: '' has import errors\n${body}`};
  return {
    status: 500,
    body: `airflow dags trigger exited with ${exitCode}:\n${body}`,
  };
}
