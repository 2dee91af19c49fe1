/**
 * Generators of deliveries at the edges the platforms allow and past them:
 * JSON nested deep (in a message's data, in attributes and metadata, in the
 * delivery itself), sizes up to the platform maxima (10 MB Pub/Sub data,
 * 1,024-byte object names, 8 KiB of custom metadata, 100 attributes),
 * prototype keys and control characters in every field the event controls.
 * Shared by the hostile-input suite and `npm run bench`, which reports the
 * most CPU any of them took.
 */
import {setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';
import fc from 'fast-check';
import {PUBSUB_PUBLISHED, STORAGE_FINALIZED} from '../../src/events/event';

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];
/** Newlines, NUL, U+2028/2029, ANSI escapes, a lone surrogate: what breaks a log line or a terminal. */
export const CONTROL = [
  '\n',
  '\r\n',
  '\u0000',
  '\u2028',
  '\u2029',
  '\u001b[31m',
  '\t',
  '\\u0000',
  '\ud800',
  '{"severity":"ERROR","message":"forged"}\n',
];

/** JSON text `[[[…]]]` or `{"a":{"a":…}}` `depth` deep, written out (JSON.stringify itself overflows). */
export function deepJsonText(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** A value `depth` deep, built without recursion. */
export function deepValue(depth: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < depth; i++) v = i % 2 ? {a: v} : [v];
  return v;
}

const tricky = fc.oneof(
  fc.constantFrom(...PROTO_KEYS),
  fc.constantFrom(...CONTROL),
  fc
    .tuple(fc.constantFrom(...CONTROL), fc.string({maxLength: 20}))
    .map(([c, s]) => `${s}${c}${s}`),
);

const depths = fc.oneof(
  fc.integer({min: 90, max: 110}),
  fc.constantFrom(1000, 5000, 20_000),
);

function pubsub(
  id: string,
  data: string,
  attributes: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    specversion: '1.0',
    id,
    type: PUBSUB_PUBLISHED,
    source: '//pubsub.googleapis.com/projects/p/topics/commands',
    time: new Date().toISOString(),
    data: {
      subscription: 'projects/p/subscriptions/s',
      message: {data, attributes, messageId: id, ...extra},
    },
  };
}

