/**
 * `{{ path | filter }}` templates for dag ids, conf values and notes.
 *
 * No eval and no code: an expression is a dotted path into the render context
 * (`metadata.source`, `json.items[0]`, `attributes['my-key']`) followed by
 * optional filters. A string that is exactly one expression keeps the JSON
 * type of its value (a whole object can pass through); anything else is
 * interpolated as text. Templates are compiled when the config loads, so a
 * typo is a config error at cold start, not a rejected event at 3am.
 */
import {TemplateError} from '../core/errors';

export type Filter =
  | {name: 'default'; value: unknown}
  | {name: 'lower' | 'upper' | 'string' | 'json' | 'slug' | 'trim'};

export interface Expression {
  source: string;
  root: string;
  path: (string | number)[];
  filters: Filter[];
}

export type Template =
  | {kind: 'literal'; value: string}
  | {kind: 'value'; expr: Expression}
  | {kind: 'text'; parts: (string | Expression)[]};

const TAG = /\{\{([\s\S]*?)\}\}/g;
const SIMPLE_FILTERS = new Set([
  'lower',
  'upper',
  'string',
  'json',
  'slug',
  'trim',
]);

export function hasTemplate(s: string): boolean {
  return s.includes('{{');
}

/** Compiles a template string; throws with a message naming the problem. `roots` lists the variables that exist. */
export function compileTemplate(
  source: string,
  roots: ReadonlySet<string>,
): Template {
  if (!hasTemplate(source)) return {kind: 'literal', value: source};
  const parts: (string | Expression)[] = [];
  let last = 0;
  for (const m of source.matchAll(TAG)) {
    if (m.index > last) parts.push(source.slice(last, m.index));
    parts.push(parseExpression(m[1] ?? '', roots));
    last = m.index + m[0].length;
  }
  const rest = source.slice(last);
  if (
    rest.includes('{{') ||
    parts.some(p => typeof p === 'string' && p.includes('{{'))
  ) {
    throw new Error(`unclosed '{{' in template ${JSON.stringify(source)}`);
  }
  if (rest) parts.push(rest);
  if (parts.length === 1 && typeof parts[0] !== 'string')
    return {kind: 'value', expr: parts[0]!};
  return {kind: 'text', parts};
}

function parseExpression(raw: string, roots: ReadonlySet<string>): Expression {
  const [pathText, ...filterTexts] = splitFilters(raw);
  const path = parsePath((pathText ?? '').trim(), raw);
  const root = path.shift();
  if (typeof root !== 'string' || !roots.has(root)) {
    throw new Error(
      `unknown variable '${String(root ?? '')}' in {{${raw}}}; available: ${[...roots].sort().join(', ')}`,
    );
  }
  const filters = filterTexts.map(f => parseFilter(f.trim(), raw));
  return {source: raw.trim(), root, path, filters};
}

/** Splits on `|` outside quotes. */
function splitFilters(raw: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const ch of raw) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '|') {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out;
}

const SEGMENT =
  /^(?:\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\])/;

function parsePath(text: string, raw: string): (string | number)[] {
  const path: (string | number)[] = [];
  let rest = text;
  if (!rest) throw new Error(`empty expression {{${raw}}}`);
  while (rest) {
    const m = SEGMENT.exec(rest);
    if (!m || (path.length === 0 && !m[1]))
      throw new Error(`cannot parse path '${text}' in {{${raw}}}`);
    if (m[1] !== undefined) path.push(m[1]);
    else if (m[2] !== undefined) path.push(Number(m[2]));
    else path.push(m[3] ?? m[4] ?? '');
    rest = rest.slice(m[0].length);
  }
  return path;
}

function parseFilter(text: string, raw: string): Filter {
  const m = /^([a-z]+)\s*(?::\s*([\s\S]+))?$/.exec(text);
  if (!m) throw new Error(`cannot parse filter '${text}' in {{${raw}}}`);
  const name = m[1]!;
  if (name === 'default') {
    if (m[2] === undefined)
      throw new Error(
        `filter 'default' needs a value, e.g. default: "x", in {{${raw}}}`,
      );
    let value: unknown;
    try {
      value = JSON.parse(
        m[2].trim().replace(/^'(.*)'$/s, (_, s: string) => JSON.stringify(s)),
      );
    } catch {
      throw new Error(
        `default value ${m[2].trim()} is not a JSON literal in {{${raw}}}`,
      );
    }
    return {name: 'default', value};
  }
  if (SIMPLE_FILTERS.has(name) && m[2] === undefined) return {name} as Filter;
  throw new Error(
    `unknown filter '${name}' in {{${raw}}}; available: default, ${[...SIMPLE_FILTERS].join(', ')}`,
  );
}

export function renderTemplate(
  t: Template,
  ctx: Record<string, unknown>,
): unknown {
  switch (t.kind) {
    case 'literal':
      return t.value;
    case 'value':
      return evaluate(t.expr, ctx);
    case 'text':
      return t.parts
        .map(p => (typeof p === 'string' ? p : asText(evaluate(p, ctx))))
        .join('');
  }
}

function evaluate(expr: Expression, ctx: Record<string, unknown>): unknown {
  let value: unknown = ctx[expr.root];
  for (const key of expr.path) {
    if (value === null || value === undefined) break;
    value =
      typeof value === 'object' && Object.hasOwn(value, key)
        ? (value as Record<string | number, unknown>)[key]
        : undefined;
  }
  for (const f of expr.filters) value = applyFilter(f, value);
  if (value === undefined) {
    throw new TemplateError(
      `{{ ${expr.source} }} has no value for this event (add '| default: ...' to make it optional)`,
      {root: expr.root},
    );
  }
  return value;
}

function applyFilter(f: Filter, value: unknown): unknown {
  if (f.name === 'default')
    return value === undefined || value === null || value === ''
      ? f.value
      : value;
  if (value === undefined) return undefined;
  switch (f.name) {
    case 'string':
      return asText(value);
    case 'json':
      return JSON.stringify(value);
    case 'lower':
      return asText(value).toLowerCase();
    case 'upper':
      return asText(value).toUpperCase();
    case 'trim':
      return asText(value).trim();
    case 'slug':
      return asText(value)
        .normalize('NFKD')
        .replace(/[^A-Za-z0-9_.-]+/g, '_')
        .replace(/^_+|_+$/g, '');
  }
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}
