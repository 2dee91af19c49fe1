/**
 * After a trigger answered "a run exists" without saying whose (see
 * api.ts's ExistingRun), one GET tells whether the run with our dag_run_id
 * exists. Returns what Airflow said as data; outcome.ts decides.
 *
 * The experimental API can only list a DAG's runs, every one of them: the
 * list is searched as it streams in and never kept whole, so a DAG with a
 * long history costs time (bounded by the request timeout), not memory.
 * On Airflow 2 the server also answers the stable API's GET of the one run,
 * which is asked first: a DAG with 20,000 runs made the list 8 MB per
 * look-up. A server that does not (Airflow 1.10: an HTML 404) is listed,
 * and remembered as such.
 */
import {httpRequest, HttpTimeoutError} from '../core/http';
import {scrubServerText, serverExcerpt} from '../logging/secrets';
import type {DagRunRequest} from '../routing/render';
import type {AirflowTarget} from './trigger';

export type RunLookup =
  | {kind: 'found'; path: string}
  | {kind: 'absent'; path: string; status: number}
  | {kind: 'failed'; path: string; message: string};

/** Environments (by URL) whose server has no stable API to look a run up with. */
const noDirectLookup = new Set<string>();

/** The server answered the direct GET, but not as the stable API does. */
const NOT_STABLE_API = Symbol('not the stable API');

export async function lookupDagRun(
  target: AirflowTarget,
  run: Pick<DagRunRequest, 'dagId' | 'dagRunId'>,
): Promise<RunLookup> {
  const {path, listed, direct} = target.api.runLookup(run.dagId, run.dagRunId);
  if (direct && !noDirectLookup.has(target.environment.url)) {
    const answer = await getRun(target, direct, 'direct', run.dagRunId);
    if (answer !== NOT_STABLE_API) return answer;
    noDirectLookup.add(target.environment.url);
  }
  return (await getRun(
    target,
    path,
    listed ? 'listed' : 'own',
    run.dagRunId,
  )) as RunLookup;
}

/**
 * One GET: of the run itself (`own`), of a list to search (`listed`), or of
 * the run through the stable API beside the target's own (`direct`), whose
 * 404 counts only as the stable API's "not found" problem: any other 404
 * means the server has no stable API. Any other failure (5xx, 429, a
 * timeout) is a failed look-up, retried, and says nothing about the server.
 */
async function getRun(
  target: AirflowTarget,
  path: string,
  how: 'own' | 'listed' | 'direct',
  dagRunId: string,
): Promise<RunLookup | typeof NOT_STABLE_API> {
  const search = how === 'listed' ? fieldSearch('run_id', dagRunId) : undefined;
  try {
    const headers = target.auth.ready?.() ?? (await target.auth.headers());
    const res = await httpRequest(target.environment.url + path, {
      headers: {...headers, Accept: 'application/json'},
      timeoutMs: target.timeoutMs,
      excerptMax: 512,
      excerpt: serverExcerpt,
      onChunk: search?.feed,
    });
    if (how === 'direct' && res.status === 404) {
      // Airflow 2's "DAGRun not found" is a JSON problem; a server without the stable API answers its own 404 page.
      const json = /json/i.test(String(res.headers['content-type'] ?? ''));
      return json && /not found/i.test(res.body)
        ? {kind: 'absent', path, status: 404}
        : NOT_STABLE_API;
    }
    if (res.status === 200)
      return search && !search.found()
        ? {kind: 'absent', path, status: 200}
        : {kind: 'found', path};
    if (res.status === 404 && how === 'own')
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
