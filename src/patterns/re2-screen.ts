/**
 * Whether RE2 surely accepts a pattern, decided without loading re2js.
 *
 * Loading re2js and compiling a first program costs a cold process ~15-20 ms
 * of CPU (BENCHMARKS.md, "Matching"), so the function compiles a pattern's
 * program on first use. But what RE2 refuses must be refused when the config
 * is compiled, by the function at startup as by `validate`. This screen
 * reads a pattern and answers true only for the constructs whose RE2
 * translation is known to compile, within RE2's limits (re2js 2.10.0's
 * parser: repeat counts up to 1000 with their product along any nesting at
 * most 1000, a program of at most 1,398,101 instructions, nesting at most
 * 1000 deep). Anything else (a rare escape, `\p{…}`, `[\b]`, an empty
 * class, deep nesting, nested counts) is "not sure": linear-regex.ts then
 * compiles that one program when the config is compiled, so a refusal is a
 * config problem and an acceptance costs only that pattern's compile.
 *
 * Usual patterns (`^exports/(?<t>[a-z_]+)/dt=(?<d>\d{4}-\d{2}-\d{2})/_SUCCESS$`,
 * the globs RE2 runs) are sure. test/unit/patterns/re2-screen.test.ts checks
 * on random patterns that a sure one always compiles.
 */

/** Upper bound of re2js's program size estimate accepted as sure (its limit: 1,398,101). */
const MAX_SIZE = 1_000_000;
/** RE2's limit on a repeat count, and on their product along any nesting. */
const MAX_REPEAT = 1000;
/** Groups nested deeper are not sure (RE2 refuses a parse tree over 1000 high). */
const MAX_DEPTH = 100;
const MAX_LENGTH = 10_000;

/** `js`: a config regex (JavaScript syntax, translated by re2js); `re2`: what globToRE2 writes. */
export type PatternSyntax = 'js' | 're2';

interface Piece {
  /** Upper bound of re2js's calcSize for it. */
  size: number;
  /** The largest product of repeat counts along a nesting path inside it. */
  chain: number;
}

interface Frame {
  /** Sizes of the alternatives closed so far, and how many `|`. */
  closed: number;
  bars: number;
  /** Size of the alternative being read. */
  current: number;
  chain: number;
  /** What a quantifier would apply to; undefined after `(`, `|`, `^`, `$`, `\b`. */
  last?: Piece;
  /** 0: last is unquantified; 1: quantified; 2: quantified and made lazy (`*?`). */
  quantified: 0 | 1 | 2;
}

const ESCAPED_PUNCTUATION = '^$\\.*+?()[]{}|/-';
const CLASS_ESCAPES = 'dDwWsS';
const CONTROL_ESCAPES: Record<string, number> = {
  n: 10,
  r: 13,
  t: 9,
  f: 12,
  v: 11,
};

export function re2SurelyAccepts(
  source: string,
  syntax: PatternSyntax,
): boolean {
  if (source.length > MAX_LENGTH) return false;
  const stack: Frame[] = [newFrame()];
  const names = new Set<string>();
  const top = () => stack[stack.length - 1]!;
  const atom = (piece: Piece) => {
    const f = top();
    f.current += piece.size;
    f.chain = Math.max(f.chain, piece.chain);
    f.last = piece;
    f.quantified = 0;
  };
  const assertion = () => {
    const f = top();
    f.current += 1;
    f.last = undefined;
  };
  /** Applies a quantifier to the last piece; false where RE2 (or JavaScript) would refuse it. */
  const quantify = (count: number, size: (sub: number) => number) => {
    const f = top();
    if (!f.last || f.quantified !== 0) return false;
    const chain = count > 1 ? count * f.last.chain : f.last.chain;
    if (chain > MAX_REPEAT) return false;
    const s = size(f.last.size);
    f.current += s - f.last.size;
    f.chain = Math.max(f.chain, chain);
    f.last = {size: s, chain};
    f.quantified = 1;
    return true;
  };

  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '\\') {
      const next = source[i + 1];
      if (next === undefined) return false;
      if ('bB'.includes(next)) {
        assertion();
        i += 2;
        continue;
      }
      const c = escapedChar(source, i, syntax);
      if (!c) return false;
      atom({size: 1, chain: 1});
      i = c.next;
      continue;
    }
    if (ch === '[') {
      const end = classEnd(source, i, syntax);
      if (end === -1) return false;
      atom({size: 1, chain: 1});
      i = end;
      continue;
    }
    if (ch === '(') {
      let open = 1;
      if (source.startsWith('(?:', i)) open = 3;
      else if (source[i + 1] === '?') {
        const name = syntax === 'js' ? groupName(source, i) : undefined;
        if (name === undefined || names.has(name)) return false;
        names.add(name);
        open = name.length + 4; // (?<name>
      }
      if (stack.length > MAX_DEPTH) return false;
      stack.push(newFrame());
      i += open;
      continue;
    }
    if (ch === ')') {
      if (stack.length === 1) return false;
      const f = stack.pop()!;
      // A capture adds 2; a (?:) group nothing: 2 either way is an upper bound.
      atom({size: f.closed + f.current + f.bars + 2, chain: f.chain});
      i += 1;
      continue;
    }
    if (ch === '|') {
      const f = top();
      f.closed += f.current;
      f.current = 0;
      f.bars++;
      f.last = undefined;
      i += 1;
      continue;
    }
    if (ch === '*' || ch === '+' || ch === '?') {
      const f = top();
      if (ch === '?' && f.quantified === 1) {
        f.quantified = 2; // lazy: no node of its own
        i += 1;
        continue;
      }
      if (!quantify(1, sub => (ch === '*' ? 2 : 1) + sub)) return false;
      i += 1;
      continue;
    }
    if (ch === '{') {
      const counts = repeatCounts(source, i);
      if (!counts) return false;
      const {min, max} = counts;
      if (min > MAX_REPEAT || max > MAX_REPEAT || (max !== -1 && min > max))
        return false;
      const count = Math.max(min, max);
      const ok = quantify(count, sub =>
        max === -1
          ? min === 0
            ? 2 + sub
            : 1 + min * sub
          : max * sub + (max - min),
      );
      if (!ok) return false;
      i = counts.next;
      continue;
    }
    if (ch === '^' || ch === '$') {
      assertion();
      i += 1;
      continue;
    }
    if (ch === ']' || ch === '}') return false;
    const cp = codePoint(source, i);
    if (cp === undefined) return false;
    atom({size: 1, chain: 1});
    i += cp > 0xffff ? 2 : 1;
  }
  if (stack.length !== 1) return false;
  const f = top();
  return f.closed + f.current + f.bars <= MAX_SIZE;
}

