/**
 * `npm run bench`, matching section: the worst match time found for every
 * glob and regex of deploy/launcher.example.yaml and of the bench's own
 * config, against names built to make a backtracking engine blow up: the
 * pattern's literal separators repeated up to Cloud Storage's 1,024-byte
 * limit (alone, with a letter between, after the pattern's literal prefix so
 * the name reaches the engine, with and without a failing last character),
 * and multi-byte Unicode. Each pattern's RE2 program is compiled first
 * (prepare), so the figure is the match alone; the compile is reported apart.
 *
 * Run alone: `node dist/test/bench/worst-case-matching.js`.
 */
import {readFileSync} from 'node:fs';
import {resolve} from 'node:path';
import {parse} from 'yaml';
import {compileMatcher, type MatcherSpec} from '../../src/patterns/matcher';
import {REPO} from '../support/paths';

const MAX_NAME_BYTES = 1024;
export const WORST_MATCH_TARGET_MS = 10;

export interface WorstCaseMatching {
  patterns: number;
  names: number;
  worstMatchMs: number;
  worst: {pattern: string; name: string};
  worstPrepareMs: number;
  targetMs: number;
  met: boolean;
}

type Pattern = {glob: string} | {regex: string};

/** Every {glob} / {regex} anywhere in a parsed config. */
function patternsIn(value: unknown, out: Pattern[] = []): Pattern[] {
  if (Array.isArray(value)) for (const v of value) patternsIn(v, out);
  else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.glob === 'string') out.push({glob: o.glob});
    else if (typeof o.regex === 'string') out.push({regex: o.regex});
    else for (const v of Object.values(o)) patternsIn(v, out);
  }
  return out;
}

const fill = (head: string, unit: string, tail = ''): string => {
  let s = head;
  while (Buffer.byteLength(s + unit + tail) <= MAX_NAME_BYTES) s += unit;
  return s + tail;
};

/** The text every name must start with to reach the engine, and the pattern's literal separators. */
function shape(p: Pattern): {prefix: string; separators: string[]} {
  const source = 'glob' in p ? p.glob : p.regex;
  const prefix =
    'glob' in p
      ? p.glob.slice(0, Math.max(0, p.glob.search(/[*?[{]/)))
      : (/^\^([^\\^$.|?*+()[\]{}]*)/.exec(p.regex)?.[1] ?? '');
  const separators = [
    ...new Set(
      source.replace(/\\./g, '').match(/[^A-Za-z0-9*?^$()[\]{}|+\\]/g),
    ),
  ];
  return {prefix, separators: separators.length ? separators : ['_']};
}

function hostileNames(p: Pattern): {label: string; name: string}[] {
  const {prefix, separators} = shape(p);
  const names: {label: string; name: string}[] = [];
  for (const sep of [...separators, 'a']) {
    const unit = JSON.stringify(sep);
    names.push({label: `${unit} x N`, name: fill(prefix, sep)});
    names.push({label: `${unit} x N + "!"`, name: fill(prefix, sep, '!')});
    names.push({label: `(${unit} + "a") x N`, name: fill(prefix, `${sep}a`)});
    names.push({
      label: `(${unit} + "a") x N + ".csv!"`,
      name: fill(prefix, `${sep}a`, '.csv!'),
    });
  }
  names.push({label: '"€" x N', name: fill(prefix, '€')});
  names.push({label: '"😀_" x N', name: fill(prefix, '😀_')});
  return names;
}

export function worstCaseMatching(configs: unknown[]): WorstCaseMatching {
  const patterns = configs.flatMap(c => patternsIn(c));
  let worstMatchMs = 0;
  let worstPrepareMs = 0;
  let worst = {pattern: '', name: ''};
  let names = 0;
  for (const p of patterns) {
    const matcher = compileMatcher(p as MatcherSpec);
    const t0 = performance.now();
    matcher.prepare();
    worstPrepareMs = Math.max(worstPrepareMs, performance.now() - t0);
    for (const {label, name} of hostileNames(p)) {
      names++;
      // The median of 5 after 2 warm-up runs: a steady match, as on a live instance.
      const runs: number[] = [];
      for (let i = 0; i < 7; i++) {
        const started = performance.now();
        matcher.match(name);
        runs.push(performance.now() - started);
      }
      const ms = runs.slice(2).sort((a, b) => a - b)[2]!;
      if (ms > worstMatchMs) {
        worstMatchMs = ms;
        worst = {pattern: JSON.stringify(p), name: label};
      }
    }
  }
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    patterns: patterns.length,
    names,
    worstMatchMs: round(worstMatchMs),
    worst,
    worstPrepareMs: round(worstPrepareMs),
    targetMs: WORST_MATCH_TARGET_MS,
    met: worstMatchMs <= WORST_MATCH_TARGET_MS,
  };
}

export function exampleConfig(): unknown {
  return parse(
    readFileSync(resolve(REPO, 'deploy/launcher.example.yaml'), 'utf8'),
  ) as unknown;
}

export function printWorstCaseMatching(r: WorstCaseMatching): void {
  process.stdout.write(
    `worst match, ${r.patterns} globs/regexes x ${r.names} hostile 1,024-byte names (ms)  ${r.worstMatchMs}  (${r.worst.pattern} vs ${r.worst.name}; slowest first compile ${r.worstPrepareMs} ms)  <= ${r.targetMs} ${r.met ? 'met' : 'MISSED'}\n`,
  );
}

if (require.main === module) {
  const r = worstCaseMatching([exampleConfig()]);
  printWorstCaseMatching(r);
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
