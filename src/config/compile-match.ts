/**
 * Compiling a route's `match`: its event types and one condition per
 * matcher, each problem with its path. Every pattern is compiled here: what
 * RE2 refuses (linear-regex.ts, re2-screen.ts) is a problem of this config
 * in the same list as the others, at the function's startup as in
 * `validate`.
 */
import {compileMatcher, type MatcherSpec} from '../patterns/matcher';
import {
  PUBSUB_PUBLISHED,
  STORAGE_FINALIZED,
  STORAGE_TYPES,
} from '../events/event';
import type {MatchConfig} from './schema';
import type {FieldCondition} from './types';

const TYPE_SHORTHANDS: Record<string, string> = {
  storage: STORAGE_FINALIZED,
  pubsub: PUBSUB_PUBLISHED,
};

type MatchMaps = 'metadata' | 'attributes' | 'json';
/** A route's `match` as far as its shape is right: a malformed map entry is undefined. */
export type SalvagedMatch = Omit<MatchConfig, MatchMaps> & {
  [K in MatchMaps]?: Record<
    string,
    NonNullable<MatchConfig[K]>[string] | undefined
  >;
};

export interface CompileOptions {
  /**
   * Compile every pattern's RE2 program now (`validate`), not only those
   * re2-screen.ts cannot vouch for (the function: the others cost its cold
   * start nothing until a name reaches them).
   */
  allPatterns?: boolean;
}

export interface CompiledMatch {
  /** The match as the matcher code reads it: malformed map entries left out. */
  match: MatchConfig;
  types?: Set<string>;
  conditions: FieldCondition[];
}

export function compileMatch(
  salvaged: SalvagedMatch | undefined,
  at: string,
  problems: string[],
  options: CompileOptions = {},
): CompiledMatch {
  const m = wellFormedMatch(salvaged);
  let types: Set<string> | undefined;
  if (m.type !== undefined) {
    types = new Set(
      (Array.isArray(m.type) ? m.type : [m.type]).map(t =>
        Object.hasOwn(TYPE_SHORTHANDS, t) ? TYPE_SHORTHANDS[t]! : t,
      ),
    );
    for (const t of types) {
      if (!STORAGE_TYPES.has(t) && t !== PUBSUB_PUBLISHED) {
        problems.push(
          `${at}.match.type: unsupported event type '${t}'; use storage, pubsub, ${[...STORAGE_TYPES].join(', ')} or ${PUBSUB_PUBLISHED}`,
        );
      }
    }
  }

  const conditions: FieldCondition[] = [];
  const add = (
    field: string,
    spec: MatcherSpec,
    get: FieldCondition['get'],
  ) => {
    try {
      const matcher = compileMatcher(spec);
      if (options.allPatterns) matcher.prepare();
      conditions.push({field, get, matcher});
    } catch (err) {
      problems.push(`${at}.match.${field}: ${(err as Error).message}`);
    }
  };
  if (m.bucket !== undefined) add('bucket', m.bucket, c => c.bucket);
  if (m.name !== undefined) add('name', m.name, c => c.name);
  if (m.contentType !== undefined)
    add('contentType', m.contentType, c => c.contentType);
  // A full topic (subscription) name compares with the full name, a bare id with the id.
  const isFull = (spec: MatcherSpec) =>
    typeof spec === 'string'
      ? spec.includes('/')
      : JSON.stringify(spec).includes('/');
  if (m.topic !== undefined)
    add('topic', m.topic, isFull(m.topic) ? c => c.topic : c => c.topicId);
  if (m.subscription !== undefined)
    add(
      'subscription',
      m.subscription,
      isFull(m.subscription) ? c => c.subscription : c => c.subscriptionId,
    );
  for (const [k, spec] of Object.entries(m.metadata ?? {}))
    add(`metadata.${k}`, spec, c => ownValue(c.metadata, k));
  for (const [k, spec] of Object.entries(m.attributes ?? {}))
    add(`attributes.${k}`, spec, c => ownValue(c.attributes, k));
  for (const [path, spec] of Object.entries(m.json ?? {})) {
    const keys = path.split('.');
    add(`json.${path}`, spec, c => dig(c.json, keys));
  }
  return {match: m, types, conditions};
}

/** The match without its malformed map entries (reported already), as the matcher code reads it. */
function wellFormedMatch(match: SalvagedMatch | undefined): MatchConfig {
  const out: Record<string, unknown> = {...match};
  for (const key of ['metadata', 'attributes', 'json'] as const) {
    const entries = match?.[key];
    if (entries)
      out[key] = Object.fromEntries(
        Object.entries(entries).filter(([, spec]) => spec !== undefined),
      );
  }
  return out as MatchConfig;
}

/**
 * An event's own key only: `metadata.constructor` or `attributes.toString`
 * must not find Object.prototype's (an `{exists: true}` on it would match
 * every event).
 */
function ownValue(object: unknown, key: string): unknown {
  return object !== null &&
    typeof object === 'object' &&
    Object.hasOwn(object, key)
    ? (object as Record<string, unknown>)[key]
    : undefined;
}

function dig(value: unknown, keys: string[]): unknown {
  let v = value;
  for (const k of keys) v = ownValue(v, k);
  return v;
}
