/**
 * Reading the well-formed parts of a config whose shape is wrong somewhere,
 * so that compile checks their meaning in the same pass as the shape
 * problems and one `validate` lists everything.
 */
import {INVALID, isPlainObject, type Check} from './check';
/**
 * What can still be read from a value whose shape is wrong somewhere: the
 * valid value itself, or, inside objects, maps and lists, the parts that are
 * valid. An object keeps its valid keys (defaults filled in, unknown keys
 * dropped); a map keeps every key and a list every position, with undefined
 * for an invalid entry (so paths and names still line up). INVALID when
 * nothing can be read. Lets compile check the meaning of every well-formed
 * part in the same pass as the shape problems.
 */
export function salvage(check: Check<unknown>, value: unknown): unknown {
  const whole = check(value, '', []);
  if (whole !== INVALID) return whole;
  const parts = check.parts;
  if (parts?.kind === 'object' && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, part] of Object.entries(parts.shape)) {
      if (value[k] === undefined) {
        const d = part.absent?.();
        if (d !== undefined) out[k] = d;
        continue;
      }
      const r = salvage(part, value[k]);
      if (r !== INVALID) out[k] = r;
    }
    return out;
  }
  if (parts?.kind === 'record' && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value)) {
      const r = salvage(parts.value, x);
      out[k] = r === INVALID ? undefined : r;
    }
    return out;
  }
  if (parts?.kind === 'array' && Array.isArray(value)) {
    return value.map(x => {
      const r = salvage(parts.item, x);
      return r === INVALID ? undefined : r;
    });
  }
  return INVALID;
}
