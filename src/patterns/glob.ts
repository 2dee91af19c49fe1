/**
 * Globs over object names. A glob of the usual shapes (`incoming/orders/**\/*.csv`,
 * `in/*.json`, `exports/**`) is a literal prefix and suffix with at most one
 * wildcard between them: matched with startsWith/endsWith, one pass over the
 * name, no regex. Any other glob compiles to RE2 (linear-regex.ts). Why not
 * RE2 for all: compiling an RE2 program in a cold process costs ~1-2 ms of
 * CPU each (~15 ms for the first, re2js's tables and cold code), paid by every
 * cold start for every glob of the config; the shapes below cost nothing.
 */
import {
  lazyRE2,
  NO_CAPTURES as NONE,
  screened,
  type LinearRegex,
} from './linear-regex';
import {re2SurelyAccepts} from './re2-screen';
/** Characters that make a glob more than a literal. */
const SPECIAL = /[*?[{]/;

export function compileGlob(glob: string): LinearRegex {
  const first = glob.search(SPECIAL);
  const shape = literalShape(glob, first);
  if (shape) return shape;
  const source = globToRE2(glob);
  return screened(
    lazyRE2({
      source,
      translate: false,
      dotAll: true,
      prefix: glob.slice(0, first),
      what: `glob ${JSON.stringify(glob)}`,
    }),
    re2SurelyAccepts(source, 're2'),
  );
}

/**
 * PREFIX + one of `**`, `**\/`, `*` + SUFFIX, prefix and suffix literal:
 * the name starts with the prefix, ends with the suffix, and what lies
 * between is anything (`**`), nothing or ends with `/` (`**\/`), or holds no
 * `/` (`*`; with `**\/*` the suffix must hold no `/`). Else undefined.
 */
function literalShape(glob: string, star: number): LinearRegex | undefined {
  if (star === -1)
    return {match: v => (v === glob ? NONE : undefined), prepare() {}};
  if (glob[star] !== '*') return undefined;
  const prefix = glob.slice(0, star);
  let rest = glob.slice(star);
  let middle: (v: string, from: number, to: number) => boolean;
  if (rest.startsWith('**/*') && rest[4] !== '*') {
    rest = rest.slice(4);
    if (rest.includes('/')) return undefined;
    middle = () => true; // (?:.*/)?[^/]* before a suffix without '/': anything
  } else if (rest.startsWith('**/')) {
    rest = rest.slice(3);
    middle = (v, from, to) => from === to || v[to - 1] === '/';
  } else if (rest.startsWith('**')) {
    rest = rest.slice(2);
    middle = () => true;
  } else {
    rest = rest.slice(1);
    middle = (v, from, to) => {
      const slash = v.indexOf('/', from);
      return slash === -1 || slash >= to;
    };
  }
  if (SPECIAL.test(rest)) return undefined;
  const suffix = rest;
  const min = prefix.length + suffix.length;
  return {
    prepare() {},
    match: v =>
      v.length >= min &&
      v.startsWith(prefix) &&
      v.endsWith(suffix) &&
      middle(v, prefix.length, v.length - suffix.length)
        ? NONE
        : undefined,
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
