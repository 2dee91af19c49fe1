/**
 * The CI-sized fault-injection soak (`npm run soak` with its default 2000
 * events) as part of `npm test`: the script's own exit code and last line are
 * the verdict. SOAK_EVENTS overrides the size.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {resolve} from 'node:path';
import {REPO} from '../support/paths';

test(
  'soak: every event accounted for through faults, redelivery and bad input (real Airflow 3)',
  {timeout: 900_000},
  async () => {
    const events = process.env.SOAK_EVENTS ?? '2000';
    const {code, stdout, stderr} = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>(done => {
      const child = execFile(
        process.execPath,
        [resolve(REPO, 'dist/test/soak/soak.js'), '--events', events],
        {maxBuffer: 64 * 1024 * 1024, timeout: 880_000},
        (_e, out, err) =>
          done({code: child.exitCode, stdout: out, stderr: err}),
      );
    });
    const last = stdout.trim().split('\n').at(-1) ?? '';
    let result: Record<string, unknown>;
    try {
      result = JSON.parse(last) as Record<string, unknown>;
    } catch {
      assert.fail(
        `no JSON result line (exit ${code}):\n${stderr.slice(-4000)}`,
      );
    }
    process.stdout.write(`# soak: ${last}\n`);
    assert.equal(result.eventsUnaccountedFor, 0);
    assert.equal(result.duplicateRuns, 0);
    assert.equal(result.runsCreated, result.goodEvents);
    assert.equal(result.deadLetters, result.badEvents);
    assert.ok(
      Number(result.faultShare) >= 0.2,
      `faults on ${String(result.faultShare)} of requests`,
    );
    assert.equal(code, 0, stderr.slice(-4000));
  },
);
