/**
 * Asset (dataset) events: what an `asset:` route creates instead of a DAG
 * run. Airflow 2.9+ (v1): `POST /api/v1/datasets/events` with `dataset_uri`;
 * Airflow 3 (v2): `POST /api/v2/assets/events` with the numeric `asset_id`,
 * looked up by URI once per instance and cached.
 *
 * Airflow gives asset events no key, so a redelivered event would create a
 * second one (and run the scheduled DAGs twice). The launcher puts its own
 * key in `extra` (`dag_launcher_event`, the route's dag_run_id for the
 * event) and, before creating, reads the asset's latest LOOKBACK events
 * (one GET, newest first, searched for the key as it streams in: the list
 * is larger than any excerpt kept) for it: found = the event was delivered
 * before.
 *
 * Two narrowings of the check-then-create race, measured by the soak:
 * deliveries of one event on one instance take turns (the second looks only
 * once the first has finished, and finds its event); and a POST that timed
 * out, which Airflow may still commit after the launcher stopped waiting, is
 * looked for once more after one more request timeout (when the delivery's
 * budget has room) before the delivery gives up, so a redelivery that comes
 * after it finds the event instead of racing the late commit.
 * What remains (README "Asset events"): deliveries of one event in flight at
 * the same moment on two instances both find nothing and both create; a
 * create that Airflow commits later than that second look; and an event
 * redelivered after more than LOOKBACK newer events of that asset.
 *
 * Returns what Airflow said as a TriggerResult; outcomes/asset-outcome.ts
 * decides. Like trigger.ts it never throws.
 */
import {
  errorCode,
  httpRequest,
  HttpTimeoutError,
  type HttpRequest,
} from '../core/http';
import {ASSET_EVENT_KEY, type AssetEventRequest} from '../routing/render';
import {fieldSearch} from './lookup-run';
import type {AirflowTarget, TriggerResult} from './trigger';
import {settleDiscovery} from './trigger';

/** Recent events read per asset before creating one: one page of Airflow's API. */
export const LOOKBACK = 100;
/**
 * The asset look-up's answer is kept up to this size and parsed (once per
 * URI per instance: v2 lists up to LOOKBACK assets whose URI starts with
 * ours, each with its scheduled DAGs and tasks). The events list is never
 * kept: it is searched for our key as it streams in (LOOKBACK events with
 * extras of up to maxConfBytes each).
 */
const ASSET_BODY_MAX = 1024 * 1024;

export type AssetEventResult = TriggerResult & {
  /**
   * `existing`: our key is in a recent event; `created-late`: the POST timed
   * out and a look-up after it found our event; `unknown-asset`: Airflow has
   * no asset with this URI.
   */
  asset?: 'existing' | 'created-late' | 'unknown-asset';
  /** The GET or POST that answered. */
  path?: string;
};

const assetIds = new WeakMap<AirflowTarget, Map<string, number>>();

/** The attempt in progress per environment and event key on this instance: the next one waits for it. */
const inFlight = new Map<string, Promise<AssetEventResult>>();

export interface AssetEventOptions {
  /** performance.now() by which this attempt must be done: bounds the look-up after a timed-out POST. */
  deadline?: number;
}

/**
 * Creates the asset event of `run` unless a recent event of the asset
 * carries its key. Attempts for the same event on this instance run one
 * after the other.
 */
export function emitAssetEvent(
  target: AirflowTarget,
  run: AssetEventRequest,
  options: AssetEventOptions = {},
): Promise<AssetEventResult> {
  const key = `${target.environment.name}\u0000${run.dagRunId}`;
  const prior = inFlight.get(key);
  const queued = performance.now();
  const mine = (prior ?? Promise.resolve()).then(() =>
    prior &&
    options.deadline !== undefined &&
    performance.now() + target.timeoutMs > options.deadline
      ? {
          kind: 'failure' as const,
          failure: 'timeout' as const,
          message:
            'another delivery of this event on this instance was in progress until this one ran out of time',
          latencyMs: Math.round(performance.now() - queued),
        }
      : emitOnce(target, run, options),
  );
  inFlight.set(key, mine);
  void mine.then(() => {
    if (inFlight.get(key) === mine) inFlight.delete(key);
  });
  return mine;
}

