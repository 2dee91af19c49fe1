/**
 * `npm run demo`: the launcher for real, on this machine.
 *
 * Starts a real Airflow 3 (provisioned from PyPI into the cache on first
 * run), the local stand-ins for what Google hosts (metadata server issuing
 * the service account's token; Composer's front door admitting only that
 * token), runs the function under functions-framework with a demo config,
 * delivers Google's sample Storage event and a Pub/Sub command the way
 * Eventarc does, then prints the DAG runs read back from Airflow. Cleans up.
 */
import {spawnSync} from 'node:child_process';
import {resolve} from 'node:path';
import {RealAirflow} from '../support/airflow-server';
import {ComposerFrontDoorStandIn} from '../support/composer-front-door';
import {FunctionProcess} from '../support/function-process';
import {MetadataServerStandIn} from '../support/metadata-server';
import {REPO, eventFixture} from '../support/paths';
import {pubsubCloudEvent} from '../support/events';

const step = (n: number, text: string) =>
  process.stdout.write(`[${n}/6] ${text}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  step(
    1,
    'provisioning Airflow 3 from PyPI (first run only; later runs reuse the cache)',
  );
  const prov = spawnSync(
    'bash',
    [resolve(REPO, 'test/airflow/provision.sh'), '3'],
    {stdio: 'inherit'},
  );
  if (prov.status !== 0) throw new Error('provisioning Airflow failed');

  const cleanup: (() => Promise<void>)[] = [];
  try {
    step(
      2,
      'starting Airflow 3 api-server on 127.0.0.1 (metadata DB: a throwaway PostgreSQL; DAGs: process_file, handle_command)',
    );
    const airflow = await RealAirflow.start(3, {
      dags: ['process_file', 'handle_command'],
    });
    cleanup.push(() => airflow.stop());
    process.stdout.write(
      `      Airflow ${airflow.version} at ${airflow.url}\n`,
    );

    step(
      3,
      'starting the stand-ins for what Google hosts: metadata server, Composer front door',
    );
    const metadata = await new MetadataServerStandIn().start();
    cleanup.push(() => metadata.stop());
    const frontDoor = await new ComposerFrontDoorStandIn(
      metadata,
      airflow,
    ).start();
    cleanup.push(() => frontDoor.stop());

    step(
      4,
      'starting the function under functions-framework (auth: google, api: v2)',
    );
    const fn = await FunctionProcess.start(
      {
        environments: {
          composer: {url: frontDoor.url, api: 'v2', auth: 'google'},
        },
        routes: [
          {
            name: 'files',
            match: {
              type: 'storage',
              bucket: 'acme-landing',
              name: {glob: 'incoming/orders/**/*.csv'},
            },
            dag: 'process_file',
            conf: {
              uri: 'gs://{{ bucket }}/{{ name }}',
              size: '{{ size }}',
              content_type: '{{ contentType }}',
            },
          },
          {
            name: 'commands',
            match: {type: 'pubsub', attributes: {kind: 'command'}},
            dag: '{{ json.dag }}',
            allowedDags: ['handle_command'],
            conf: {params: '{{ json.params | default: {} }}'},
          },
        ],
      },
      {GCE_METADATA_HOST: metadata.host, GOOGLE_CLOUD_PROJECT: 'demo-project'},
    );
    cleanup.push(() => fn.stop());

    step(5, 'delivering events as Eventarc does (binary mode)');
    const storage = {
      specversion: '1.0',
      id: 'demo-storage-1',
      type: 'google.cloud.storage.object.v1.finalized',
      source: '//storage.googleapis.com/projects/_/buckets/acme-landing',
      subject: 'objects/incoming/orders/2026-11-20/orders.csv',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: eventFixture('storage-object-int64-strings.json'),
    };
    const command = pubsubCloudEvent(
      {dag: 'handle_command', params: {full_refresh: true}},
      {kind: 'command'},
      {id: 'demo-command-1'},
    );
    for (const [what, ce] of [
      [
        'storage  gs://acme-landing/incoming/orders/2026-11-20/orders.csv',
        storage,
      ],
      ['pubsub   {"dag":"handle_command"}', command],
      ['pubsub   (redelivery of the same message)', command],
    ] as const) {
      const r = await fn.sendBinary(ce);
      const [line] = (
        await fn.waitOutcomes(
          {eventId: ce.id},
          1 + fn.outcomes({eventId: ce.id}).length,
        )
      ).slice(-1);
      process.stdout.write(
        `      ${what} -> HTTP ${r.status}, outcome ${String(line?.outcome)} (${String(line?.dagId)} ${String(line?.dagRunId)})\n`,
      );
    }

    step(6, 'DAG runs read back from Airflow');
    for (const dag of ['process_file', 'handle_command']) {
      for (const run of await airflow.runsOf(dag)) {
        process.stdout.write(
          `      ${dag}  ${run.dag_run_id}  state=${run.state}  conf=${JSON.stringify(run.conf)}\n`,
        );
      }
    }
    process.stdout.write(
      `done in ${((Date.now() - started) / 1000).toFixed(1)}s; token requests to the metadata server: ${metadata.tokenRequests}\n`,
    );
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
