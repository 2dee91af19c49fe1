/**
 * `npm run demo`: the launcher for real, on this machine.
 *
 * Starts a real Airflow 3 with its scheduler (provisioned from PyPI into the
 * cache on first run), the local stand-ins for what Google hosts (metadata
 * server issuing the service account's token; Composer's front door
 * admitting only that token), the Google Cloud CLI's Pub/Sub emulator and
 * fake-gcs-server publishing object notifications to it, runs the function
 * under functions-framework with a demo config, and delivers by three paths:
 * a Storage event the way Eventarc does, a Pub/Sub command through the
 * emulator's push subscription, and a file upload through Cloud Storage
 * notifications. Prints each DAG run's final state and the conf its task
 * received (XCom). Cleans up.
 */
import {spawnSync} from 'node:child_process';
import {resolve} from 'node:path';
import {RealAirflow} from '../support/airflow-server';
import {ComposerFrontDoorStandIn} from '../support/composer-front-door';
import {FunctionProcess} from '../support/function-process';
import {MetadataServerStandIn} from '../support/metadata-server';
import {REPO, eventFixture} from '../support/paths';
import {Storage} from '@google-cloud/storage';
import {PUBSUB_PROJECT, PubsubEmulator} from '../support/pubsub-emulator';
import {GcsEmulator} from '../support/gcs-emulator';

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
  for (const what of ['gcs', 'pubsub']) {
    const r = spawnSync(
      'bash',
      [resolve(REPO, 'test/airflow/provision.sh'), what],
      {stdio: 'inherit'},
    );
    if (r.status !== 0) throw new Error(`provisioning ${what} failed`);
  }

  const cleanup: (() => Promise<void>)[] = [];
  try {
    step(
      2,
      'starting Airflow 3 (api-server, scheduler, dag-processor; LocalExecutor on a throwaway PostgreSQL; DAGs: process_file, handle_command) and the Pub/Sub emulator',
    );
    const [airflow, pubsub] = await Promise.all([
      RealAirflow.start(3, {
        dags: [],
        echoDags: ['process_file', 'handle_command'],
        scheduler: true,
      }),
      PubsubEmulator.start(),
    ]);
    cleanup.push(() => airflow.stop());
    cleanup.push(() => pubsub.stop());
    process.stdout.write(
      `      Airflow ${airflow.version} at ${airflow.url}\n`,
    );

    step(
      3,
      'starting the stand-ins for what Google hosts (metadata server, Composer front door) and fake-gcs-server notifying the emulator',
    );
    const gcs = await GcsEmulator.start(['acme-landing'], {
      pubsubHost: pubsub.host,
      project: PUBSUB_PROJECT,
      topic: 'landing-notifications',
    });
    cleanup.push(() => gcs.stop());
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

    await pubsub.pushTo(
      'airflow-commands',
      'airflow-commands-push',
      `${fn.url}/projects/${PUBSUB_PROJECT}/topics/airflow-commands`,
    );
    await pubsub.pushTo(
      'landing-notifications',
      'landing-notifications-push',
      `${fn.url}/projects/${PUBSUB_PROJECT}/topics/landing-notifications`,
    );

    step(5, 'delivering by three paths');
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
    /** Prints the `nth` outcome line of an event once it is logged. */
    const report = async (
      what: string,
      eventId: string,
      nth = 1,
      status?: number,
    ) => {
      const [line] = (await fn.waitOutcomes({eventId}, nth)).slice(-1);
      process.stdout.write(
        `      ${what}\n        -> ${status ? `HTTP ${status}, ` : ''}outcome ${String(line?.outcome)} (${String(line?.dagId)} ${String(line?.dagRunId)})\n`,
      );
    };
    let r = await fn.sendBinary(storage);
    await report(
      'Eventarc   storage  gs://acme-landing/incoming/orders/2026-11-20/orders.csv',
      storage.id,
      1,
      r.status,
    );
    r = await fn.sendBinary(storage);
    await report(
      'Eventarc   (redelivery of the same event)',
      storage.id,
      2,
      r.status,
    );
    const messageId = await pubsub.client
      .topic('airflow-commands')
      .publishMessage({
        json: {dag: 'handle_command', params: {full_refresh: true}},
        attributes: {kind: 'command'},
      });
    await report(
      'Pub/Sub    publish {"dag":"handle_command"} to airflow-commands -> emulator push',
      messageId,
    );
    const upload = 'incoming/orders/2026-11-21/orders.csv';
    await new Storage({apiEndpoint: gcs.url, projectId: 'demo-project'})
      .bucket('acme-landing')
      .file(upload)
      .save('id,qty\n1,3\n2,5\n', {contentType: 'text/csv', resumable: false});
    const noted = await fn.waitOutcomes(
      {route: 'files', outcome: 'triggered'},
      2,
    );
    await report(
      `Storage notification  upload gs://acme-landing/${upload} -> emulator push`,
      String(noted[1]?.eventId),
    );

    step(6, 'DAG runs read back from Airflow once the scheduler ran them');
    for (const dag of ['process_file', 'handle_command']) {
      for (const run of await airflow.runsOf(dag)) {
        const done = await airflow.finishedRun(dag, run.dag_run_id);
        const received = await airflow.returnValue(dag, run.dag_run_id);
        process.stdout.write(
          `      ${dag}  ${run.dag_run_id}  state=${done.state}\n        task echo_conf received conf=${JSON.stringify(received)}\n`,
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