function storage(
  id: string,
  name: string,
  metadata: unknown = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    specversion: '1.0',
    id,
    type: STORAGE_FINALIZED,
    source: '//storage.googleapis.com/projects/_/buckets/landing',
    subject: `objects/${name}`,
    time: new Date().toISOString(),
    data: {
      bucket: 'landing',
      name,
      generation: '1700000000000001',
      size: '10',
      metadata,
      ...extra,
    },
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
let seq = 0;
const nextId = (what: string) => `hostile-${what}-${seq++}`;

/** Deep JSON in a message's data, in attributes and metadata, and in the delivery itself. */
export const deepDelivery = fc
  .tuple(
    depths,
    fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>,
    fc.constantFrom('data', 'attributes', 'metadata', 'delivery'),
  )
  .map(([depth, kind, where]) => {
    const id = nextId(`deep-${where}-${depth}`);
    if (where === 'data') return pubsub(id, b64(deepJsonText(depth, kind)));
    if (where === 'attributes') return pubsub(id, '', {x: deepValue(depth)});
    if (where === 'metadata')
      return storage(id, 'in/a.csv', {dag: deepValue(depth)});
    return storage(id, 'in/a.csv', {}, {extra: deepValue(depth)});
  });

const MiB = 2 ** 20;
/** Sizes up to the platform maxima, and just past them. */
export const bigDelivery = fc
  .constantFrom(
    'data-1MiB',
    'data-10MB',
    'data-over-10MiB',
    'name-1024',
    'name-1025',
    'metadata-8KiB',
    'metadata-over-8KiB',
    'attributes-100x1KiB',
    'attributes-101',
    'attribute-key-257',
    'ordering-key-1025',
    'id-64KiB',
  )
  .map(what => {
    const id = nextId(what);
    const json = (bytes: number) =>
      JSON.stringify({dag: 'refresh', blob: 'b'.repeat(bytes - 32)});
    switch (what) {
      case 'data-1MiB':
        return pubsub(id, b64(json(MiB)));
      case 'data-10MB':
        return pubsub(id, b64(json(10_000_000)));
      case 'data-over-10MiB':
        return pubsub(id, b64('o'.repeat(10 * MiB + 1)));
      case 'name-1024':
        return storage(id, `in/${'n'.repeat(1017)}.csv`);
      case 'name-1025':
        return storage(id, `in/${'n'.repeat(1018)}.csv`);
      case 'metadata-8KiB':
        return storage(id, 'in/m.csv', {dag: 'load_a', big: 'm'.repeat(8180)});
      case 'metadata-over-8KiB':
        return storage(id, 'in/m.csv', {big: 'm'.repeat(8200)});
      case 'attributes-100x1KiB':
        return pubsub(
          id,
          b64('{"dag":"refresh"}'),
          Object.fromEntries(
            Array.from({length: 100}, (_, i) => [`k${i}`, 'v'.repeat(1024)]),
          ),
        );
      case 'attributes-101':
        return pubsub(
          id,
          '',
          Object.fromEntries(
            Array.from({length: 101}, (_, i) => [`k${i}`, 'v']),
          ),
        );
      case 'attribute-key-257':
        return pubsub(id, '', {['k'.repeat(257)]: 'v'});
      case 'ordering-key-1025':
        return pubsub(id, '', {}, {orderingKey: 'o'.repeat(1025)});
      default:
        return {...pubsub(id, ''), id: `${id}-${'i'.repeat(64 * 1024)}`};
    }
  });

/** Prototype keys and control characters in every field the event controls. */
export const trickyDelivery = fc
  .record({
    kind: fc.constantFrom('storage', 'pubsub'),
    key: tricky,
    value: tricky,
    name: tricky,
    id: tricky,
  })
  .map(({kind, key, value, name, id}) => {
    const body = JSON.stringify({dag: value, [key]: value, params: {[key]: 1}});
    // Keys set with defineProperty: an object literal's __proto__ would set the prototype instead.
    const map: Record<string, string> = {};
    for (const k of [key, 'dag', 'who'])
      Object.defineProperty(map, k, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    const eventId = `${nextId('tricky')}${id}`;
    return kind === 'pubsub'
      ? pubsub(eventId, b64(body), map, {orderingKey: value})
      : storage(eventId, `in/${name}/${value}.csv`, map, {contentType: value});
  });

/** Everything above, for the per-delivery CPU budget. */
export const hostileDelivery = fc.oneof(
  {weight: 3, arbitrary: deepDelivery},
  {weight: 2, arbitrary: bigDelivery},
  {weight: 4, arbitrary: trickyDelivery},
);

/** The size of a delivery as the platform sends it (its JSON body), for budgets and reports. */
export function deliveryBytes(delivery: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(delivery) ?? '');
  } catch {
    return 0; // deeper than JSON.stringify goes: a small body (the generators' deep values are < 1 MiB)
  }
}

/**
 * The per-delivery budget, whatever the delivery's size up to the platform
 * maxima (a 10 MB message is a 13.4 MB body): each delivery decided in this
 * much CPU, Airflow's stand-in answering instantly. Every byte of a message
 * is decoded, parsed and (when rejected) written to its dead letter about
 * once, each with a native pass; BENCHMARKS.md has the figures.
 */
export const CPU_BUDGET_MS = 50;

setFlagsFromString('--expose-gc');
/** A full GC before each measured delivery: each is charged for its own garbage, not the generator's. */
const collect = runInNewContext('gc') as () => void;

/** CPU time of one handler call (user + system, this process), whatever it ends in. */
export async function cpuOfDelivery(
  handle: (delivered: unknown) => Promise<void>,
  delivery: unknown,
): Promise<number> {
  collect();
  const started = process.cpuUsage();
  try {
    await handle(delivery);
  } catch {
    // a redelivery is an outcome too; the suite checks which
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}
