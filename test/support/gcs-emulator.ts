/**
 * A real Cloud Storage emulator: fake-gcs-server (github.com/fsouza/
 * fake-gcs-server, built from the Go module proxy by test/airflow/provision.sh
 * into the cache dir), on a free 127.0.0.1 port, in-memory. The code under
 * test reaches it through STORAGE_EMULATOR_HOST with the real
 * @google-cloud/storage; the helpers here speak its JSON API directly so the
 * tests check what was stored independently of the library.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import {AIRFLOW_CACHE} from './airflow-server';
import {freePort} from './function-process';
import {stopChild} from './process';

export const FAKE_GCS_BIN = join(AIRFLOW_CACHE, 'bin', 'fake-gcs-server');

export interface StoredObject {
  name: string;
  generation: string;
  metadata?: Record<string, string>;
  contentType?: string;
}

/**
 * Object notifications published to a Pub/Sub emulator, as Cloud Storage's
 * Pub/Sub notifications (`-event.pubsub-*` flags of fake-gcs-server).
 */
export interface GcsNotifications {
  /** The Pub/Sub emulator's host:port. */
  pubsubHost: string;
  project: string;
  /** Topic id in that project. */
  topic: string;
  /** `finalize`, `delete`, `metadataUpdate`. */
  events?: string[];
}

export class GcsEmulator {
  url = '';
  private child?: ChildProcess;
  private output: string[] = [];

  /** What STORAGE_EMULATOR_HOST must be set to. */
  get host(): string {
    return this.url;
  }

  static async start(
    buckets: string[] = [],
    notifications?: GcsNotifications,
  ): Promise<GcsEmulator> {
    const gcs = new GcsEmulator();
    try {
      await gcs.boot(notifications);
      for (const b of buckets) await gcs.createBucket(b);
    } catch (e) {
      await gcs.stop();
      throw e;
    }
    return gcs;
  }

  private async boot(notifications?: GcsNotifications): Promise<void> {
    if (!existsSync(FAKE_GCS_BIN))
      throw new Error(
        `fake-gcs-server is not provisioned at ${FAKE_GCS_BIN}: run test/airflow/provision.sh`,
      );
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(
      FAKE_GCS_BIN,
      [
        '-scheme',
        'http',
        '-host',
        '127.0.0.1',
        '-port',
        String(port),
        '-backend',
        'memory',
        '-external-url',
        this.url,
        '-public-host',
        `127.0.0.1:${port}`,
        '-log-level',
        'warn',
        ...(notifications
          ? [
              '-event.pubsub-project-id',
              notifications.project,
              '-event.pubsub-topic',
              notifications.topic,
              '-event.list',
              (notifications.events ?? ['finalize']).join(','),
            ]
          : []),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: notifications
          ? {...process.env, PUBSUB_EMULATOR_HOST: notifications.pubsubHost}
          : process.env,
      },
    );
    const keep = (c: Buffer) => {
      this.output.push(c.toString());
      if (this.output.length > 100) this.output.shift();
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(`fake-gcs-server exited:\n${this.output.join('')}`);
      try {
        if ((await fetch(`${this.url}/storage/v1/b`)).ok) return;
      } catch {
        /* not yet */
      }
      await new Promise(r => setTimeout(r, 100));
    }
    throw new Error(
      `fake-gcs-server not ready within 20s:\n${this.output.join('')}`,
    );
  }

  async createBucket(name: string): Promise<void> {
    const r = await fetch(`${this.url}/storage/v1/b?project=test-project`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({name}),
    });
    if (!r.ok)
      throw new Error(`create bucket ${name}: ${r.status} ${await r.text()}`);
  }

  async list(bucket: string, prefix = ''): Promise<StoredObject[]> {
    const items: StoredObject[] = [];
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({prefix, ...(pageToken && {pageToken})});
      const r = await fetch(`${this.url}/storage/v1/b/${bucket}/o?${q}`);
      if (!r.ok)
        throw new Error(`list ${bucket}: ${r.status} ${await r.text()}`);
      const page = (await r.json()) as {
        items?: StoredObject[];
        nextPageToken?: string;
      };
      items.push(...(page.items ?? []));
      pageToken = page.nextPageToken;
    } while (pageToken);
    return items;
  }

  async read(bucket: string, name: string): Promise<string> {
    const r = await fetch(
      `${this.url}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?alt=media`,
    );
    if (!r.ok) throw new Error(`read gs://${bucket}/${name}: ${r.status}`);
    return r.text();
  }

  async readJson<T = Record<string, unknown>>(
    bucket: string,
    name: string,
  ): Promise<T> {
    return JSON.parse(await this.read(bucket, name)) as T;
  }

  async write(
    bucket: string,
    name: string,
    body: string,
    contentType = 'application/json',
  ): Promise<StoredObject> {
    const r = await fetch(
      `${this.url}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=${encodeURIComponent(name)}`,
      {
        method: 'POST',
        headers: {'Content-Type': contentType},
        body,
      },
    );
    if (!r.ok)
      throw new Error(
        `write gs://${bucket}/${name}: ${r.status} ${await r.text()}`,
      );
    return (await r.json()) as StoredObject;
  }

  /** Every object's content in a bucket, for secret scans. */
  async dump(bucket: string): Promise<string> {
    const parts: string[] = [];
    for (const o of await this.list(bucket))
      parts.push(await this.read(bucket, o.name));
    return parts.join('\n');
  }

  async stop(): Promise<void> {
    await stopChild(this.child, {graceMs: 5_000});
  }
}
