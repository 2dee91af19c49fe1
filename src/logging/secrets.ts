/**
 * The credentials this instance holds (passwords, `user:password`, the
 * basic-auth header, every bearer token it fetched), remembered so that no
 * text leaving the process carries them: every log line is scrubbed as pino
 * writes it, and every dead-letter record before it is stored. Path-based
 * redaction covers the fields we know; this covers what we do not control,
 * such as a proxy that echoes the request's Authorization header, or a token
 * endpoint that echoes the posted password, in an error body we keep.
 *
 * A server may echo a credential in any encoding, and our own JSON adds a
 * layer or two around it (a JSON body kept as a string in a JSON line). So a
 * secret is matched character by character (encodings.ts), each character in
 * any of its forms: itself; a JSON escape (`\"`, `\\`, `\/`, `\n`, …) or a
 * `\uXXXX` escape (any character, either hex case, surrogate pairs), under up
 * to three layers of JSON; URL-encoded UTF-8 (`%XX`, either case) and `+` for
 * a space.
 *
 * Short secrets (under MIN_EVERYWHERE characters, such as a 2-character
 * password) would match ordinary text: they are scrubbed only where a
 * credential is echoed, right after a credential key (`password`, `token`,
 * `Authorization`, `Basic`, `Bearer`, …) and its separator (`": "`, `=`,
 * `\":\"`), and only as a whole value, so other lines stay readable.
 * Text a server wrote (a response body, the error of a call made with
 * credentials) is where echoes happen: there every remembered secret is
 * scrubbed wherever it appears, whatever its length (scrubServerText), and a
 * body is scrubbed whole before it is cut to an excerpt (serverExcerpt).
 */
import {
  decodeEscapes,
  endsInPartOf,
  findEncoded,
  hasEscapes,
  plainForms,
  prepareSecret,
  type Secret,
} from './encodings';

const MIN_EVERYWHERE = 6;
const MAX_REMEMBERED = 128; // tokens rotate; the oldest are long expired
const REDACTED = '[redacted]';

