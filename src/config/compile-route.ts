/**
 * Compiling one route: its environment, match (compile-match.ts), DAG (fixed
 * or templated within an allowlist), conf and note, and the Airflow-native
 * keys (compile-native.ts), each problem with its path.
 */
import {
  compileTemplate,
  hasTemplate,
  type Template,
} from '../patterns/template';
import {CONTEXT_ROOTS} from '../events/context';
import type {RawRoute} from './schema';
import {eventKindProblems, topicProblems} from './route-rules';
import {compileNative} from './compile-native';
import {
  compileMatch,
  type CompileOptions,
  type SalvagedMatch,
} from './compile-match';
import {
  DAG_ID,
  type Environment,
  type Route,
  type ValueTemplate,
} from './types';

export type {CompileOptions, SalvagedMatch};

/** A route as far as its shape is right (salvage.ts): a malformed field is absent. */
export type SalvagedRoute = Partial<Omit<RawRoute, 'match' | 'allowedDags'>> & {
  match?: SalvagedMatch;
  allowedDags?: (string | undefined)[];
};

export function compileRoute(
  r: SalvagedRoute,
  at: string,
  envs: Map<string, Environment>,
  problems: string[],
  options: CompileOptions = {},
): Route | undefined {
  const before = problems.length;
  let environment = r.environment;
  if (environment === undefined) {
    if (envs.size === 1) environment = [...envs.keys()][0]!;
    // With none, the config-wide 'at least one environment' problem says it.
    else if (envs.size > 1)
      problems.push(
        `${at}.environment: required when more than one environment is configured; name one of ${[...envs.keys()].join(', ')}`,
      );
  } else if (!envs.has(environment)) {
    problems.push(
      `${at}.environment: unknown environment '${environment}'; use one of ${[...envs.keys()].join(', ') || '(none configured)'}`,
    );
  }

  const {
    match: m,
    types,
    conditions,
  } = compileMatch(r.match, at, problems, options);

  const {dag, allowedDags} = compileDag(r, at, problems);
  const conf =
    r.conf === undefined
      ? undefined
      : compileValue(r.conf, `${at}.conf`, problems);
  if (
    conf &&
    conf.kind !== 'object' &&
    !(conf.kind === 'template' && conf.template.kind === 'value')
  ) {
    problems.push(
      `${at}.conf: must be an object (or a single {{ }} expression giving one); wrap the value, e.g. conf: {value: ...}`,
    );
  }
  const note =
    r.note === undefined ? undefined : compile(r.note, `${at}.note`, problems);
  const native = compileNative(r, at, problems, {
    template: (source, path) => compile(source, path, problems),
    value: (value, path) => compileValue(value, path, problems),
  });

  if (r.asset && environment !== undefined)
    problems.push(...assetApiProblems(envs.get(environment), at));
  if (m.topic !== undefined)
    problems.push(...topicProblems(m.topic, `${at}.match.topic`));
  problems.push(
    ...eventKindProblems({at, types, match: m, dag, conf, note, ...native}),
  );

  if (
    problems.length > before ||
    (!dag && !native.asset) ||
    r.name === undefined
  )
    return undefined;
  return {
    name: r.name,
    environment: environment!,
    types,
    conditions,
    dag,
    allowedDags,
    conf,
    note,
    ...native,
  };
}

function compileDag(
  r: SalvagedRoute,
  at: string,
  problems: string[],
): {dag?: Template; allowedDags?: Set<string>} {
  const allowedDags = r.allowedDags
    ? new Set(r.allowedDags.filter(d => d !== undefined))
    : undefined;
  for (const d of allowedDags ?? [])
    if (!DAG_ID.test(d)) problems.push(`${at}.allowedDags: ${dagIdMistake(d)}`);
  if (r.dag === undefined) return {allowedDags};
  const dag = compile(r.dag, `${at}.dag`, problems);
  if (hasTemplate(r.dag)) {
    if (!allowedDags)
      problems.push(
        `${at}.allowedDags: required because dag '${r.dag}' comes from the event; list the DAGs it may name`,
      );
  } else {
    if (!DAG_ID.test(r.dag)) problems.push(`${at}.dag: ${dagIdMistake(r.dag)}`);
    if (allowedDags && !allowedDags.has(r.dag))
      problems.push(
        `${at}.dag: '${r.dag}' is not in allowedDags; add it there, or remove allowedDags`,
      );
  }
  return {dag, allowedDags};
}

/**
 * Asset events are created through Airflow's REST API (v1 on Airflow 2.9+,
 * v2 on Airflow 3). `auto` resolves to one of them at run time (an Airflow 2
 * older than 2.9 is then a rejected event saying so: airflow/asset-events.ts).
 */
function assetApiProblems(env: Environment | undefined, at: string): string[] {
  if (env?.api === 'experimental')
    return [
      `${at}.asset: environment '${env.name}' uses api: experimental (Airflow 1.10's API), which cannot create asset events; use api: v1 (Airflow 2.9+), v2 (Airflow 3) or auto for that environment, or trigger the DAGs with dag: routes instead`,
    ];
  if (env?.api === 'composer-cli')
    return [
      `${at}.asset: environment '${env.name}' uses api: composer-cli, and the Airflow CLI it runs has no command that creates an asset event; trigger the DAGs scheduled on the asset with dag: routes instead (one route per DAG), or use api: v1 (Airflow 2.9+), v2 (Airflow 3) or auto where the web server is reachable`,
    ];
  return [];
}

function dagIdMistake(id: string): string {
  if (id === '.' || id === '..')
    return `'${id}' cannot be a dag_id: in the API's URL (/dags/${id}/dagRuns) it is a path segment that names another path; rename the DAG`;
  return `'${id}' is not a valid Airflow dag_id; use 1-250 characters of A-Z a-z 0-9 _ . -`;
}

function compile(
  source: string,
  path: string,
  problems: string[],
): Template | undefined {
  try {
    return compileTemplate(source, CONTEXT_ROOTS);
  } catch (err) {
    problems.push(`${path}: ${(err as Error).message}`);
    return undefined;
  }
}

function compileValue(
  value: unknown,
  path: string,
  problems: string[],
): ValueTemplate {
  if (typeof value === 'string') {
    const template = compile(value, path, problems);
    return template ? {kind: 'template', template} : {kind: 'constant', value};
  }
  if (Array.isArray(value))
    return {
      kind: 'array',
      items: value.map((v, i) => compileValue(v, `${path}.${i}`, problems)),
    };
  if (value !== null && typeof value === 'object') {
    return {
      kind: 'object',
      entries: Object.entries(value).map(([k, v]) => [
        k,
        compileValue(v, `${path}.${k}`, problems),
      ]),
    };
  }
  return {kind: 'constant', value};
}