async function emitOnce(
  target: AirflowTarget,
  run: AssetEventRequest,
  options: AssetEventOptions,
): Promise<AssetEventResult> {
  const started = performance.now();
  const since = () => Math.round(performance.now() - started);
  const {uri, extra} = run.asset!;
  try {
    await settleDiscovery(target);
  } catch (err) {
    return failure('discovery', err, since());
  }
  const refusal = unsupported(target);
  if (refusal !== undefined)
    return {
      kind: 'failure',
      failure: 'unsupported',
      message: refusal,
      latencyMs: since(),
    };
  const api = target.api.name as 'v1' | 'v2';
  let headers: Record<string, string>;
  try {
    headers = target.auth.ready?.() ?? (await target.auth.headers());
  } catch (err) {
    return failure('credentials', err, since());
  }
  const call = (
    path: string,
    body?: unknown,
    read: Pick<HttpRequest, 'excerptMax' | 'onChunk'> = {},
  ) =>
    httpRequest(target.environment.url + path, {
      ...read,
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        ...headers,
        Accept: 'application/json',
        ...(body !== undefined && {'Content-Type': 'application/json'}),
      },
      ...(body !== undefined && {body: JSON.stringify(body)}),
      timeoutMs: target.timeoutMs,
    });
  try {
    // 1. The asset's id (v2 needs it to create; both need it to list events).
    let ids = assetIds.get(target);
    if (!ids) assetIds.set(target, (ids = new Map()));
    let id = ids.get(uri);
    if (id === undefined) {
      const path =
        api === 'v2'
          ? `/api/v2/assets?uri_prefix_pattern=${encodeURIComponent(uri)}&order_by=uri&limit=${LOOKBACK}`
          : `/api/v1/datasets/${encodeURIComponent(uri)}`;
      const res = await call(path, undefined, {excerptMax: ASSET_BODY_MAX});
      if (res.status === 404 && api === 'v1')
        return unknown(uri, path, since());
      if (res.status !== 200) return response(res, path, since());
      id = assetIdIn(res.body, uri, api);
      if (id === undefined) return unknown(uri, path, since());
      ids.set(uri, id);
    }
    // 2. Bounded look-up of our key among the asset's latest events.
    const listPath =
      api === 'v2'
        ? `/api/v2/assets/events?asset_id=${id}&order_by=-timestamp&limit=${LOOKBACK}`
        : `/api/v1/datasets/events?dataset_id=${id}&order_by=-timestamp&limit=${LOOKBACK}`;
    const lookFor = () => {
      const search = fieldSearch(ASSET_EVENT_KEY, run.dagRunId);
      return call(listPath, undefined, {onChunk: search.feed}).then(res => ({
        res,
        found: res.status === 200 && search.found(),
      }));
    };
    const {res: list, found} = await lookFor();
    if (list.status !== 200) return response(list, listPath, since());
    if (found)
      return {
        kind: 'response',
        status: 200,
        body: '',
        latencyMs: since(),
        asset: 'existing',
        path: listPath,
      };
    // 3. Create it.
    const postPath =
      api === 'v2' ? '/api/v2/assets/events' : '/api/v1/datasets/events';
    let res;
    try {
      res = await call(
        postPath,
        api === 'v2' ? {asset_id: id, extra} : {dataset_uri: uri, extra},
      );
    } catch (err) {
      if (!(err instanceof HttpTimeoutError)) throw err;
      // Airflow may commit it after we stopped waiting: look again after one more timeout.
      const wait = Math.min(
        target.timeoutMs,
        (options.deadline ?? 0) - performance.now() - target.timeoutMs,
      );
      if (wait < 100) throw err;
      await new Promise(r => setTimeout(r, wait));
      const again = await lookFor().catch(() => undefined);
      if (again?.found)
        return {
          kind: 'response',
          status: 200,
          body: '',
          latencyMs: since(),
          asset: 'created-late',
          path: listPath,
        };
      throw err;
    }
    if (res.status === 404) {
      ids.delete(uri); // the asset went away: look it up again next time
      return unknown(uri, postPath, since());
    }
    return response(res, postPath, since());
  } catch (err) {
    if (err instanceof HttpTimeoutError)
      return {
        kind: 'failure',
        failure: 'timeout',
        message: `no response within ${target.timeoutMs}ms`,
        latencyMs: since(),
      };
    return failure('network', err, since());
  }
}

/**
 * Why this environment cannot take asset events, once discovery has told its
 * API (and for v1 its version); undefined when it can. The config refuses
 * `api: experimental` and `composer-cli` with asset routes, so this is what
 * `auto` (or an unprobed `v1`) finds on an older Airflow 2.
 */
function unsupported(target: AirflowTarget): string | undefined {
  const {name} = target.environment;
  const then =
    'or trigger the DAGs scheduled on the asset with dag: routes; then replay this dead letter (dag-launcher replay)';
  const api = target.api.name;
  if (api !== 'v1' && api !== 'v2')
    return `asset events need Airflow's REST API, v1 (Airflow 2.9+) or v2 (Airflow 3), and environment '${name}' uses ${api}: set its api to v1, v2 or auto, ${then}`;
  const version = target.airflowVersion;
  if (api === 'v1' && version !== undefined && before29(version))
    return `asset events need Airflow 2.9+ (POST /api/v1/datasets/events), and environment '${name}' runs Airflow ${version}: upgrade it, ${then}`;
  return undefined;
}

/** Airflow 1.x, or 2.0 to 2.8. */
function before29(version: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const major = Number(m[1]);
  return major < 2 || (major === 2 && Number(m[2]) < 9);
}

function assetIdIn(
  body: string,
  uri: string,
  api: 'v1' | 'v2',
): number | undefined {
  try {
    const data = JSON.parse(body) as {
      id?: unknown;
      uri?: unknown;
      assets?: {id?: unknown; uri?: unknown}[];
    };
    const hit =
      api === 'v1' ? data : (data.assets ?? []).find(a => a.uri === uri);
    return hit && hit.uri === uri && typeof hit.id === 'number'
      ? hit.id
      : undefined;
  } catch {
    return undefined;
  }
}

function unknown(
  uri: string,
  path: string,
  latencyMs: number,
): AssetEventResult {
  return {
    kind: 'response',
    status: 404,
    body: `Airflow has no asset with URI '${uri}'`,
    latencyMs,
    asset: 'unknown-asset',
    path,
  };
}

function response(
  res: {status: number; body: string},
  path: string,
  latencyMs: number,
): AssetEventResult {
  return {
    kind: 'response',
    status: res.status,
    body: res.body,
    latencyMs,
    path,
  };
}

function failure(
  kind: 'discovery' | 'credentials' | 'network',
  err: unknown,
  latencyMs: number,
): AssetEventResult {
  const code = kind === 'network' ? errorCode(err) : undefined;
  return {
    kind: 'failure',
    failure: kind,
    message: (err as Error).message,
    latencyMs,
    ...(code !== undefined && {code}),
  };
}
