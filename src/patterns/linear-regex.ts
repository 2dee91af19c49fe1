/**
 * Config regexes and globs run on RE2 (the `re2js` port): time linear in the
 * name's length whatever the pattern, so an object name built to make a
 * pattern backtrack (`incoming/**\/*_*_*_*.csv` against 1,024 underscores,
 * `^(a+)+$` against `aaaa…!`) costs microseconds, not minutes. V8's own
 * engine backtracks; its linear mode is an experimental flag without Unicode
 * mode; re2-wasm is ~2x slower per match and loads a WASM module. Figures:
 * BENCHMARKS.md, "Matching".
 *
 * A config regex is written in JavaScript syntax (named groups `(?<name>…)`
 * become `captures.name`). What RE2 cannot run (backreferences, lookaround,
 * repeat counts over 1,000, `\p{Script=…}`) is refused when the config is
 * compiled, with why and how to fix.
 *
 * The RE2 program itself is compiled on first use: re2js costs ~5 ms to load
 * and ~15 ms of CPU for its first program in a cold process (its Unicode
 * tables, code not yet optimized), which every cold start would pay before
 * its first event. A literal prefix (`^exports/orders/…`, `incoming/…`) is
 * checked first, so a pattern is compiled only once a name could match it.
 * What RE2 might refuse is compiled when the config is (re2-screen.ts says
 * which), so a refusal stops the function's startup and `validate` alike.
 * `prepare()` compiles now: `dag-launcher validate` calls it for every
 * pattern, a second check on the screen.
 */
import type * as Re2js from 're2js';
import {RejectedError} from '../core/errors';
import {re2SurelyAccepts} from './re2-screen';

export interface LinearRegex {
  /** The named groups (possibly empty) on a match, undefined otherwise. */
  match(value: string): Record<string, string> | undefined;
  /** Compiles the RE2 program now; throws (with why and how to fix) if RE2 refuses it. */
  prepare(): void;
}

/** RE2 refused a pattern when it was first used (`validate` reports it before deploy): the route rejects the event. */
export class PatternRefusedError extends RejectedError {}

export const NO_CAPTURES: Record<string, string> = Object.freeze({}) as Record<
  string,
  string
>;

/** A config `{regex}`: JavaScript syntax, searched anywhere in the value (anchor it with ^…$). */
export function compileRegex(source: string): LinearRegex {
  new RegExp(source, 'u'); // JavaScript syntax first: its own message for a typo
  const refused = unsupportedConstruct(source);
  if (refused) {
    throw new Error(
      `regex ${JSON.stringify(source)} uses ${refused.what}: RE2, the linear-time engine that runs config patterns, cannot run it. ${refused.fix}`,
    );
  }
  return screened(
    lazyRE2({
      source,
      translate: true,
      dotAll: false,
      prefix: anchoredLiteralPrefix(source),
      what: `regex ${JSON.stringify(source)}`,
    }),
    re2SurelyAccepts(source, 'js'),
  );
}

/**
 * A program the screen (re2-screen.ts) cannot vouch for is compiled now,
 * while the config is compiled: RE2's refusal is then a config problem,
 * the same at the function's startup as in `validate`.
 */
export function screened(re: LinearRegex, sure: boolean): LinearRegex {
  if (!sure) re.prepare();
  return re;
}

export interface RE2Spec {
  source: string;
  /** JavaScript syntax, to be translated to RE2's (\u escapes, named groups). */
  translate: boolean;
  dotAll: boolean;
  /** Every match starts at index 0 with this text ('' for none). */
  prefix: string;
  /** How problems name the pattern. */
  what: string;
}

export function lazyRE2(spec: RE2Spec): LinearRegex {
  let run: ((v: string) => Record<string, string> | undefined) | undefined;
  let refusal: string | undefined;
  const prepare = () => {
    if (run) return;
    if (refusal === undefined) {
      try {
        run = compileRE2(spec);
        return;
      } catch (err) {
        refusal = (err as Error).message;
      }
    }
    throw new PatternRefusedError(refusal);
  };
  return {
    prepare,
    match(v) {
      if (spec.prefix && !v.startsWith(spec.prefix)) return undefined;
      if (!run) prepare();
      return run!(v);
    },
  };
}

