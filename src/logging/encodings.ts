/**
 * Finding a known string (a credential) in text where it may be encoded, one
 * character at a time, in any of the ways a server or our own JSON writes it:
 *
 * - itself (JSON forbids a raw `"`, `\` or control character inside a string);
 * - a JSON short escape (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`) or a
 *   `\uXXXX` escape of any character, hex in either case, astral characters
 *   as a surrogate pair: Python's `json.dumps` escapes every non-ASCII
 *   character, Go's escapes `<`, `>` and `&`, PHP's escapes `/`;
 * - under up to three layers of JSON (a JSON body kept as a string inside a
 *   JSON line inside a JSON record): an escape introduced by an inner layer
 *   has its backslash doubled by each outer one (1, 2 or 4 backslashes), and
 *   a quote or backslash of the secret becomes 2^d - 1 backslashes and `"`,
 *   or 2^d backslashes;
 * - URL-encoded UTF-8 (`%c3%a4`, `%C3%A4`), and `+` for a space.
 *
 * Hand-written rather than a regular expression: one alternation per
 * character of a 1,000-character token makes a pattern V8 runs in about
 * 250 µs per short log line (measured); this walk costs a few character
 * comparisons per position and never backtracks more than one character's
 * forms, so it is linear in the text whatever the text holds.
 */

/** The layers of JSON a credential can sit under in what we write. */
const MAX_DEPTH = 3;
const BACKSLASH = 0x5c;
const SHORT_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  '\b': 'b',
  '\f': 'f',
  '\n': 'n',
  '\r': 'r',
  '\t': 't',
};

/** Text with none of these holds a secret only in one of its plainForms. */
const ESCAPES = /\\u|\\\/|%[0-9A-Fa-f]{2}/;

export function hasEscapes(text: string): boolean {
  return ESCAPES.test(text);
}

/** The forms of `secret` that need no `\u`, `\/` or `%XX`: itself under 0-3 layers of JSON, and with `+` for spaces. */
export function plainForms(secret: string): string[] {
  const forms = new Set<string>();
  let s = secret;
  for (let d = 0; d <= MAX_DEPTH; d++) {
    forms.add(s);
    s = JSON.stringify(s).slice(1, -1);
  }
  if (secret.includes(' ')) forms.add(secret.replace(/ /g, '+'));
  return [...forms];
}

/**
 * `text` with every escape and `%XX` decoded, at whatever layer: a quick
 * test before findEncoded. A secret without the characters that make
 * decoding ambiguous (`\`, `"`, `%`, `+`, space, control characters) occurs in
 * `text` in some encoding only if it occurs in this.
 */
export function decodeEscapes(text: string): string {
  const parts: string[] = [];
  let from = 0;
  for (let p = 0; p < text.length; p++) {
    const c = text.charCodeAt(p);
    let end = -1;
    let decoded = '';
    if (c === BACKSLASH) {
      let run = 1;
      while (run < 5 && text.charCodeAt(p + run) === BACKSLASH) run++;
      const code = text[p + run] === 'u' ? hexAt(text, p + run + 1, 4) : -1;
      if (code >= 0) {
        decoded = String.fromCharCode(code);
        end = p + run + 5;
      } else if (text[p + run] === '/') {
        decoded = '/';
        end = p + run + 1;
      }
    } else if (c === 0x25) {
      const bytes: number[] = [];
      let at = p;
      for (
        let b;
        text.charCodeAt(at) === 0x25 && (b = hexAt(text, at + 1, 2)) >= 0;
        at += 3
      )
        bytes.push(b);
      if (bytes.length) {
        decoded = Buffer.from(bytes).toString('utf8');
        end = at;
      }
    }
    if (end < 0) continue;
    parts.push(text.slice(from, p), decoded);
    from = end;
    p = end - 1;
  }
  return from === 0 ? text : parts.join('') + text.slice(from);
}

/** A secret prepared for findEncoded. */
export interface Secret {
  value: string;
  /** No character that makes decodeEscapes ambiguous: it is a sound quick test. */
  decodable: boolean;
  chars: string[];
  /** Whether to try `%25` as a `%` of the secret first, and then as `%` followed by `25`. */
  preferences: boolean[];
}

