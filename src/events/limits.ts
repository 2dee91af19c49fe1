/**
 * The largest event this function reads, taken from the platforms' own
 * limits: nothing the platform can deliver is refused, and anything past
 * them is refused before any step (match, render, serialize, log) works on
 * it. Every step after normalize can then rely on these bounds.
 */
import {InvalidEventError} from '../core/errors';
import {jsonDepth} from '../core/json';

export const LIMITS = {
  /** Pub/Sub: a message's data is at most 10 MB; 10 MiB here, so no real message is refused. */
  pubsubDataBytes: 10 * 2 ** 20,
  /** Pub/Sub: 100 attributes per message, keys of 256 bytes, values of 1,024 bytes. */
  pubsubAttributes: 100,
  pubsubAttributeKeyBytes: 256,
  pubsubAttributeValueBytes: 1024,
  /** Pub/Sub: ordering keys are at most 1,024 bytes. */
  pubsubOrderingKeyBytes: 1024,
  /** Cloud Storage: object names are 1 to 1,024 bytes of UTF-8. */
  storageNameBytes: 1024,
  /** Cloud Storage: custom metadata, keys and values together, is at most 8 KiB. */
  storageMetadataBytes: 8 * 1024,
  /**
   * Every other string the event's identity is made of (id, type, source,
   * subject, time, bucket, …): binary mode carries them in HTTP headers, and
   * none of Google's is near this.
   */
  contextStringBytes: 2048,
  /**
   * JSON nesting, in the delivery and in a message's data: Airflow confs
   * and this function's templates never need more, and it keeps every
   * recursive step (JSON.stringify, pino) far from the stack's end.
   */
  jsonDepth: 100,
  /**
   * JSON values (array elements and object members, nested ones too) in a
   * message's data or a delivery: 10 MiB of `{},` is 3.5 million objects,
   * 210 MB of heap and two seconds to parse. 100,000 values parse in tens of
   * milliseconds into a few MB; an Airflow conf is far smaller. Data with
   * more is not parsed (routes that read `json` say why); a delivery with
   * more is refused (none of Google's is near it).
   */
  jsonValues: 100_000,
  /**
   * JSON values in a request body itself (the delivery, not the message
   * data inside it, which is base64): a Storage event's resource with 8 KiB
   * of custom metadata is under 3,000, a push of 100 attributes a few
   * hundred. A body is held until its answer, so this bounds what 80 requests
   * in flight hold (5,000 empty objects: 0.3 MB).
   */
  deliveryJsonValues: 5_000,
} as const;

/** Base64 text of `bytes` bytes (padding included). */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

export function checkDepth(value: unknown, what: string): void {
  if (jsonDepth(value, LIMITS.jsonDepth) > LIMITS.jsonDepth)
    throw tooDeep(what);
}

export function tooDeep(what: string): InvalidEventError {
  return new InvalidEventError(
    `${what} is nested more than ${LIMITS.jsonDepth} levels deep; this function reads JSON up to ${LIMITS.jsonDepth} levels`,
  );
}

/** Refuses a string over `max` UTF-8 bytes, saying which limit it breaks. */
export function checkBytes(
  value: string | undefined,
  max: number,
  what: string,
  whose: string,
): void {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most strings need no count.
  if (value === undefined || value.length * 3 <= max) return;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > max)
    throw new InvalidEventError(
      `${what} is ${bytes} bytes, over ${whose} limit of ${max.toLocaleString('en-US')} bytes`,
    );
}

/**
 * What JSON text would cost to parse, read before JSON.parse: parsing
 * `[[[[…]]]]` 5 million deep (10 MB) built 5 million arrays and took two
 * seconds before any check could look at the result, and 10 MiB of `{},`
 * took 210 MB of heap and two seconds (3.5 million objects; see
 * BENCHMARKS.md). Text with fewer brackets than the depth limit and fewer
 * brackets and commas than the value limit is within both (counted with
 * indexOf, which is native); otherwise one pass that skips strings.
 * `values` counts every value, array element and object member, at most
 * one past the limit.
 */
export function scanJsonText(text: string): {
  tooDeep: boolean;
  values: number;
} {
  const maxValues = LIMITS.jsonValues;
  let brackets = 0;
  let separators = 0;
  for (const mark of ['[', '{', ',']) {
    for (
      let at = text.indexOf(mark);
      at !== -1 && separators <= maxValues;
      at = text.indexOf(mark, at + 1)
    ) {
      separators++;
      if (mark !== ',') brackets++;
    }
  }
  if (brackets <= LIMITS.jsonDepth && separators <= maxValues)
    return {tooDeep: false, values: separators + 1};
  let depth = 0;
  let values = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x2c /* , */) {
      if (++values > maxValues) break;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > LIMITS.jsonDepth) return {tooDeep: true, values};
      if (++values > maxValues) break;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return {tooDeep: false, values};
}

/** Whether JSON text nests deeper than the limit (see scanJsonText). */
export function textNestsTooDeep(text: string): boolean {
  return scanJsonText(text).tooDeep;
}

/** Why this function does not parse JSON text of this many values. */
export function tooManyValues(
  what: string,
  values: number,
  max: number = LIMITS.jsonValues,
): string {
  return `${what} is JSON of more than ${max.toLocaleString('en-US')} values (${values > LIMITS.jsonValues ? 'at least ' : ''}${values.toLocaleString('en-US')}), which this function does not parse: parsing costs memory and time for each value`;
}
