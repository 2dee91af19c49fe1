/**
 * Routes that load but can never work, refused at load with how to fix them:
 * matchers or template variables of the other event kind (a Storage event
 * has no topic, a Pub/Sub message no object name), and topic lists that mix
 * bare ids with full names (a list is compared with one form only).
 */
import {PUBSUB_PUBLISHED, STORAGE_TYPES} from '../events/event';
import {PUBSUB_ROOTS, STORAGE_ROOTS} from '../events/context';
import type {Expression, Template} from '../patterns/template';
import type {MatchConfig} from './schema';
import type {ValueTemplate} from './types';

type Kind = 'storage' | 'pubsub';

const KIND_NAME: Record<Kind, string> = {
  storage: 'Cloud Storage',
  pubsub: 'Pub/Sub',
};
const FIELDS: Record<Kind, readonly (keyof MatchConfig)[]> = {
  storage: ['bucket', 'name', 'contentType', 'metadata'],
  pubsub: ['topic', 'subscription', 'attributes', 'json'],
};
const ROOTS: Record<Kind, ReadonlySet<string>> = {
  storage: STORAGE_ROOTS,
  pubsub: PUBSUB_ROOTS,
};
const other = (k: Kind): Kind => (k === 'storage' ? 'pubsub' : 'storage');

export interface RouteParts {
  at: string;
  types?: ReadonlySet<string>;
  match: MatchConfig;
  dag?: Template;
  conf?: ValueTemplate;
  note?: Template;
  logicalDate?: Template;
  dataInterval?: {start: Template; end: Template};
  asset?: {uri: Template; extra?: ValueTemplate};
}

/** Matchers and `{{ }}` variables that no event this route can match ever has. */
export function eventKindProblems(r: RouteParts): string[] {
  const problems: string[] = [];
  const used = (k: Kind) =>
    FIELDS[k].filter(f => r.match[f] !== undefined && binds(f, r.match[f]));
  let kind = r.types && onlyKind(r.types);
  let because = `match.type: ${kind}`;
  if (kind) {
    const wrong = other(kind);
    for (const f of used(wrong))
      problems.push(
        `${r.at}.match.${f}: a ${KIND_NAME[wrong]} field, but this route matches only ${KIND_NAME[kind]} events (${because}), so it never matches; remove it, or change match.type`,
      );
  } else {
    const storage = used('storage');
    const pubsub = used('pubsub');
    if (storage.length && pubsub.length)
      problems.push(
        `${r.at}.match: ${storage.join(', ')} (Cloud Storage) with ${pubsub.join(', ')} (Pub/Sub): no event has both, so this route never matches; split it into one route per event kind`,
      );
    else if (storage.length) kind = 'storage';
    else if (pubsub.length) kind = 'pubsub';
    because = `match.${(storage[0] ?? pubsub[0])!} is a ${kind && KIND_NAME[kind]} field`;
  }
  if (!kind) return problems;
  const wrong = other(kind);
  for (const [path, template] of templatesOf(r))
    for (const e of expressions(template)) {
      if (!ROOTS[wrong].has(e.root)) continue;
      if (e.filters.some(f => f.name === 'default')) continue;
      problems.push(
        `${path}: {{ ${e.source} }} reads '${e.root}', a ${KIND_NAME[wrong]} variable, but this route matches only ${KIND_NAME[kind]} events (${because}), so it never has a value; use a ${KIND_NAME[kind]} variable (${[...ROOTS[kind]].join(', ')}) or add '| default: ...'`,
      );
    }
  return problems;
}

function onlyKind(types: ReadonlySet<string>): Kind | undefined {
  const all = [...types];
  if (all.every(t => STORAGE_TYPES.has(t))) return 'storage';
  if (all.every(t => t === PUBSUB_PUBLISHED)) return 'pubsub';
  return undefined;
}

/** False for `{exists: false}` (on every entry of a map): it also holds on an event without the field. */
function binds(field: keyof MatchConfig, spec: unknown): boolean {
  const absentOnly = (s: unknown) =>
    typeof s === 'object' &&
    s !== null &&
    (s as {exists?: unknown}).exists === false;
  if (field === 'metadata' || field === 'attributes' || field === 'json')
    return Object.values(spec as Record<string, unknown>).some(
      s => !absentOnly(s),
    );
  return !absentOnly(spec);
}

function templatesOf(r: RouteParts): [string, Template][] {
  const out: [string, Template][] = [];
  if (r.dag) out.push([`${r.at}.dag`, r.dag]);
  const walk = (v: ValueTemplate, path: string) => {
    if (v.kind === 'template') out.push([path, v.template]);
    else if (v.kind === 'array')
      v.items.forEach((item, i) => walk(item, `${path}.${i}`));
    else if (v.kind === 'object')
      for (const [k, item] of v.entries) walk(item, `${path}.${k}`);
  };
  if (r.conf) walk(r.conf, `${r.at}.conf`);
  if (r.note) out.push([`${r.at}.note`, r.note]);
  if (r.logicalDate) out.push([`${r.at}.logicalDate`, r.logicalDate]);
  if (r.dataInterval) {
    out.push([`${r.at}.dataInterval.start`, r.dataInterval.start]);
    out.push([`${r.at}.dataInterval.end`, r.dataInterval.end]);
  }
  if (r.asset) {
    out.push([`${r.at}.asset.uri`, r.asset.uri]);
    if (r.asset.extra) walk(r.asset.extra, `${r.at}.asset.extra`);
  }
  return out;
}

function expressions(t: Template): Expression[] {
  if (t.kind === 'value') return [t.expr];
  if (t.kind === 'text')
    return t.parts.filter((p): p is Expression => typeof p !== 'string');
  return [];
}

const TOPIC_NAME = /^projects\/[^/]+\/topics\/[^/]+$/;

/**
 * compile-route compares a topic matcher holding a `/` with the full name
 * (`projects/P/topics/T`) and any other with the bare id: in a list of both
 * forms, one form can never match.
 */
export function topicProblems(spec: unknown, at: string): string[] {
  const names =
    typeof spec === 'string'
      ? [spec]
      : Array.isArray(spec)
        ? spec.filter((n): n is string => typeof n === 'string')
        : [];
  const full = names.filter(n => n.includes('/'));
  const ids = names.filter(n => !n.includes('/'));
  if (full.length && ids.length)
    return [
      `${at}: mixes topic ids (${ids.join(', ')}) with full names (${full.join(', ')}); a list is compared with one form, the full name here, so ${ids.join(', ')} can never match; write every entry as projects/PROJECT/topics/TOPIC, or every entry as a bare id`,
    ];
  const malformed = full.filter(n => !TOPIC_NAME.test(n));
  if (malformed.length)
    return [
      `${at}: '${malformed.join("', '")}' is neither a topic id nor a full name, so it never matches; write projects/PROJECT/topics/TOPIC or the bare id`,
    ];
  return [];
}