export function prepareSecret(secret: string): Secret {
  return {
    value: secret,
    // eslint-disable-next-line no-control-regex
    decodable: !/[\\"%+ \x00-\x1f]/.test(secret),
    chars: [...secret],
    preferences: secret.includes('%') ? [true, false] : [true],
  };
}

export interface Found {
  start: number;
  end: number;
}

/**
 * The first occurrence of `secret`, in any encoding, starting at or after
 * `from` (only at `onlyAt` when given). A match starts on an escape
 * boundary (never inside a `\\` pair), so replacing it keeps JSON valid.
 */
export function findEncoded(
  text: string,
  secret: Secret,
  from: number,
  onlyAt?: number,
): Found | undefined {
  const {chars, preferences} = secret;
  if (chars.length === 0) return undefined;
  const head = chars[0]!;
  const first = head.charCodeAt(0);
  const space = head === ' ';
  // Where the run of backslashes around `p` began: a match may start only an even number into it.
  let runStart = -1;
  const last = onlyAt ?? text.length - 1;
  for (let p = onlyAt ?? from; p <= last; p++) {
    const c = text.charCodeAt(p);
    if (c === BACKSLASH) {
      if (runStart < 0 || text.charCodeAt(p - 1) !== BACKSLASH) runStart = p;
      if ((p - runStart) % 2 === 1) continue;
    } else if (c !== first && c !== 0x25 && !(space && c === 0x2b)) {
      continue;
    }
    // Most positions fail on the first character in every form: settle that once, not per depth.
    if (
      head !== '\\' &&
      matchChar(text, p, head, MAX_DEPTH, true) < 0 &&
      matchChar(text, p, head, MAX_DEPTH, false) < 0
    )
      continue;
    for (let d = MAX_DEPTH; d >= 0; d--)
      for (const percentEncoded of preferences) {
        const end = matchAt(text, p, chars, d, percentEncoded);
        if (end >= 0) return {start: p, end};
      }
  }
  return undefined;
}

function matchAt(
  text: string,
  p: number,
  chars: string[],
  depth: number,
  percentEncoded: boolean,
): number {
  let at = p;
  for (const ch of chars) {
    at = matchChar(text, at, ch, depth, percentEncoded);
    if (at < 0) return -1;
  }
  return at;
}

/** What is left of one character's escaped form when the text was cut inside it (`\\u00`, `%C3%`). */
const CUT_FORM = /^[\\%][\\%uU0-9A-Fa-f]{0,22}$/;

/**
 * Whether the text from `p` to its end is the first part of `secret` (at
 * least one whole character, in any encoding), possibly ending inside the
 * form of the next character: what a cut through an echoed secret leaves.
 */
export function endsInPartOf(text: string, secret: Secret, p: number): boolean {
  const c = text.charCodeAt(p);
  if (c !== BACKSLASH && c !== 0x25 && c !== 0x2b)
    if (secret.chars.length === 0 || !text.startsWith(secret.chars[0]!, p))
      return false;
  for (let d = MAX_DEPTH; d >= 0; d--)
    for (const percentEncoded of secret.preferences) {
      let at = p;
      for (const ch of secret.chars) {
        if (at === text.length) return at > p;
        const next = matchChar(text, at, ch, d, percentEncoded);
        if (next < 0) {
          if (at > p && CUT_FORM.test(text.slice(at))) return true;
          break;
        }
        at = next;
      }
    }
  return false;
}

/** Where the form of `ch` at `p` ends, or -1. */
function matchChar(
  text: string,
  p: number,
  ch: string,
  depth: number,
  percentEncoded: boolean,
): number {
  const c = text.charCodeAt(p);
  if (c === BACKSLASH) return escaped(text, p, ch, depth);
  if (c === 0x25) {
    if (ch !== '%' || percentEncoded) {
      const end = urlEncoded(text, p, ch);
      if (end >= 0) return end;
    }
    return ch === '%' ? p + 1 : -1;
  }
  if (c === 0x2b && ch === ' ') return p + 1;
  const raw =
    depth === 0 || !(ch === '"' || ch === '\\' || ch.charCodeAt(0) < 0x20);
  return raw && text.startsWith(ch, p) ? p + ch.length : -1;
}

/** The forms that start with a backslash. */
function escaped(text: string, p: number, ch: string, depth: number): number {
  let run = 0;
  while (run < 9 && text.charCodeAt(p + run) === BACKSLASH) run++;
  // The backslash itself: escaped by each layer, 2^depth of them.
  if (ch === '\\' && run >= 1 << depth) return p + (1 << depth);
  // A quote escaped at some layer: 2^m - 1 backslashes, then the quote.
  if (ch === '"' && text.charCodeAt(p + run) === 0x22) {
    for (let m = 1; m <= Math.max(depth, 1); m++)
      if (run === (1 << m) - 1) return p + run + 1;
  }
  // Any other escape was introduced by some layer: 1, 2 or 4 backslashes, then `u` or a letter.
  if (run > Math.max(1, 1 << (depth - 1)) || (run & (run - 1)) !== 0) return -1;
  const next = text[p + run];
  if (next === SHORT_ESCAPES[ch]) return p + run + 1;
  if (next !== 'u') return -1;
  let at = p;
  for (let i = 0; i < ch.length; i++) {
    for (let b = 0; b < run; b++)
      if (text.charCodeAt(at + b) !== BACKSLASH) return -1;
    if (text[at + run] !== 'u') return -1;
    if (hexAt(text, at + run + 1, 4) !== ch.charCodeAt(i)) return -1;
    at += run + 5;
  }
  return at;
}

/** `%XX` for each UTF-8 byte of `ch`, either hex case. */
function urlEncoded(text: string, p: number, ch: string): number {
  const code = ch.codePointAt(0)!;
  if (code < 0x80) return hexAt(text, p + 1, 2) === code ? p + 3 : -1;
  let at = p;
  for (const byte of Buffer.from(ch, 'utf8')) {
    if (text.charCodeAt(at) !== 0x25 || hexAt(text, at + 1, 2) !== byte)
      return -1;
    at += 3;
  }
  return at;
}

/** The value of `width` hex digits (either case) at `p`, or -1. */
function hexAt(text: string, p: number, width: number): number {
  let v = 0;
  for (let i = 0; i < width; i++) {
    const c = text.charCodeAt(p + i) | 0x20; // lower case for letters; digits keep their codes
    const digit =
      c >= 0x30 && c <= 0x39
        ? c - 0x30
        : c >= 0x61 && c <= 0x66
          ? c - 0x57
          : -1;
    if (digit < 0) return -1;
    v = v * 16 + digit;
  }
  return v;
}
