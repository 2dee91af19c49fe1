/**
 * Where events that will never become a DAG run go, with the reason.
 *
 * The seam: the handler hands every rejected or expired (event, route) to a
 * DeadLetterSink. With `deadLetters: gs://bucket/prefix/` configured that is
 * the Cloud Storage sink (dead-letters-gcs.ts), which `dag-launcher replay`
 * reads back; without it the record lives only in the outcome's ERROR log
 * line (the whole event included), for a log-based alert or sink.
 */
export interface DeadLetterRecord {
  /** Deterministic per (event, route): the run id it would have had, or a hash of an unreadable event. */
  key: string;
  reason: string;
  outcome: 'rejected' | 'expired' | 'unmatched';
  route?: string;
  environment?: string;
  dagId?: string;
  dagRunId?: string;
  httpStatus?: number;
  responseExcerpt?: string;
  /** The event exactly as delivered (binary data as base64). */
  event: unknown;
  eventId?: string;
  firstSeen: string;
  launcherVersion: string;
}

export interface DeadLetterSink {
  /** Stores the record and returns where it went; throws if it could not be stored (the event is then redelivered). */
  write(record: DeadLetterRecord): Promise<string>;
}

/** Keeps the record in the log line only. */
export const logDeadLetters: DeadLetterSink = {
  write: async () => 'log',
};

/**
 * The delivered event back from a record: `{base64}` objects (what
 * serializableEvent made of Buffers) become Buffers again, so the event
 * normalizes exactly as it did when it was delivered.
 */
export function reviveEvent(stored: unknown): unknown {
  if (Array.isArray(stored)) return stored.map(reviveEvent);
  if (stored && typeof stored === 'object') {
    const keys = Object.keys(stored);
    if (
      keys.length === 1 &&
      keys[0] === 'base64' &&
      typeof (stored as {base64: unknown}).base64 === 'string'
    ) {
      return Buffer.from((stored as {base64: string}).base64, 'base64');
    }
    return Object.fromEntries(
      Object.entries(stored).map(([k, v]) => [k, reviveEvent(v)]),
    );
  }
  return stored;
}

/** JSON-safe copy of a delivered event: Buffers become base64, cycles are cut. */
export function serializableEvent(event: unknown): unknown {
  const seen = new WeakSet<object>();
  return JSON.parse(
    JSON.stringify(event ?? null, (_k, v: unknown) => {
      if (v && typeof v === 'object') {
        if (
          (v as {type?: string}).type === 'Buffer' &&
          Array.isArray((v as {data?: unknown}).data)
        ) {
          return {
            base64: Buffer.from((v as {data: number[]}).data).toString(
              'base64',
            ),
          };
        }
        if (seen.has(v)) return '[cycle]';
        seen.add(v);
      }
      return v;
    }) ?? 'null',
  );
}
