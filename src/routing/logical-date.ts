/**
 * A rendered `logicalDate` (or data interval end) as the timestamp Airflow
 * stores. Airflow needs an aware ISO 8601 date-time; what a route's template
 * gives is usually a partition date (`dt=2026-11-20`) or an event time.
 *
 * The timezone rule: a date-only value is midnight UTC of that day; a
 * date-time without an offset is UTC; a date-time with an offset (`Z`,
 * `+01:00`) keeps the instant it names. The result is always UTC, `Z`,
 * with the fraction the input had (up to microseconds, Airflow's precision).
 */
import {RejectedError} from '../core/errors';

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** `what` names the key (`logicalDate`) for the rejection message. */
export function toLogicalDate(value: unknown, what: string): string {
  const text =
    typeof value === 'string'
      ? value.trim()
      : typeof value === 'number'
        ? String(value)
        : undefined;
  const fail = () =>
    new RejectedError(
      `${what} rendered to ${JSON.stringify(value)?.slice(0, 100)}, not an ISO 8601 date (2026-11-20) or date-time (2026-11-20T06:00:00Z)`,
    );
  if (text === undefined || text.length > 40) throw fail();
  const d = DATE_ONLY.exec(text) ?? COMPACT_DATE.exec(text);
  if (d) return utc(d[1]!, d[2]!, d[3]!, '00', '00', '00', '', 'Z', fail);
  const t = DATE_TIME.exec(text);
  if (!t) throw fail();
  return utc(
    t[1]!,
    t[2]!,
    t[3]!,
    t[4]!,
    t[5]!,
    t[6] ?? '00',
    t[7] ?? '',
    t[8] ?? 'Z',
    fail,
  );
}

function utc(
  y: string,
  mo: string,
  d: string,
  h: string,
  mi: string,
  s: string,
  fraction: string,
  offset: string,
  fail: () => Error,
): string {
  const base = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  const check = new Date(base);
  // Date.UTC rolls 2026-02-30 over to March: a date that does not exist is refused.
  if (
    check.getUTCFullYear() !== +y ||
    check.getUTCMonth() !== +mo - 1 ||
    check.getUTCDate() !== +d ||
    +h > 23 ||
    +mi > 59 ||
    +s > 59
  )
    throw fail();
  let shift = 0;
  if (offset.toUpperCase() !== 'Z') {
    const o = /^([+-])(\d{2}):?(\d{2})$/.exec(offset)!;
    if (+o[2]! > 23 || +o[3]! > 59) throw fail();
    shift = (o[1] === '-' ? -1 : 1) * (+o[2]! * 60 + +o[3]!) * 60_000;
  }
  const iso = new Date(base - shift).toISOString().slice(0, 19);
  const micros = fraction.slice(0, 6).replace(/0+$/, '');
  return `${iso}${micros ? `.${micros}` : ''}Z`;
}
