/**
 * Whether a DAG is paused, so a run created on a paused DAG is flagged (it
 * will sit queued until someone unpauses it). Read from the DAG endpoint at
 * most once per DAG per `ttlMs` per instance; concurrent lookups share one
 * request; a failed lookup is simply "unknown" and never changes an outcome.
 */
import {httpRequest} from '../core/http';
import type {AirflowTarget} from './trigger';

interface Entry {
  at: number;
  value: Promise<boolean | undefined>;
  /** Set once the lookup has answered, so later events read it without awaiting. */
  settled?: {paused: boolean | undefined};
}

export class PausedCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The answer itself when it is already known (the usual case), else the pending lookup. */
  lookup(
    target: AirflowTarget,
    dagId: string,
  ): boolean | undefined | Promise<boolean | undefined> {
    if (target.environment.api === 'composer-cli') return undefined; // no web server in reach
    const key = `${target.environment.name}\u0000${dagId}`;
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < this.ttlMs)
      return hit.settled ? hit.settled.paused : hit.value;
    const entry: Entry = {at: this.now(), value: fetchPaused(target, dagId)};
    void entry.value.then(paused => (entry.settled = {paused}));
    this.entries.set(key, entry);
    return entry.value;
  }
}

async function fetchPaused(
  target: AirflowTarget,
  dagId: string,
): Promise<boolean | undefined> {
  try {
    const res = await httpRequest(
      target.environment.url + target.api.dagPath(dagId),
      {
        headers: {...(await target.auth.headers()), Accept: 'application/json'},
        timeoutMs: Math.min(target.timeoutMs, 5000),
        excerptMax: 256 * 1024,
      },
    );
    if (res.status !== 200) return undefined;
    const body = JSON.parse(res.body) as {is_paused?: unknown};
    return typeof body.is_paused === 'boolean' ? body.is_paused : undefined;
  } catch {
    return undefined;
  }
}
