/**
 * A configuration kept in Cloud Storage: `LAUNCHER_CONFIG=gs://bucket/object`.
 *
 * Loaded with @google-cloud/storage at cold start and cached. At most every
 * `refreshMs` (LAUNCHER_CONFIG_REFRESH, default 60s) an event starts a
 * background check of the object's generation (one metadata GET); only a new
 * generation is downloaded, pinned to that generation, and compiled. So a
 * route change needs no redeploy, and an instance picks it up within one
 * refresh interval of its next event.
 *
 * A new generation that does not compile is refused: the last good config
 * stays in force and one ERROR line lists every problem (once per bad
 * generation). Until a first good config is loaded there is nothing to route
 * with, so `current()` throws and the event is redelivered: nothing is lost
 * while a broken first upload is fixed.
 */
import type {Storage} from '@google-cloud/storage';
import {extname} from 'node:path';
import {parseConfigText} from './load';
import {parseGsUri} from './gs-uri';
import type {LauncherConfig} from './types';
import {ConfigError} from '../core/errors';
import type {Logger} from '../logging/logger';
import {parseDuration} from './schema';

export const DEFAULT_REFRESH_MS = 60_000;

/** No good configuration yet: the event has to wait for one (redelivered). */
export class ConfigUnavailableError extends Error {
  override readonly name = 'ConfigUnavailableError';
}

export interface GcsConfigOptions {
  storage: () => Promise<Storage>;
  logger: Logger;
  refreshMs?: number;
  now?: () => number;
}

/** LAUNCHER_CONFIG_REFRESH: a duration (`30s`, `5m`) or a number of seconds; `0` checks on every event. */
export function refreshIntervalMs(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_REFRESH_MS;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const parsed = parseDuration(value);
  if (parsed === undefined)
    throw new ConfigError(
      [
        `LAUNCHER_CONFIG_REFRESH: expected a duration like 30s or 5m, got '${value}'`,
      ],
      'environment',
    );
  return parsed;
}

export class GcsConfigSource {
  readonly bucket: string;
  readonly object: string;
  private good?: {config: LauncherConfig; generation: string};
  private refused?: string;
  private lastProblem = 'not loaded yet';
  private lastCheck = Number.NEGATIVE_INFINITY;
  private checking?: Promise<void>;
  private readonly refreshMs: number;
  private readonly now: () => number;

  constructor(
    readonly uri: string,
    private readonly options: GcsConfigOptions,
  ) {
    const {bucket, prefix} = parseGsUri(uri);
    if (!prefix || prefix.endsWith('/'))
      throw new ConfigError(
        [`LAUNCHER_CONFIG: expected gs://bucket/object, got ${uri}`],
        'environment',
      );
    this.bucket = bucket;
    this.object = prefix;
    this.refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
    this.now = options.now ?? Date.now;
  }

  /** The generation in force, if any. */
  get generation(): string | undefined {
    return this.good?.generation;
  }

  /**
   * The config for the event at hand. The first call waits for the first
   * load; later ones never wait: a due check runs in the background and the
   * next event sees its result.
   */
  async current(): Promise<LauncherConfig> {
    if (!this.good) {
      await this.check();
      if (!this.good)
        throw new ConfigUnavailableError(
          `no usable configuration from ${this.uri}: ${this.lastProblem}`,
        );
    } else if (this.now() - this.lastCheck >= this.refreshMs) {
      void this.check();
    }
    return this.good.config;
  }

  /** One check at a time; concurrent callers share it. Never rejects. */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    this.lastCheck = this.now();
    const log = this.options.logger;
    let generation: string;
    let text: string;
    try {
      const storage = await this.options.storage();
      const [metadata] = await storage
        .bucket(this.bucket)
        .file(this.object)
        .getMetadata();
      generation = String(metadata.generation);
      if (generation === this.good?.generation || generation === this.refused)
        return;
      const [contents] = await storage
        .bucket(this.bucket)
        .file(this.object, {generation})
        .download();
      text = contents.toString('utf8');
    } catch (err) {
      this.lastProblem = `cannot read ${this.uri}: ${(err as Error).message}`;
      const kept = this.good
        ? `; keeping generation ${this.good.generation}`
        : '';
      log.error(
        {configOrigin: this.uri, err: {message: (err as Error).message}},
        `configuration check failed${kept}`,
      );
      return;
    }
    const origin = `${this.uri}#${generation}`;
    let config: LauncherConfig;
    try {
      config = parseConfigText(
        text,
        origin,
        extname(this.object) === '.json' ? 'json' : 'yaml',
      );
    } catch (err) {
      this.refused = generation;
      const problems =
        err instanceof ConfigError ? err.problems : [(err as Error).message];
      this.lastProblem = `generation ${generation} is invalid: ${problems.join('; ')}`;
      log.error(
        {
          configOrigin: this.uri,
          generation,
          keptGeneration: this.good?.generation,
          problems,
        },
        this.good
          ? `configuration generation ${generation} refused; keeping the last good one (generation ${this.good.generation})`
          : `configuration generation ${generation} refused and there is no earlier good one; events are redelivered until it is fixed`,
      );
      return;
    }
    const previous = this.good?.generation;
    this.good = {config, generation};
    this.refused = undefined;
    if (previous !== undefined) {
      log.info(
        {
          configOrigin: this.uri,
          generation,
          previousGeneration: previous,
          routes: config.routes.length,
        },
        `configuration reloaded (generation ${generation})`,
      );
    }
  }
}
