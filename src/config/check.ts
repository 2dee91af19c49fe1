/**
 * A small shape checker for the configuration file: what the launcher needs
 * from a schema library (strict objects, unions, defaults, every problem with
 * its path) without paying for one at cold start. A check takes a value and
 * its path, and returns the parsed value or INVALID after writing each problem
 * as `path: message` (`(root)` for the top).
 *
 * Each check also describes itself as JSON Schema (`json`, built only when
 * asked: `dag-launcher schema` writes launcher.schema.json from it), so the
 * editors' schema and this checker come from the same definitions.
 */

/** A JSON Schema (draft-07) fragment. */
export type JsonSchema = Record<string, unknown>;

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

export interface Check<T> {
  (value: unknown, at: string, problems: string[]): T | Invalid;
  /** Set by optional() and withDefault(): what an absent object key becomes. */
  absent?: () => T;
  /** Set by strictObject(), record() and array(): what salvage.ts looks into. */
  parts?: Parts;
  /** This check as JSON Schema; lazy, so cold start never builds it. */
  json?: () => JsonSchema;
}

/** The JSON Schema of a check ({} when it accepts anything). */
export function jsonSchemaOf(check: Check<unknown>): JsonSchema {
  return check.json ? check.json() : {};
}

/** Gives a hand-written check its JSON Schema. */
export function described<C extends Check<unknown>>(
  check: C,
  json: () => JsonSchema,
): C {
  check.json = json;
  return check;
}

export type Parts =
  | {kind: 'object'; shape: Shape}
  | {kind: 'record'; value: Check<unknown>}
  | {kind: 'array'; item: Check<unknown>};

export type Infer<C> = C extends Check<infer T> ? T : never;

/** Records a problem at `at` and returns INVALID; for checks written by hand. */
export function report(
  problems: string[],
  at: string,
  message: string,
): Invalid {
  problems.push(`${at || '(root)'}: ${message}`);
  return INVALID;
}

const join = (at: string, key: string | number) =>
  at ? `${at}.${key}` : String(key);

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string')
    return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  return `${typeof value} ${String(value)}`;
}

export function string(
  opts: {min?: number; regex?: RegExp; message?: string} = {},
): Check<string> {
  const check: Check<string> = (v, at, problems) => {
    if (typeof v !== 'string')
      return report(
        problems,
        at,
        opts.message ?? `expected a string, got ${describe(v)}`,
      );
    if (opts.min !== undefined && v.length < opts.min)
      return report(
        problems,
        at,
        opts.message ?? `expected at least ${opts.min} character(s)`,
      );
    if (opts.regex && !opts.regex.test(v))
      return report(
        problems,
        at,
        opts.message ?? `does not match ${opts.regex}`,
      );
    return v;
  };
  check.json = () => ({
    type: 'string',
    ...(opts.min !== undefined && {minLength: opts.min}),
    ...(opts.regex && {pattern: opts.regex.source}),
  });
  return check;
}

