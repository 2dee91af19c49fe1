/**
 * JSON walks that do not recurse, for values that come from outside.
 *
 * functions-framework's body parser (V8's JSON.parse, which is iterative)
 * accepts JSON nested as deep as the body is long; JSON.stringify, a
 * replacer walk or any recursive copy of such a value overflows the stack
 * (`[[[[…]]]]` 5,000 deep in 10 KB was enough). These two walks keep their
 * own stack, so the only bound on them is the size of the value.
 */

/** The JSON shape of a Buffer as JSON.stringify sees it (after its toJSON). */
function isBufferJson(v: object): v is {type: 'Buffer'; data: number[]} {
  return (
    (v as {type?: unknown}).type === 'Buffer' &&
    Array.isArray((v as {data?: unknown}).data)
  );
}

/**
 * How deep `value` nests, counting each array or object as one level, but
 * no further than `limit + 1`: enough to know it is over the limit.
 */
export function jsonDepth(value: unknown, limit: number): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    if (Buffer.isBuffer(node)) continue;
    const children = Array.isArray(node)
      ? node
      : Object.values(node as Record<string, unknown>);
    for (const child of children)
      if (child !== null && typeof child === 'object')
        stack.push([child as object, depth + 1]);
  }
  return deepest;
}

interface Frame {
  node: Record<string, unknown> | unknown[];
  keys: string[] | undefined; // undefined: an array
  next: number;
}

/**
 * JSON text of a parsed JSON value of any depth, as JSON.stringify would
 * write it, with Buffers as `{"base64": …}` (what dead-letter records keep).
 * `toJSON` is honoured only for Buffers: a delivered event has no other.
 */
export function stringifyDeep(value: unknown): string {
  let out = '';
  const stack: Frame[] = [];
  // Writes a scalar, or opens a container and pushes it; false when the value is skipped (undefined in an object).
  const open = (v: unknown, inArray: boolean): boolean => {
    if (Buffer.isBuffer(v)) v = {base64: v.toString('base64')};
    else if (v !== null && typeof v === 'object' && isBufferJson(v))
      v = {base64: Buffer.from(v.data).toString('base64')};
    if (v === null || typeof v !== 'object') {
      const text =
        typeof v === 'bigint' ? JSON.stringify(String(v)) : JSON.stringify(v);
      if (text === undefined && !inArray) return false;
      out += text ?? 'null';
      return true;
    }
    if (Array.isArray(v)) {
      out += '[';
      stack.push({node: v, keys: undefined, next: 0});
    } else {
      out += '{';
      stack.push({
        node: v as Record<string, unknown>,
        keys: Object.keys(v),
        next: 0,
      });
    }
    return true;
  };
  open(value, true);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.keys === undefined) {
      const items = top.node as unknown[];
      if (top.next === items.length) {
        out += ']';
        stack.pop();
        continue;
      }
      if (top.next > 0) out += ',';
      open(items[top.next++], true);
    } else {
      if (top.next === top.keys.length) {
        out += '}';
        stack.pop();
        continue;
      }
      const key = top.keys[top.next]!;
      const v = (top.node as Record<string, unknown>)[key];
      const comma = top.next > 0 && out[out.length - 1] !== '{';
      top.next++;
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol')
        continue;
      out += `${comma ? ',' : ''}${JSON.stringify(key)}:`;
      open(v, false);
    }
  }
  return out;
}

/**
 * A lower bound of the JSON length of `value` (its strings' and keys'
 * lengths), counted without recursion and only until it passes `limit`:
 * enough to refuse a 10 MB value without serializing it first.
 */
export function jsonLengthAtLeast(value: unknown, limit: number): number {
  let length = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && length <= limit) {
    const v = stack.pop();
    if (typeof v === 'string') length += v.length + 2;
    else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        length += Array.isArray(v) ? 1 : k.length + 3;
        stack.push(child);
      }
    } else length += 1;
  }
  return length;
}
