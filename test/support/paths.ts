import {readFileSync} from 'node:fs';
import {resolve} from 'node:path';

/** The repository root (tests run from dist/test/...). */
export const REPO = resolve(__dirname, '..', '..', '..');
/** ../shared beside the checkout: Google's sample events and Airflow's OpenAPI specs. */
export const SHARED =
  process.env.DAG_LAUNCHER_SHARED ?? resolve(REPO, '..', 'shared');

export function sharedJson(rel: string): Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(SHARED, rel), 'utf8')) as Record<
    string,
    unknown
  >;
}

export function fixture(rel: string): string {
  return resolve(REPO, 'test', 'fixtures', rel);
}
