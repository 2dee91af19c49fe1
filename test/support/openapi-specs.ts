/**
 * Apache Airflow's own OpenAPI specs, read from inside the Airflow packages
 * that test/airflow/provision.sh installs: the stand-in checks requests
 * against the exact API of the Airflow versions the real tests run, and a
 * clone needs nothing beside it.
 */
import {existsSync, readdirSync} from 'node:fs';
import {homedir} from 'node:os';
import {join} from 'node:path';

const CACHE =
  process.env.DAG_LAUNCHER_CACHE ?? join(homedir(), '.cache', 'dag-launcher');

/** Where each API's spec sits inside the airflow package. */
const SPEC: Record<'v1' | 'v2', {major: 2 | 3; path: string[]}> = {
  v1: {major: 2, path: ['airflow', 'api_connexion', 'openapi', 'v1.yaml']},
  v2: {
    major: 3,
    path: [
      'airflow',
      'api_fastapi',
      'core_api',
      'openapi',
      'v2-rest-api-generated.yaml',
    ],
  },
};

/** The spec file of `/api/v1` (Airflow 2) or `/api/v2` (Airflow 3) in the provisioned virtualenv. */
export function airflowSpecPath(api: 'v1' | 'v2'): string {
  const {major, path} = SPEC[api];
  const lib = join(CACHE, `airflow-${major}`, 'lib');
  const pythons = existsSync(lib)
    ? readdirSync(lib).filter(d => d.startsWith('python'))
    : [];
  for (const python of pythons) {
    const file = join(lib, python, 'site-packages', ...path);
    if (existsSync(file)) return file;
  }
  throw new Error(
    `Airflow ${major}'s OpenAPI spec not found under ${lib}: run \`bash test/airflow/provision.sh ${major}\` (npm test does it)`,
  );
}
