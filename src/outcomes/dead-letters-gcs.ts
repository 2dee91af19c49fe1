/**
 * Dead letters in Cloud Storage: one JSON object per (event, route) under the
 * configured gs://bucket/prefix/, written with @google-cloud/storage (loaded
 * on the first dead letter, never at cold start).
 *
 * The object name is deterministic (route folder, then the record key: the
 * run id it would have had, or a hash of an event that could not be read), and
 * the write is conditional on the object not existing (ifGenerationMatch: 0),
 * so a redelivery of the same event does not write a second record: the 412
 * means "already recorded". Any other failure throws, the handler turns that
 * into a redelivery, and nothing is dropped silently.
 */
import type {Storage} from '@google-cloud/storage';
import type {DeadLetterRecord, DeadLetterSink} from './dead-letters';
import {sharedStorage} from '../google/storage';

export function deadLetterObjectName(
  prefix: string,
  record: Pick<DeadLetterRecord, 'route' | 'key'>,
): string {
  return `${prefix}${record.route ?? '_unrouted'}/${record.key}.json`;
}

export class GcsDeadLetterSink implements DeadLetterSink {
  constructor(
    readonly bucket: string,
    readonly prefix: string,
    private readonly client: () => Promise<Storage> = sharedStorage,
  ) {}

  async write(record: DeadLetterRecord, json: string): Promise<string> {
    const name = deadLetterObjectName(this.prefix, record);
    const uri = `gs://${this.bucket}/${name}`;
    const file = (await this.client()).bucket(this.bucket).file(name);
    try {
      await file.save(`${json}\n`, {
        resumable: false,
        contentType: 'application/json',
        preconditionOpts: {ifGenerationMatch: 0},
        metadata: {
          metadata: {
            outcome: record.outcome,
            route: record.route ?? '',
            eventId: record.eventId ?? '',
            launcherVersion: record.launcherVersion,
          },
        },
      });
    } catch (err) {
      if ((err as {code?: number}).code === 412) return uri; // written by an earlier delivery of this event
      throw new Error(
        `dead letter ${uri} could not be written: ${(err as Error).message}`,
      );
    }
    return uri;
  }
}
