/**
 * Cloud Logging refuses an entry over 256 KB: a longer line is not stored
 * at all, and with it the only record of an outcome when no dead-letter
 * bucket is configured. Callers keep their own fields short (the outcome
 * line carries an excerpt of a large event, see store-dead-letter.ts); this
 * is the last guard, for a field nobody expected to be large: such a field
 * is replaced by its size, and the line stays valid JSON.
 */

/** Cloud Logging's entry limit is 256 KB; the entry's own metadata needs some of it. */
export const MAX_LINE_BYTES = 250_000;
/** Top-level fields longer than this are the ones dropped from an overlong line. */
const KEPT_FIELD_BYTES = 4096;

export function boundLine(line: string): string {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most lines need no count.
  if (line.length * 3 <= MAX_LINE_BYTES) return line;
  const bytes = Buffer.byteLength(line, 'utf8');
  if (bytes <= MAX_LINE_BYTES) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${JSON.stringify({severity: 'ERROR', message: `a log line of ${bytes} bytes was dropped: over Cloud Logging's entry limit`})}\n`;
  }
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const size = text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
    if (size > KEPT_FIELD_BYTES) {
      entry[key] =
        `[${size} bytes dropped: the line would exceed Cloud Logging's entry limit]`;
      dropped.push(key);
    }
  }
  entry.droppedFields = dropped;
  return `${JSON.stringify(entry)}\n`;
}
