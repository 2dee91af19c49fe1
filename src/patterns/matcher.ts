/**
 * String matchers used by routes: exact, any-of, glob, regex (named captures
 * become template variables), prefix, suffix, exists. Compiled once at config
 * load. Globs and regexes run on RE2 (linear-regex.ts): linear in the value's
 * length whatever the pattern.
 */
import {RE2JS} from 're2js';
import {compileRE2, compileRegex} from './linear-regex';

export type MatcherSpec =
  | string
  | number
  | boolean
  | null
  | string[]
  | {glob: string}
  | {regex: string}
  | {prefix: string}
  | {suffix: string}
  | {exists: boolean};

export interface Matcher {
  describe: string;
  /** Returns the named captures (possibly empty) on a match, undefined otherwise. */
  match(value: unknown): Record<string, string> | undefined;
}

const NONE: Record<string, string> = Object.freeze({}) as Record<
  string,
  string
>;

export function compileMatcher(spec: MatcherSpec): Matcher {
  if (spec === null || typeof spec !== 'object') {
    return {
      describe: JSON.stringify(spec),
      match: v => (v === spec ? NONE : undefined),
    };
  }
  if (Array.isArray(spec)) {
    const set = new Set(spec);
    return {
      describe: `one of ${JSON.stringify(spec)}`,
      match: v => (typeof v === 'string' && set.has(v) ? NONE : undefined),
    };
  }
  if ('exists' in spec) {
    return {
      describe: spec.exists ? 'present' : 'absent',
      match: v => ((v !== undefined) === spec.exists ? NONE : undefined),
    };
  }
  if ('prefix' in spec) {
    return {
      describe: `prefix ${spec.prefix}`,
      match: v =>
        typeof v === 'string' && v.startsWith(spec.prefix) ? NONE : undefined,
    };
  }
  if ('suffix' in spec) {
    return {
      describe: `suffix ${spec.suffix}`,
      match: v =>
        typeof v === 'string' && v.endsWith(spec.suffix) ? NONE : undefined,
    };
  }
  const re =
    'glob' in spec
      ? compileRE2(
          globToRE2(spec.glob),
          RE2JS.DOTALL,
          `glob ${JSON.stringify(spec.glob)}`,
        )
      : compileRegex(spec.regex);
  return {
    describe: 'glob' in spec ? `glob ${spec.glob}` : `regex ${spec.regex}`,
    match: v => (typeof v === 'string' ? re.match(v) : undefined),
  };
}

/**
 * Glob over object names, where `/` separates path segments:
 * `*` any run of characters within a segment, `?` one character within a
 * segment, `**` any run including `/` (and `**\/` zero or more whole
 * segments), `{a,b}` alternatives, `[abc]` / `[!abc]` character classes.
 * The whole name must match. Returns RE2 syntax, run with RE2's DOTALL
 * flag (`*` and `**` match a newline too, as names may hold one).
 */
export function globToRE2(glob: string): string {
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
      } else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/[\\[\]]/g, '\\$&')}]`;
        i = end;
      }
    } else if (ch === '{') {
      braces++;
      re += '(?:';
    } else if (ch === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (ch === ',' && braces > 0) {
      re += '|';
    } else {
      re += ch.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
    }
  }
  if (braces > 0)
    throw new Error(`unbalanced '{' in glob ${JSON.stringify(glob)}`);
  return `^${re}$`;
}