/** A credential key, then quotes (escaped at any depth), `:`, `=` or spaces before its value. */
const CREDENTIAL_KEY =
  /(?:password|passwd|pwd|pass|secret|token|authorization|basic|bearer)[\\"':=\s]{1,24}/gi;
/** What may follow a whole value: a quote or backslash (a closing quote escaped), `&`, `,`, `;`, `}`, a space, the end. */
const VALUE_END = /[\\"'&,;}\s]/;

interface Known {
  secret: Secret;
  /** The forms without `\u`, `%XX` or `\/`: enough for text that has none of them. */
  plain: string[];
}

/** Longest first, so a token inside a longer header value does not leave the rest behind. */
let everywhere: Known[] = [];
let inContext: Secret[] = [];
/** Every remembered secret whatever its length, longest first: for text a server wrote. */
let all: Secret[] = [];
/** Oldest first. */
const remembered: string[] = [];

export function rememberSecret(value: string | undefined): void {
  if (!value || remembered.includes(value)) return;
  remembered.push(value);
  while (remembered.length > MAX_REMEMBERED) remembered.shift();
  const byLength = [...remembered].sort((a, b) => b.length - a.length);
  everywhere = byLength
    .filter(s => s.length >= MIN_EVERYWHERE)
    .map(value => ({secret: prepareSecret(value), plain: plainForms(value)}));
  inContext = byLength
    .filter(s => s.length < MIN_EVERYWHERE)
    .map(prepareSecret);
  all = byLength.map(prepareSecret);
}

/**
 * A password (and, for basic auth, `user:password`) in every form a server
 * may echo it that scrubbing cannot derive from the text itself: as
 * written, HTML-escaped (an HTML error page), and encoded as bytes (base64
 * with and without padding, base64url, hex). JSON escapes, `\uXXXX` and
 * URL-encoding of each are matched by scrubSecrets.
 */
export function rememberPassword(password: string, username?: string): void {
  const forms = [password, ...htmlEscaped(password), ...byteForms(password)];
  if (username !== undefined) {
    const pair = `${username}:${password}`; // a URL's user info; base64: the basic-auth header
    forms.push(pair, ...htmlEscaped(pair), ...byteForms(pair));
  }
  for (const form of forms) rememberSecret(form);
}

function byteForms(s: string): string[] {
  const bytes = Buffer.from(s, 'utf8');
  const base64 = bytes.toString('base64');
  return [
    base64,
    base64.replace(/=+$/, ''),
    bytes.toString('base64url'),
    bytes.toString('hex'),
  ];
}

const HTML: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
};

function htmlEscaped(s: string): string[] {
  if (!/[&<>"']/.test(s)) return [];
  const base = s.replace(/[&<>"]/g, c => HTML[c]!);
  return [base.replace(/'/g, '&#x27;'), base.replace(/'/g, '&#39;')];
}

export function scrubSecrets(text: string): string {
  if (everywhere.length === 0 && inContext.length === 0) return text;
  let out = text;
  if (!hasEscapes(out)) {
    // The common case: every form a secret can take here is one of a few fixed strings.
    for (const k of everywhere)
      for (const form of k.plain)
        if (out.includes(form)) out = out.split(form).join(REDACTED);
  } else {
    const decoded = decodeEscapes(out);
    for (const {secret} of everywhere)
      if (!secret.decodable || decoded.includes(secret.value))
        out = replaceEncoded(out, secret);
  }
  if (inContext.length) out = scrubInContext(out);
  return out;
}

function replaceEncoded(text: string, secret: Secret): string {
  let out = '';
  let from = 0;
  for (;;) {
    const m = findEncoded(text, secret, from);
    if (!m) return out + text.slice(from);
    out += text.slice(from, m.start) + REDACTED;
    from = m.end;
  }
}

function scrubInContext(text: string): string {
  let out = '';
  let from = 0;
  CREDENTIAL_KEY.lastIndex = 0;
  for (let key; (key = CREDENTIAL_KEY.exec(text));) {
    let at = key.index + key[0].length;
    // Backslashes at the end of the separator may begin the value's first escape (`\": \"\\u00e9`).
    while (text.charCodeAt(at - 1) === 0x5c) at--;
    if (at < from) continue;
    for (const secret of inContext) {
      const m = findEncoded(text, secret, at, at);
      if (!m || (m.end < text.length && !VALUE_END.test(text[m.end]!)))
        continue;
      out += text.slice(from, at) + REDACTED;
      from = m.end;
      CREDENTIAL_KEY.lastIndex = m.end;
      break;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * Text a server wrote, or the error of a call made with credentials: every
 * remembered secret, whatever its length, in any encoding, wherever it
 * appears. A short password may take a letter or two out of an ordinary
 * word here; that is the price of never echoing it.
 */
export function scrubServerText(text: string): string {
  if (all.length === 0) return text;
  const decoded = hasEscapes(text) ? decodeEscapes(text) : text;
  let out = text;
  for (const secret of all)
    if (!secret.decodable || decoded.includes(secret.value))
      out = replaceEncoded(out, secret);
  return out;
}

/**
 * At most `max` characters of what a server answered, `…` appended when cut:
 * scrubbed whole first, so a secret across the cut is caught, and then any
 * first part of a secret left at the end (one that went on past what was
 * received) is dropped too. `more`: the body went on past `received`.
 */
export function serverExcerpt(
  received: string,
  max: number,
  more = false,
): string {
  const scrubbed = scrubServerText(received);
  if (!more && scrubbed.length <= max) return scrubbed;
  return `${withoutPartialSecret(scrubbed.slice(0, max))}…`;
}

function withoutPartialSecret(text: string): string {
  if (all.length === 0) return text;
  for (let p = 0; p < text.length; p++)
    for (const secret of all)
      if (endsInPartOf(text, secret, p)) return text.slice(0, p);
  return text;
}
