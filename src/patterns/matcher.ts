/**
 * String matchers used by routes: exact, any-of, glob, regex (named captures
 * become template variables), prefix, suffix, exists. Compiled once at config
 * load. Globs and regexes run in time linear in the value's length,
 * whatever the pattern (glob.ts, linear-regex.ts).
 */
import {compileGlob} from './glob';
import {compileRegex} from './linear-regex';

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
  /**
   * Compiles what is compiled on first use (an RE2 program) now; throws with
   * why and how to fix if it cannot run. `dag-launcher validate` calls it.
   */
  prepare(): void;
}

const nothingToPrepare = () => {};

const NONE: Record<string, string> = Object.freeze({}) as Record<
  string,
  string
>;

export function compileMatcher(spec: MatcherSpec): Matcher {
  if (spec === null || typeof spec !== 'object') {
    return {
      describe: JSON.stringify(spec),
      prepare: nothingToPrepare,
      match: v => (v === spec ? NONE : undefined),
    };
  }
  if (Array.isArray(spec)) {
    const set = new Set(spec);
    return {
      describe: `one of ${JSON.stringify(spec)}`,
      prepare: nothingToPrepare,
      match: v => (typeof v === 'string' && set.has(v) ? NONE : undefined),
    };
  }
  if ('exists' in spec) {
    return {
      describe: spec.exists ? 'present' : 'absent',
      prepare: nothingToPrepare,
      match: v => ((v !== undefined) === spec.exists ? NONE : undefined),
    };
  }
  if ('prefix' in spec) {
    return {
      describe: `prefix ${spec.prefix}`,
      prepare: nothingToPrepare,
      match: v =>
        typeof v === 'string' && v.startsWith(spec.prefix) ? NONE : undefined,
    };
  }
  if ('suffix' in spec) {
    return {
      describe: `suffix ${spec.suffix}`,
      prepare: nothingToPrepare,
      match: v =>
        typeof v === 'string' && v.endsWith(spec.suffix) ? NONE : undefined,
    };
  }
  const re = 'glob' in spec ? compileGlob(spec.glob) : compileRegex(spec.regex);
  return {
    describe: 'glob' in spec ? `glob ${spec.glob}` : `regex ${spec.regex}`,
    prepare: () => re.prepare(),
    match: v => (typeof v === 'string' ? re.match(v) : undefined),
  };
}
