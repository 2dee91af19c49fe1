/**
 * Where events that will never become a DAG run go, with the reason.
 *
 * The seam: the handler hands every rejected or expired (event, route) to a
 * DeadLetterSink. With `deadLetters: gs://bucket/prefix/` configured that is
 * the Cloud Storage sink (dead-letters-gcs.ts), which `dag-launcher replay`
 * reads back; without it the record lives only in the outcome's ERROR log
 * line (the whole event when it is small, else an excerpt and its size:
 * Cloud Logging keeps no entry over 256 KB), for a log-based alert or sink.
 */
import {jsonDepth, stringifyDeep} from '../core/json';
import {LIMITS} from '../events/limits';

export interface DeadLetterRecord {
  /** Deterministic per (event, route): the run id it would have had, or a hash of an unreadable event. */
  key: string;
  reason: string;
  outcome: 'rejected' | 'expired' | 'unmatched';
  route?: string;
  environment?: string;
  /** The DAG a run route triggers; absent for an asset route, which has `assetUri`. */
  dagId?: string;
  /** The asset URI an asset route's event is on (rendered). */
  assetUri?: string;
  /** The run's id; for an asset event, the key it carries in its extra. */
  dagRunId?: string;
  httpStatus?: number;
  responseExcerpt?: string;
  /**
   * The event exactly as delivered (binary data as `{base64}`; an event
   * nested deeper than normalize reads as `{jsonText}`, its JSON text).
   */
  event: unknown;
  eventId?: string;
  firstSeen: string;
  launcherVersion: string;
}

export interface DeadLetterSink {
  /**
   * Stores the record and returns where it went; throws if it could not be
   * stored (the event is then redelivered). `json` is the record as JSON
   * text, already scrubbed: a sink that writes text writes that, and
   * never serializes a 10 MB event a second time.
   */
  write(record: DeadLetterRecord, json: string): Promise<string>;
}

/** Keeps the record in the log line only. */
export const logDeadLetters: DeadLetterSink = {
  write: async () => 'log',
};

/**
 * The delivered event back from a record: `{base64}` objects (what
 * serializableEvent made of Buffers) become Buffers again, and a
 * `{jsonText}` event is parsed, so the event normalizes exactly as it did
 * when it was delivered.
 */
export function reviveEvent(stored: unknown, top = true): unknown {
  if (Array.isArray(stored)) return stored.map(v => reviveEvent(v, false));
  if (stored && typeof stored === 'object') {
    const keys = Object.keys(stored);
    const only = keys.length === 1 ? keys[0] : undefined;
    const value = (stored as Record<string, unknown>)[only ?? ''];
    if (only === 'base64' && typeof value === 'string')
      return Buffer.from(value, 'base64');
    if (top && only === 'jsonText' && typeof value === 'string')
      return JSON.parse(value) as unknown;
    return Object.fromEntries(
      Object.entries(stored).map(([k, v]) => [k, reviveEvent(v, false)]),
    );
  }
  return stored;
}

/** JSON-safe copy of a delivered event: Buffers become base64, cycles are cut. */
export function serializableEvent(event: unknown): unknown {
  return JSON.parse(eventJson(event)) as unknown;
}

/**
 * The JSON text of the delivered event as a record keeps it. Within
 * normalize's depth limit, the event (Buffers as base64, cycles cut);
 * deeper (which only a rejected event can be), `{jsonText}`, its JSON
 * written without recursion, so that no later step walks it.
 */
export function eventJson(event: unknown): string {
  if (jsonDepth(event, LIMITS.jsonDepth) > LIMITS.jsonDepth)
    return JSON.stringify({jsonText: stringifyDeep(event)});
  return shallowText(withBase64(event));
}

/**
 * Buffers as `{base64}` before JSON.stringify sees them: their toJSON makes
 * an array of one number per byte (80 bytes of heap per byte of a 10 MB
 * body). Copies only the objects on the way to a Buffer; depth is bounded
 * by the caller.
 */
function withBase64(v: unknown, seen = new Set<object>()): unknown {
  if (Buffer.isBuffer(v)) return {base64: v.toString('base64')};
  if (v === null || typeof v !== 'object' || seen.has(v)) return v;
  seen.add(v);
  let copy: Record<string, unknown> | unknown[] | undefined;
  for (const [k, child] of Object.entries(v)) {
    const replaced = withBase64(child, seen);
    if (replaced !== child) {
      copy ??= Array.isArray(v) ? [...(v as unknown[])] : {...v};
      // defineProperty: a key named __proto__ stays a key.
      Object.defineProperty(copy, k, {
        value: replaced,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return copy ?? v;
}

/** Strings this long that need no escaping are spliced into the text, not run through JSON.stringify. */
const SPLICE_CHARS = 64 * 1024;
/** What JSON.stringify escapes, besides lone surrogates: quote, backslash, control characters. */
const ESCAPED = ['"', '\\'];
for (let c = 0; c < 0x20; c++) ESCAPED.push(String.fromCharCode(c));
const SURROGATE = /[\ud800-\udfff]/;

/**
 * Whether JSON.stringify would escape a character of `s`: one native
 * search per character (memchr-fast) is a third of the cost of one
 * character-class regular expression over a 13 MB string (6 ms against
 * 17 ms, BENCHMARKS.md); V8 answers the surrogate search at once for a
 * one-byte string.
 */
function needsEscape(s: string): boolean {
  for (const c of ESCAPED) if (s.includes(c)) return true;
  return SURROGATE.test(s);
}

/**
 * JSON.stringify with Buffers already replaced and cycles cut. A long string
 * that needs no escaping (a message's base64 data, most of a large event)
 * is left out as a marker and spliced in afterwards: JSON.stringify spends
 * 55 ms escaping 13 MB, a search for a character to escape a third of that.
 */
function shallowText(event: unknown): string {
  const seen = new WeakSet<object>();
  const long: string[] = [];
  const marker = `\u0000splice-${Math.random().toString(36).slice(2)}-`;
  const text =
    JSON.stringify(event ?? null, (_k, v: unknown) => {
      if (typeof v === 'string') {
        if (v.length < SPLICE_CHARS || needsEscape(v)) return v;
        long.push(v);
        return `${marker}${long.length - 1}`;
      }
      if (v && typeof v === 'object') {
        if (seen.has(v)) return '[cycle]';
        seen.add(v);
      }
      return v;
    }) ?? 'null';
  if (long.length === 0) return text;
  // A random marker: an event cannot carry it on purpose.
  const written = JSON.stringify(marker).slice(1, -1);
  const parts = text.split(written);
  const out = [parts[0]!];
  for (const part of parts.slice(1)) {
    const index = Number(/^\d+/.exec(part)![0]);
    out.push(long[index]!, part.slice(String(index).length));
  }
  // Joined flat at once: a string built with += is a rope that the line's excerpt and size would flatten again.
  return out.join('');
}
