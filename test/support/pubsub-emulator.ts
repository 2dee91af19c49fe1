/**
 * The real Pub/Sub emulator of the machine's Google Cloud CLI
 * (`gcloud beta emulators pubsub start`, a Java server), on a free 127.0.0.1
 * port, in memory. The `gcloud` wrapper leaves its Java child running when
 * only the wrapper is stopped, so it is started as the leader of its own
 * process group and the group is stopped. Tests talk to it with the real
 * `@google-cloud/pubsub` client (PUBSUB_EMULATOR_HOST semantics, via
 * `apiEndpoint`), and fake-gcs-server publishes its object notifications to it.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {PubSub} from '@google-cloud/pubsub';
import {freePort} from './function-process';
import {stopChild} from './process';

export const PUBSUB_PROJECT = 'dag-launcher-test';

/** Whether `gcloud beta emulators pubsub` is installed (component or apt package). */
export function pubsubEmulatorAvailable(): boolean {
  const r = spawnSync('gcloud', ['beta', 'emulators', 'pubsub', '--help'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1'},
  });
  return r.status === 0;
}

export class PubsubEmulator {
  /** host:port, what PUBSUB_EMULATOR_HOST is set to. */
  host = '';
  client!: PubSub;
  private child?: ChildProcess;
  private output: string[] = [];
  private dataDir = '';

  static async start(): Promise<PubsubEmulator> {
    const emulator = new PubsubEmulator();
    try {
      await emulator.boot();
    } catch (e) {
      await emulator.stop();
      throw e;
    }
    return emulator;
  }

  private async boot(): Promise<void> {
    const port = await freePort();
    this.host = `127.0.0.1:${port}`;
    this.dataDir = mkdtempSync(join(tmpdir(), 'dag-launcher-pubsub-'));
    this.child = spawn(
      'gcloud',
      [
        'beta',
        'emulators',
        'pubsub',
        'start',
        `--host-port=${this.host}`,
        `--project=${PUBSUB_PROJECT}`,
        `--data-dir=${this.dataDir}`,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: stop() ends the Java child too
        env: {
          ...process.env,
          CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
          CLOUDSDK_CONFIG: join(this.dataDir, 'gcloud'),
        },
      },
    );
    const keep = (c: Buffer) => {
      this.output.push(c.toString());
      if (this.output.length > 200) this.output.shift();
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(
          `the Pub/Sub emulator exited:\n${this.output.join('')}`,
        );
      try {
        const r = await fetch(`http://${this.host}/v1/projects/x/topics`);
        if (r.status < 500) break;
      } catch {
        /* not listening yet */
      }
      await new Promise(r => setTimeout(r, 250));
    }
    if (Date.now() >= deadline)
      throw new Error(
        `the Pub/Sub emulator did not listen within 90s:\n${this.output.join('')}`,
      );
    this.client = new PubSub({
      projectId: PUBSUB_PROJECT,
      apiEndpoint: this.host,
      emulatorMode: true,
    });
  }

  /** A topic and a push subscription to `endpoint`; returns their full names. */
  async pushTo(
    topicId: string,
    subscriptionId: string,
    endpoint: string,
  ): Promise<{topic: string; subscription: string}> {
    const [topic] = await this.client.createTopic(topicId);
    const [sub] = await topic.createSubscription(subscriptionId, {
      pushConfig: {pushEndpoint: endpoint},
      ackDeadlineSeconds: 10,
    });
    return {topic: topic.name, subscription: sub.name};
  }

  async stop(): Promise<void> {
    await this.client?.close().catch(() => undefined);
    await stopChild(this.child, {group: true, signal: 'SIGTERM'});
    if (this.dataDir) rmSync(this.dataDir, {recursive: true, force: true});
  }
}
