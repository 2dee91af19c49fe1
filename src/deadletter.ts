/**
 * Where events that will never become a DAG run go, with the reason.
 *
 * The seam: the handler hands every rejected or expired (event, route) to a
 * DeadLetterSink. This one records it in the outcome's ERROR log line (the
 * whole event included), which a log-based alert or sink can pick up; a
 * Cloud Storage sink slots in behind the same interface.
 */
export interface DeadLetterRecord {
  reason: string;
  outcome: 'rejected' | 'expired';
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

/** JSON-safe copy of a delivered event: Buffers become base64, cycles are cut. */
export function serializableEvent(event: unknown): unknown {
  const seen = new WeakSet<object>();
  return JSON.parse(
    JSON.stringify(event ?? null, (_k, v: unknown) => {
      if (v && typeof v === 'object') {
        if ((v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
          return { base64: Buffer.from((v as { data: number[] }).data).toString('base64') };
        }
        if (seen.has(v)) return '[cycle]';
        seen.add(v);
      }
      return v;
    }) ?? 'null',
  );
}
