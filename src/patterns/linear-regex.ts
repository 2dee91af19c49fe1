/**
 * Config regexes and globs run on RE2 (the `re2js` port): time linear in the
 * name's length whatever the pattern, so an object name built to make a
 * pattern backtrack (`incoming/**\/*_*_*_*.csv` against 1,024 underscores,
 * `^(a+)+$` against `aaaa…!`) costs microseconds, not minutes. V8's own
 * engine backtracks, and its linear mode (`--enable-experimental-regexp-engine`)
 * is an experimental flag without Unicode mode; re2-wasm is 2-3x slower per
 * match. Figures: BENCHMARKS.md, "Matching".
 *
 * A config regex is written in JavaScript syntax (named groups `(?<name>…)`
 * become `captures.name`). What RE2 cannot run in linear time (backreferences,
 * lookaround) is refused when the config is compiled, with why and how to fix.
 */
import {RE2JS} from 're2js';

export interface LinearRegex {
  /** The named groups (possibly empty) on a match, undefined otherwise. */
  match(value: string): Record<string, string> | undefined;
}

const NONE: Record<string, string> = Object.freeze({}) as Record<
  string,
  string
>;

/** A config `{regex}`: JavaScript syntax, searched anywhere in the value (anchor it with ^…$). */
export function compileRegex(source: string): LinearRegex {
  new RegExp(source, 'u'); // JavaScript syntax first: its own message for a typo
  const refused = nonLinearConstruct(source);
  if (refused) {
    throw new Error(
      `regex ${JSON.stringify(source)} uses ${refused.what}, which cannot be matched in time linear in the name's length, so matching (RE2) does not support it. ${refused.fix}`,
    );
  }
  return compileRE2(
    RE2JS.translateRegExp(source),
    0,
    `regex ${JSON.stringify(source)}`,
  );
}

/** RE2 source (already translated), compiled; RE2's refusals become config problems. */
export function compileRE2(
  source: string,
  flags: number,
  what: string,
): LinearRegex {
  let re: RE2JS;
  try {
    re = RE2JS.compile(source, flags);
  } catch (err) {
    const reason = (err as Error).message.replace(
      /^error parsing regexp: /,
      '',
    );
    const fix = /repeat count|expression too large/.test(reason)
      ? 'RE2 allows repeat counts up to {1000} and patterns up to a fixed size: use + or * instead of a large {n}, or split the pattern.'
      : 'RE2 runs JavaScript syntax except backreferences, lookaround, \\p{Script=…} and [^]: rewrite that part (e.g. [\\s\\S] for [^]).';
    throw new Error(
      `${what} cannot run on the linear-time engine (RE2): ${reason}. ${fix}`,
    );
  }
  if (Object.keys(re.namedGroups()).length === 0)
    return {match: v => (re.test(v) ? NONE : undefined)};
  return {
    match(v) {
      // test() runs RE2's DFA, the fast path for the usual no-match; exec() only for a match's groups.
      if (!re.test(v)) return undefined;
      const groups = (re.exec(v) as {groups?: Record<string, unknown>} | null)
        ?.groups;
      const out: Record<string, string> = {};
      for (const k of Object.keys(groups ?? {})) {
        const g = groups![k];
        if (typeof g === 'string')
          Object.defineProperty(out, k, {
            value: g,
            enumerable: true,
            writable: true,
            configurable: true,
          });
      }
      return out;
    },
  };
}

/**
 * Backreferences and lookaround, found in a source that is valid JavaScript
 * (Unicode mode): RE2 refuses them, and re2js's translation would turn `\k<x>`
 * into the literal `k<x>` rather than refuse it, so they are caught here first.
 */
function nonLinearConstruct(
  source: string,
): {what: string; fix: string} | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(next) || next === 'k'))
        return {
          what: `a backreference (\\${next === 'k' ? 'k<…>' : next})`,
          fix: "Repeat the group's pattern instead of referring back to it (e.g. (?<d>\\d+)-\\d+ rather than (?<d>\\d+)-\\k<d>), or check the equality in the DAG.",
        };
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
    } else if (ch === '[') {
      inClass = true;
    } else if (ch === '(' && source[i + 1] === '?') {
      const look = /^\(\?(<?[=!])/.exec(source.slice(i, i + 4))?.[1];
      if (look)
        return {
          what: `a ${look.startsWith('<') ? 'lookbehind' : 'lookahead'} (?${look}…)`,
          fix: 'Match the text itself instead of looking around it (e.g. ^exports/[^_][^/]*$ rather than ^exports/(?!_)), or use a glob, prefix or suffix matcher.',
        };
    }
  }
  return undefined;
}