function compileRE2(
  spec: RE2Spec,
): (v: string) => Record<string, string> | undefined {
  const {RE2JS} = require('re2js') as typeof Re2js;
  let re: Re2js.RE2JS;
  try {
    re = RE2JS.compile(
      spec.translate ? RE2JS.translateRegExp(spec.source) : spec.source,
      spec.dotAll ? RE2JS.DOTALL : 0,
    );
  } catch (err) {
    const reason = (err as Error).message.replace(
      /^error parsing regexp: /,
      '',
    );
    throw new Error(
      `${spec.what} cannot run on the linear-time engine (RE2): ${reason}. ${howToFix(reason, spec.translate)}`,
    );
  }
  if (Object.keys(re.namedGroups()).length === 0)
    return v => (re.test(v) ? NO_CAPTURES : undefined);
  return v => {
    // test() runs RE2's DFA, the fast path for the usual no-match; exec() only for a match's groups.
    if (!re.test(v)) return undefined;
    const groups = (re.exec(v) as {groups?: Record<string, unknown>} | null)
      ?.groups;
    const out: Record<string, string> = {};
    for (const k of Object.keys(groups ?? {})) {
      const g = groups![k];
      // defineProperty: a group named __proto__ stays a capture.
      if (typeof g === 'string')
        Object.defineProperty(out, k, {
          value: g,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
    return out;
  };
}

/** How to fix what RE2 refused, by its reason; `regex`: a config regex (else a glob). */
function howToFix(reason: string, regex: boolean): string {
  if (/repeat count|too large/.test(reason))
    return 'RE2 allows repeat counts up to {1000}, nested ones included, and patterns up to a fixed size: use + or * instead of a large {n}, or split the pattern.';
  if (/nests too deeply/.test(reason))
    return 'RE2 nests groups and repetitions at most 1000 deep: remove the extra parentheses.';
  if (/character class range/.test(reason))
    return 'A range runs from the lower character to the higher: write [a-z], not [z-a].';
  if (/duplicate capture group name/.test(reason))
    return 'Rename one of the groups: each name is one template variable, captures.NAME.';
  if (!regex)
    return "Correct the glob's classes (write at least one character between [ or [! and ]) and its {a,b} alternatives.";
  if (/invalid escape/.test(reason))
    return 'RE2 does not read this escape (inside [...], \\b is one): write the character itself, or \\u followed by its 4 hex digits.';
  return 'RE2 runs JavaScript syntax except backreferences, lookaround and \\p{Property=Value}: rewrite that part.';
}

/**
 * What RE2 refuses, found in a source that is valid JavaScript (Unicode mode):
 * re2js's translation would turn `\k<x>` into the literal `k<x>` rather than
 * refuse it, and the rest would otherwise only show at first use.
 */
function unsupportedConstruct(
  source: string,
): {what: string; fix: string} | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    const rest = source.slice(i, i + 24);
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(next) || next === 'k'))
        return {
          what: `a backreference (\\${next === 'k' ? 'k<…>' : next}), which no engine matches in time linear in the name's length`,
          fix: "Repeat the group's pattern instead of referring back to it (e.g. (?<d>\\d+)-\\d+ rather than (?<d>\\d+)-\\k<d>), or compare the parts in the DAG.",
        };
      if (/^\\[pP]\{[^}]*=/.test(rest))
        return {
          what: `a Unicode property with a value (${/^\\[pP]\{[^}]*\}/.exec(rest)?.[0] ?? rest})`,
          fix: 'Name the script or category alone: \\p{Greek} rather than \\p{Script=Greek}, \\p{Lu} rather than \\p{General_Category=Lu}.',
        };
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
    } else if (ch === '[') {
      inClass = true;
    } else if (ch === '{') {
      const counts = /^\{(\d+)(?:,(\d*))?\}/.exec(rest);
      if (counts && Math.max(Number(counts[1]), Number(counts[2] || 0)) > 1000)
        return {
          what: `the repeat count ${counts[0]}, over RE2's limit of 1000`,
          fix: 'Use + or * instead, or a smaller count (check the exact length in the DAG).',
        };
    } else if (ch === '(' && source[i + 1] === '?') {
      const look = /^\(\?(<?[=!])/.exec(rest)?.[1];
      if (look)
        return {
          what: `a ${look.startsWith('<') ? 'lookbehind' : 'lookahead'} (?${look}…)`,
          fix: 'Match the text itself instead of looking around it (e.g. ^exports/[^_][^/]*$ rather than ^exports/(?!_)), or use a glob, prefix or suffix matcher.',
        };
      const name = /^\(\?<([^>]*)>/.exec(rest)?.[1];
      if (name !== undefined && !/^[A-Za-z0-9_]+$/.test(name))
        return {
          what: `the group name '${name}' (RE2 takes letters A-Z a-z, digits and _)`,
          fix: 'Rename the group with ASCII letters, digits and _; the name is what templates read as captures.NAME.',
        };
    }
  }
  return undefined;
}

/** The literal text every match of `^literal…` starts with; '' when unsure (no ^, an alternation, an escape). */
function anchoredLiteralPrefix(source: string): string {
  if (!source.startsWith('^') || source.includes('|')) return '';
  const run = /^\^([^\\^$.|?*+()[\]{}]*)/.exec(source)![1]!;
  // A quantifier after the run applies to its last character (code point).
  return /^[?*{]/.test(source.slice(run.length + 1))
    ? Array.from(run).slice(0, -1).join('')
    : run;
}