/** `{n}`, `{n,}` or `{n,m}` at s[i] (max -1 when open), up to 4 digits each; undefined otherwise. */
function repeatCounts(
  s: string,
  i: number,
): {min: number; max: number; next: number} | undefined {
  const digits = (from: number) => {
    let j = from;
    while (j < s.length && j - from < 5 && s[j]! >= '0' && s[j]! <= '9') j++;
    return j - from > 4 ? -1 : j;
  };
  const a = digits(i + 1);
  if (a <= i + 1) return undefined;
  const min = Number(s.slice(i + 1, a));
  if (s[a] === '}') return {min, max: min, next: a + 1};
  if (s[a] !== ',') return undefined;
  const b = digits(a + 1);
  if (b === -1 || s[b] !== '}') return undefined;
  return {min, max: b === a + 1 ? -1 : Number(s.slice(a + 1, b)), next: b + 1};
}

/** NAME of a `(?<NAME>` at s[i]: ASCII letters, digits and _; undefined otherwise. */
function groupName(s: string, i: number): string | undefined {
  if (s[i + 2] !== '<') return undefined;
  let j = i + 3;
  while (j < s.length && j - i < 40 && isWordChar(s[j]!)) j++;
  return j > i + 3 && s[j] === '>' ? s.slice(i + 3, j) : undefined;
}

function isWordChar(c: string): boolean {
  return (
    (c >= 'a' && c <= 'z') ||
    (c >= 'A' && c <= 'Z') ||
    (c >= '0' && c <= '9') ||
    c === '_'
  );
}

function newFrame(): Frame {
  return {closed: 0, bars: 0, current: 0, chain: 1, quantified: 0};
}

/** The code point at i; undefined for half of a surrogate pair. */
function codePoint(s: string, i: number): number | undefined {
  const cp = s.codePointAt(i)!;
  return cp >= 0xd800 && cp <= 0xdfff ? undefined : cp;
}

/**
 * An escape both JavaScript and RE2 read as one character or class, at
 * source[i] === '\\': its code point (undefined for \d \w \s and their
 * negations) and where it ends; undefined when not sure.
 */
function escapedChar(
  s: string,
  i: number,
  syntax: PatternSyntax,
): {cp?: number; next: number} | undefined {
  const next = s[i + 1]!;
  if (CLASS_ESCAPES.includes(next)) return {next: i + 2};
  if (Object.hasOwn(CONTROL_ESCAPES, next))
    return {cp: CONTROL_ESCAPES[next], next: i + 2};
  if (ESCAPED_PUNCTUATION.includes(next))
    return {cp: next.charCodeAt(0), next: i + 2};
  if (syntax === 'js' && next === 'u') {
    const hex = s.slice(i + 2, i + 6);
    const cp = hex.length === 4 ? Number(`0x${hex}`) : NaN;
    if (Number.isNaN(cp)) return undefined;
    if (cp >= 0xd800 && cp <= 0xdfff) return undefined;
    return {cp, next: i + 6};
  }
  return undefined;
}

/** Where the class starting at s[i] === '[' ends (after its ']'); -1 when not sure. */
function classEnd(s: string, i: number, syntax: PatternSyntax): number {
  let j = i + 1;
  if (s[j] === '^') j++;
  let items = 0;
  for (;;) {
    const c = s[j];
    if (c === undefined || c === '[') return -1;
    if (c === ']') return items > 0 ? j + 1 : -1; // [] and [^]: not sure
    const lo = classChar(s, j, syntax);
    if (!lo) return -1;
    j = lo.next;
    if (s[j] === '-' && s[j + 1] !== undefined && s[j + 1] !== ']') {
      const hi = classChar(s, j + 1, syntax);
      if (!hi || lo.cp === undefined || hi.cp === undefined || lo.cp > hi.cp)
        return -1;
      j = hi.next;
    }
    items++;
  }
}

function classChar(
  s: string,
  j: number,
  syntax: PatternSyntax,
): {cp?: number; next: number} | undefined {
  if (s[j] === '\\') {
    if (s[j + 1] === undefined) return undefined;
    return escapedChar(s, j, syntax);
  }
  const cp = codePoint(s, j);
  if (cp === undefined) return undefined;
  return {cp, next: j + (cp > 0xffff ? 2 : 1)};
}
