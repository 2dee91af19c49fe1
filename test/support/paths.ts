import {readFileSync} from 'node:fs';
import {resolve} from 'node:path';

/** The repository root (tests run from dist/test/...). */
export const REPO = resolve(__dirname, '..', '..', '..');
/** One of the project's own sample events (test/fixtures/events/), parsed. */
export function eventFixture(rel: string): Record<string, unknown> {
  return JSON.parse(
    readFileSync(resolve(REPO, 'test', 'fixtures', 'events', rel), 'utf8'),
  ) as Record<string, unknown>;
}

export function fixture(rel: string): string {
  return resolve(REPO, 'test', 'fixtures', rel);
}
