/**
 * The CI-sized fault-injection soak, one per Airflow API (`npm run soak --
 * --api A --events 400`), as part of `npm test`: the script's own exit code
 * and last line are the verdict. SOAK_EVENTS overrides the size; 400 events
 * take about a minute each here, and still put 100 of them in bursts.
 * On v1 and v2 a quarter of the events go to asset routes: every one makes
 * an asset event, and exactly one unless two of its deliveries were in
 * flight at the same moment on two instances (the race the README states;
 * the line counts those duplicates apart). The experimental API has no asset
 * events: its line says the asset routes were left out.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {resolve} from 'node:path';
import {REPO} from '../support/paths';

const API_SERVERS = {
  v2: 'real Airflow 3',
  v1: 'real Airflow 2',
  experimental: 'real Airflow 2, enable_experimental_api',
} as const;

for (const [api, server] of Object.entries(API_SERVERS)) {
  test(
    `soak (${api}): every event accounted for through faults, redelivery across 3 instances, bursts and bad input (${server})`,
    {timeout: 900_000},
    async () => {
      const events = process.env.SOAK_EVENTS ?? '400';
      const {code, stdout, stderr} = await new Promise<{
        code: number | null;
        stdout: string;
        stderr: string;
      }>(done => {
        const child = execFile(
          process.execPath,
          [
            resolve(REPO, 'dist/test/soak/soak.js'),
            '--api',
            api,
            '--events',
            events,
          ],
          {
            maxBuffer: 64 * 1024 * 1024,
            timeout: 880_000,
            killSignal: 'SIGTERM',
          },
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
      assert.equal(result.api, api);
      assert.ok(Number(result.instances) >= 3);
      assert.ok(
        Number(result.burstEvents) >= 0.2 * Number(result.events),
        `${String(result.burstEvents)} of ${String(result.events)} events in bursts`,
      );
      assert.equal(result.eventsUnaccountedFor, 0);
      assert.equal(result.duplicateRuns, 0);
      assert.equal(result.runsCreated, result.goodRunEvents);
      assert.equal(result.deadLetters, result.badEvents);
      assert.ok(
        Number(result.faultShare) >= 0.2,
        `faults on ${String(result.faultShare)} of requests`,
      );
      if (api === 'experimental') {
        assert.equal(result.assetRoutes, false);
        assert.match(String(result.assetsSkipped), /experimental API/);
        assert.equal(result.goodRunEvents, result.goodEvents);
      } else {
        assert.equal(result.assetRoutes, true);
        assert.ok(
          Number(result.goodAssetEvents) >= 0.15 * Number(result.events),
        );
        assert.equal(result.assetDistinctEvents, result.goodAssetEvents);
        assert.equal(result.unexpectedAssetEvents, 0);
        // Asset events per distinct event: exactly 1 for every event whose deliveries did not overlap across instances;
        assert.equal(result.assetEventsPerEventSequential, 1);
        // any duplicate is of an event delivered on two instances at once.
        assert.equal(result.assetDuplicates, result.assetDuplicatesOverlapping);
        assert.ok(
          Number(result.assetEventsPerEvent) >= 1,
          `asset events per event ${String(result.assetEventsPerEvent)}`,
        );
      }
      assert.equal(code, 0, stderr.slice(-4000));
    },
  );
}