export function number(
  opts: {int?: boolean; min?: number; max?: number; positive?: boolean} = {},
): Check<number> {
  const check: Check<number> = (v, at, problems) => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      return report(problems, at, `expected a number, got ${describe(v)}`);
    if (opts.int && !Number.isInteger(v))
      return report(problems, at, `expected a whole number, got ${v}`);
    if (opts.positive && v <= 0)
      return report(problems, at, `expected a number above 0, got ${v}`);
    if (opts.min !== undefined && v < opts.min)
      return report(problems, at, `expected at least ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max)
      return report(problems, at, `expected at most ${opts.max}, got ${v}`);
    return v;
  };
  check.json = () => ({
    type: opts.int ? 'integer' : 'number',
    ...(opts.positive && {exclusiveMinimum: 0}),
    ...(opts.min !== undefined && {minimum: opts.min}),
    ...(opts.max !== undefined && {maximum: opts.max}),
  });
  return check;
}

export const boolean: Check<boolean> = described(
  (v, at, problems) =>
    typeof v === 'boolean'
      ? v
      : report(problems, at, `expected true or false, got ${describe(v)}`),
  () => ({type: 'boolean'}),
);

export const nullValue: Check<null> = described(
  (v, at, problems) =>
    v === null
      ? null
      : report(problems, at, `expected null, got ${describe(v)}`),
  () => ({type: 'null'}),
);

export const unknown: Check<unknown> = v => v;

export function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  return described(
    (v, at, problems) =>
      (values as readonly unknown[]).includes(v)
        ? (v as T)
        : report(
            problems,
            at,
            `expected one of ${values.join(', ')}, got ${describe(v)}`,
          ),
    () => ({enum: [...values]}),
  );
}

export function array<T>(
  item: Check<T>,
  opts: {min?: number} = {},
): Check<T[]> {
  const check: Check<T[]> = (v, at, problems) => {
    if (!Array.isArray(v))
      return report(problems, at, `expected a list, got ${describe(v)}`);
    if (opts.min !== undefined && v.length < opts.min)
      return report(problems, at, `expected at least ${opts.min} item(s)`);
    const out: T[] = [];
    let ok = true;
    v.forEach((x, i) => {
      const r = item(x, join(at, i), problems);
      if (r === INVALID) ok = false;
      else out.push(r);
    });
    return ok ? out : INVALID;
  };
  check.parts = {kind: 'array', item};
  check.json = () => ({
    type: 'array',
    items: jsonSchemaOf(item),
    ...(opts.min !== undefined && {minItems: opts.min}),
  });
  return check;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

const OWN = (value: unknown): PropertyDescriptor => ({
  value,
  enumerable: true,
  writable: true,
  configurable: true,
});

/** A map with free keys (checked by `key`) and values of one shape. */
export function record<T>(
  key: Check<string>,
  value: Check<T>,
): Check<Record<string, T>> {
  const check: Check<Record<string, T>> = (v, at, problems) => {
    if (!isPlainObject(v))
      return report(problems, at, `expected an object, got ${describe(v)}`);
    const out: Record<string, T> = {};
    let ok = true;
    for (const [k, x] of Object.entries(v)) {
      const kr = key(k, join(at, k), problems);
      const r = value(x, join(at, k), problems);
      if (kr === INVALID || r === INVALID) ok = false;
      // Defined, not assigned: a key named __proto__ (attributes: {__proto__: …}) must stay a key.
      else Object.defineProperty(out, k, OWN(r));
    }
    return ok ? out : INVALID;
  };
  check.parts = {kind: 'record', value};
  check.json = () => ({
    type: 'object',
    propertyNames: jsonSchemaOf(key),
    additionalProperties: jsonSchemaOf(value),
  });
  return check;
}

type Shape = Record<string, Check<unknown>>;
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends {absent: () => undefined} ? K : never;
}[keyof S];
type Flat<T> = {[K in keyof T]: T[K]};
export type ObjectOf<S extends Shape> = Flat<
  {[K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]>} & {
    [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined>;
  }
>;

/** An object with exactly these keys: an unknown key is a problem (a typo must not be silently ignored). */
export function strictObject<S extends Shape>(shape: S): Check<ObjectOf<S>> {
  const keys = Object.keys(shape);
  const check: Check<ObjectOf<S>> = (v, at, problems) => {
    if (!isPlainObject(v))
      return report(problems, at, `expected an object, got ${describe(v)}`);
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const k of keys) {
      const check = shape[k]!;
      if (v[k] === undefined) {
        if (check.absent) {
          const d = check.absent();
          if (d !== undefined) out[k] = d;
        } else {
          ok = false;
          report(problems, join(at, k), 'required; add it');
        }
        continue;
      }
      const r = check(v[k], join(at, k), problems);
      if (r === INVALID) ok = false;
      else out[k] = r;
    }
    const extra = Object.keys(v).filter(k => !Object.hasOwn(shape, k));
    if (extra.length) {
      ok = false;
      report(
        problems,
        at,
        `unknown key${extra.length > 1 ? 's' : ''} ${extra.map(k => `'${k}'`).join(', ')}; remove ${extra.length > 1 ? 'them' : 'it'} or correct the spelling (known: ${keys.join(', ')})`,
      );
    }
    return ok ? (out as ObjectOf<S>) : INVALID;
  };
  check.parts = {kind: 'object', shape};
  check.json = () => ({
    type: 'object',
    properties: Object.fromEntries(keys.map(k => [k, jsonSchemaOf(shape[k]!)])),
    required: keys.filter(k => !shape[k]!.absent),
    additionalProperties: false,
  });
  return check;
}

export function optional<T>(
  check: Check<T>,
): Check<T | undefined> & {absent: () => undefined} {
  const c = ((v, at, problems) => check(v, at, problems)) as Check<
    T | undefined
  > & {absent: () => undefined};
  c.absent = () => undefined;
  c.parts = check.parts;
  c.json = check.json;
  return c;
}

/** `fallback` is a function so each parse gets its own copy of a default object. */
export function withDefault<T>(
  check: Check<T>,
  fallback: () => T,
): Check<T> & {absent: () => T} {
  const c = ((v, at, problems) => check(v, at, problems)) as Check<T> & {
    absent: () => T;
  };
  c.absent = fallback;
  c.parts = check.parts;
  c.json = check.json;
  return c;
}

/** The first option that accepts the value wins; when none does, one problem with `message`. */
export function union<T>(options: Check<T>[], message: string): Check<T> {
  return described(
    (v, at, problems) => {
      for (const option of options) {
        const r = option(v, at, []);
        if (r !== INVALID) return r;
      }
      return report(problems, at, message);
    },
    () => ({anyOf: options.map(jsonSchemaOf)}),
  );
}

/** Objects told apart by one key (`mode`): problems are reported against the matching shape. */
export function tagged<T>(
  key: string,
  options: Record<string, Check<T>>,
): Check<T> {
  const tags = Object.keys(options);
  const check: Check<T> = (v, at, problems) => {
    if (!isPlainObject(v))
      return report(problems, at, `expected an object, got ${describe(v)}`);
    const tag = v[key];
    const option =
      typeof tag === 'string' && Object.hasOwn(options, tag)
        ? options[tag]!
        : undefined;
    if (!option)
      return report(
        problems,
        join(at, key),
        `expected one of ${tags.join(', ')}, got ${describe(tag)}`,
      );
    return option(v, at, problems);
  };
  check.json = () => ({
    type: 'object',
    required: [key],
    properties: {[key]: {enum: tags}},
    allOf: tags.map(tag => ({
      if: {properties: {[key]: {const: tag}}},
      then: jsonSchemaOf(options[tag]!),
    })),
  });
  return check;
}

/** `json`: what the value may be before `f` (the schema cannot run `f`). */
export function before<T>(
  f: (v: unknown) => unknown,
  check: Check<T>,
  json: () => JsonSchema,
): Check<T> {
  return described((v, at, problems) => check(f(v), at, problems), json);
}

/** A rule over the whole parsed value, reported at its path. */
export function refine<T>(
  check: Check<T>,
  ok: (t: T) => boolean,
  message: string,
  /** The rule as JSON Schema keywords, added to the check's own. */
  json: () => JsonSchema,
): Check<T> {
  return described(
    (v, at, problems) => {
      const r = check(v, at, problems);
      if (r === INVALID) return INVALID;
      return ok(r) ? r : report(problems, at, message);
    },
    () => ({...jsonSchemaOf(check), ...json()}),
  );
}

export function literal<const T extends string>(value: T): Check<T> {
  return described(
    (v, at, problems) =>
      v === value
        ? value
        : report(problems, at, `expected '${value}', got ${describe(v)}`),
    () => ({const: value}),
  );
}

/** Runs a check; `{ ok: true, value }` or `{ ok: false, problems }`. */
export function run<T>(
  check: Check<T>,
  value: unknown,
): {ok: true; value: T} | {ok: false; problems: string[]} {
  const problems: string[] = [];
  const r = check(value, '', problems);
  return r === INVALID || problems.length
    ? {ok: false, problems}
    : {ok: true, value: r};
}
