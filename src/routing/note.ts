/**
 * The note on a DAG run, made storable by Airflow. Airflow keeps it in
 * `dag_run_note.content`, a VARCHAR(1000) on PostgreSQL: 1,000 characters
 * (Unicode code points, as PostgreSQL and Python's len() count them), not
 * UTF-16 units or bytes. A longer note is a 400 from Airflow 2's v1 API and
 * a 422 "Value rejected by database" from Airflow 3's v2 API, and the run is
 * not created: a file with a long name would lose its run to its note.
 */

/** Airflow's `dag_run_note.content` column: String(1000). */
export const NOTE_MAX_CHARACTERS = 1000;
const ELLIPSIS = '\u2026';
/** NUL, and a surrogate without its pair: PostgreSQL stores neither. */
const UNSTORABLE =
  /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

let graphemes: Intl.Segmenter | undefined;

/**
 * At most NOTE_MAX_CHARACTERS code points. A longer note keeps its start, cut
 * between two grapheme clusters (never inside a surrogate pair, an emoji
 * sequence or a letter with its accents), and ends with '…'. A NUL or a lone
 * surrogate, which PostgreSQL cannot store, becomes U+FFFD.
 */
export function capNote(rendered: string): string {
  const note = rendered.replace(UNSTORABLE, '\uFFFD');
  // Each code point is one or two UTF-16 units: a short string needs no count.
  if (note.length <= NOTE_MAX_CHARACTERS) return note;
  if (codePoints(note, NOTE_MAX_CHARACTERS) <= NOTE_MAX_CHARACTERS) return note;

  const budget = NOTE_MAX_CHARACTERS - 1; // the ellipsis is one code point
  graphemes ??= new Intl.Segmenter('und', {granularity: 'grapheme'});
  let kept = 0;
  let end = 0;
  for (const {segment} of graphemes.segment(note)) {
    const size = codePoints(segment);
    if (kept + size > budget) break;
    kept += size;
    end += segment.length;
  }
  // One cluster longer than the whole budget (a letter under hundreds of marks): cut by code points.
  if (end === 0) return `${[...note].slice(0, budget).join('')}${ELLIPSIS}`;
  return `${note.slice(0, end)}${ELLIPSIS}`;
}

/** Code points in a well-formed string, counting stopped once past `stopAfter`. */
function codePoints(s: string, stopAfter = Infinity): number {
  let n = 0;
  for (let i = 0; i < s.length && n <= stopAfter; n++)
    i += s.codePointAt(i)! > 0xffff ? 2 : 1;
  return n;
}
