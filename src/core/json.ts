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

type Frame =
  | {kind: 'array'; items: unknown[]; next: number}
  | {kind: 'object'; entries: [string, unknown][]; next: number};

/**
 * JSON text of a parsed JSON value of any depth, as JSON.stringify would
 * write it, with Buffers as `{"base64": …}` (what dead-letter records keep).
 * `toJSON` is honoured only for Buffers: a delivered event has no other.
 */
export function stringifyDeep(value: unknown): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const open = (v: unknown, inArray: boolean): void => {
    if (Buffer.isBuffer(v)) v = {base64: v.toString('base64')};
    else if (v !== null && typeof v === 'object' && isBufferJson(v))
      v = {base64: Buffer.from(v.data).toString('base64')};
    if (v === null || typeof v !== 'object') {
      const text =
        typeof v === 'bigint' ? JSON.stringify(String(v)) : JSON.stringify(v);
      out.push(text ?? (inArray ? 'null' : ''));
      return;
    }
    if (Array.isArray(v)) {
      out.push('[');
      stack.push({kind: 'array', items: v, next: 0});
    } else {
      out.push('{');
      const entries = Object.entries(v).filter(
        ([, x]) =>
          x !== undefined && typeof x !== 'function' && typeof x !== 'symbol',
      );
      stack.push({kind: 'object', entries, next: 0});
    }
  };
  open(value, true);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.kind === 'array') {
      if (top.next === top.items.length) {
        out.push(']');
        stack.pop();
        continue;
      }
      if (top.next > 0) out.push(',');
      open(top.items[top.next++], true);
    } else {
      if (top.next === top.entries.length) {
        out.push('}');
        stack.pop();
        continue;
      }
      if (top.next > 0) out.push(',');
      const [k, v] = top.entries[top.next++]!;
      out.push(`${JSON.stringify(k)}:`);
      open(v, false);
    }
  }
  return out.join('');
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
