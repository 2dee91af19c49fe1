/**
 * Compiling a route's Airflow-native keys (issue 14): `logicalDate`,
 * `dataInterval` and `asset` (instead of `dag`). Kept beside compile-route.ts
 * so that file stays about matching and DAGs.
 */
import type {Template} from '../patterns/template';
import type {RawRoute} from './schema';
import type {Route, ValueTemplate} from './types';

/** The keys read here of a route as far as its shape is right (compile-route's SalvagedRoute). */
type NativeKeys = Partial<
  Pick<
    RawRoute,
    'dag' | 'asset' | 'logicalDate' | 'dataInterval' | 'note' | 'conf'
  >
>;

export interface NativeCompilers {
  template: (source: string, path: string) => Template | undefined;
  value: (value: unknown, path: string) => ValueTemplate;
}

export type NativeParts = Pick<Route, 'asset' | 'logicalDate' | 'dataInterval'>;

export function compileNative(
  r: NativeKeys,
  at: string,
  problems: string[],
  c: NativeCompilers,
): NativeParts {
  const out: NativeParts = {};
  if ((r.dag === undefined) === (r.asset === undefined))
    problems.push(
      r.dag === undefined
        ? `${at}: needs dag (a DAG to trigger) or asset (an asset event to create)`
        : `${at}: has both dag and asset; a route triggers a DAG or creates an asset event, not both (make two routes)`,
    );
  if (r.asset) {
    const uri = c.template(r.asset.uri, `${at}.asset.uri`);
    const extra =
      r.asset.extra === undefined
        ? undefined
        : c.value(r.asset.extra, `${at}.asset.extra`);
    if (
      extra &&
      extra.kind !== 'object' &&
      !(extra.kind === 'template' && extra.template.kind === 'value')
    )
      problems.push(
        `${at}.asset.extra: must be an object (Airflow stores the event's extra as a JSON object)`,
      );
    if (uri) out.asset = {uri, ...(extra && {extra})};
    if (r.logicalDate !== undefined || r.dataInterval !== undefined)
      problems.push(
        `${at}: logicalDate and dataInterval belong to DAG runs; an asset event has none (the DAGs it schedules get their own)`,
      );
    if (r.note !== undefined)
      problems.push(`${at}.note: an asset event has no note; remove it`);
    if (r.conf !== undefined)
      problems.push(
        `${at}.conf: an asset event has no conf; put what the DAGs need in asset.extra`,
      );
  }
  if (r.logicalDate !== undefined) {
    const t = c.template(r.logicalDate, `${at}.logicalDate`);
    if (t) out.logicalDate = t;
  }
  if (r.dataInterval) {
    if (r.logicalDate === undefined)
      problems.push(
        `${at}.dataInterval: needs logicalDate (Airflow takes a data interval only with a logical date)`,
      );
    // A missing bound is the schema's problem ("required"), already listed.
    const {start: from, end: to} = r.dataInterval as {
      start?: string;
      end?: string;
    };
    const start =
      from === undefined
        ? undefined
        : c.template(from, `${at}.dataInterval.start`);
    const end =
      to === undefined ? undefined : c.template(to, `${at}.dataInterval.end`);
    if (start && end) out.dataInterval = {start, end};
  }
  return out;
}
