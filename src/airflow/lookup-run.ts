/**
 * After a trigger answered "a run exists" without saying whose (see
 * api.ts's ExistingRun), one GET tells whether the run with our dag_run_id
 * exists. Returns what Airflow said as data; outcome.ts decides.
 *
 * The experimental API can only list a DAG's runs, every one of them: the
 * list is searched as it streams in and never kept whole, so a DAG with a
 * long history costs time (bounded by the request timeout), not memory.
 */
import {httpRequest, HttpTimeoutError} from '../core/http';
import {scrubServerText, serverExcerpt} from '../logging/secrets';
import type {RunRequest} from '../routing/render';
import type {AirflowTarget} from './trigger';

export type RunLookup =
  | {kind: 'found'; path: string}
  | {kind: 'absent'; path: string; status: number}
  | {kind: 'failed'; path: string; message: string};

export async function lookupDagRun(
  target: AirflowTarget,
  run: Pick<RunRequest, 'dagId' | 'dagRunId'>,
): Promise<RunLookup> {
  const {path, listed} = target.api.runLookup(run.dagId, run.dagRunId);
  const search = listed ? fieldSearch('run_id', run.dagRunId) : undefined;
  try {
    const headers = target.auth.ready?.() ?? (await target.auth.headers());
    const res = await httpRequest(target.environment.url + path, {
      headers: {...headers, Accept: 'application/json'},
      timeoutMs: target.timeoutMs,
      excerptMax: 512,
      excerpt: serverExcerpt,
      onChunk: search?.feed,
    });
    if (res.status === 200)
      return search && !search.found()
        ? {kind: 'absent', path, status: 200}
        : {kind: 'found', path};
    if (res.status === 404 && !listed)
      return {kind: 'absent', path, status: 404};
    return {
      kind: 'failed',
      path,
      message: `GET ${path} answered ${res.status}: ${serverExcerpt(res.body, 200)}`,
    };
  } catch (err) {
    return {
      kind: 'failed',
      path,
      message:
        err instanceof HttpTimeoutError
          ? `GET ${path}: no response within ${target.timeoutMs}ms`
          : `GET ${path}: ${scrubServerText((err as Error).message)}`,
    };
  }
}

/**
 * Finds `"<field>": "<value>"` (e.g. `"run_id": "<ours>"`) in a JSON list fed
 * chunk by chunk, keeping only a tail long enough to hold a match cut between
 * two chunks. Run ids (and the asset event key, which is one) are limited to
 * characters JSON never escapes, so the raw text is compared.
 */
export function fieldSearch(
  field: string,
  value: string,
): {
  feed: (chunk: string) => void;
  found: () => boolean;
} {
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`"${field}"\\s{0,8}:\\s{0,8}"${escaped}"`);
  const keep = field.length + value.length + 32;
  let tail = '';
  let found = false;
  return {
    feed: chunk => {
      if (found) return;
      const text = tail + chunk;
      found = pattern.test(text);
      tail = text.slice(-keep);
    },
    found: () => found,
  };
}
