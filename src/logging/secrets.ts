/**
 * The credentials this instance holds (passwords, the basic-auth header,
 * every bearer token it fetched), remembered so that no text leaving the
 * process carries them: every log line is scrubbed as pino writes it, and
 * every dead-letter record before it is stored. Path-based redaction covers
 * the fields we know; this covers what we do not control, such as a proxy or
 * web server that echoes the request's Authorization header, or a token
 * endpoint that echoes the posted password, in an error body we keep as an
 * excerpt.
 */
const MIN_LENGTH = 6; // shorter values would scrub ordinary words
const MAX_REMEMBERED = 64; // tokens rotate; the oldest are long expired

/** Oldest first; `longestFirst` is the same set in scrubbing order. */
const remembered: string[] = [];
let longestFirst: string[] = [];

export function rememberSecret(value: string | undefined): void {
  if (!value || value.length < MIN_LENGTH) return;
  let changed = false;
  for (const form of new Set([
    value,
    JSON.stringify(value).slice(1, -1),
    encodeURIComponent(value),
  ])) {
    if (form.length < MIN_LENGTH || remembered.includes(form)) continue;
    remembered.push(form);
    changed = true;
  }
  if (!changed) return;
  while (remembered.length > MAX_REMEMBERED) remembered.shift();
  // Longest first, so a token inside a longer header value does not leave the rest behind.
  longestFirst = [...remembered].sort((a, b) => b.length - a.length);
}

export function scrubSecrets(text: string): string {
  let out = text;
  for (const s of longestFirst)
    if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}
