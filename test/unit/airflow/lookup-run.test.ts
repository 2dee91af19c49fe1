/**
 * The experimental API's run look-up: the stable API's GET of the one run
 * when the server has it (Airflow 2), else the DAG's run list (Airflow
 * 1.10), remembered per environment. A small HTTP server plays each kind.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {lookupDagRun} from '../../../src/airflow/lookup-run';
import {buildTargets} from '../../../src/airflow/targets';
import {compileConfig} from '../../../src/config/compile';

async function serve(
  answer: (path: string) => {status: number; type: string; body: string},
): Promise<{url: string; paths: string[]; server: Server}> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url!);
    const a = answer(req.url!);
    res.writeHead(a.status, {'Content-Type': a.type}).end(a.body);
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const {port} = server.address() as AddressInfo;
  return {url: `http://127.0.0.1:${port}`, paths, server};
}

function target(url: string) {
  const config = compileConfig(
    {
      environments: {e: {url, api: 'experimental', auth: 'none'}},
      routes: [{name: 'r', match: {type: 'storage'}, dag: 'd'}],
    },
    'test',
  );
  return buildTargets(config, {}).get('e')!;
}

const LIST = '/api/experimental/dags/d/dag_runs';
const ONE = (id: string) => `/api/v1/dags/d/dagRuns/${id}`;

test('Airflow 2: the one run is asked through the stable API, found or not found, never the whole list', async () => {
  const s = await serve(path =>
    path === ONE('ours')
      ? {status: 200, type: 'application/json', body: '{"dag_run_id":"ours"}'}
      : {
          status: 404,
          type: 'application/problem+json',
          body: '{"detail":"DAGRun with DAG ID: \'d\' and DagRun ID: \'other\' not found","status":404,"title":"DAGRun not found"}',
        },
  );
  try {
    const t = target(s.url);
    assert.deepEqual(await lookupDagRun(t, {dagId: 'd', dagRunId: 'ours'}), {
      kind: 'found',
      path: ONE('ours'),
    });
    assert.deepEqual(await lookupDagRun(t, {dagId: 'd', dagRunId: 'other'}), {
      kind: 'absent',
      path: ONE('other'),
      status: 404,
    });
    assert.ok(!s.paths.includes(LIST));
  } finally {
    s.server.close();
  }
});

test('a fault on the stable API (503) is a failed look-up, retried, and the next look-up asks the stable API again', async () => {
  let calls = 0;
  const s = await serve(() =>
    calls++ === 0
      ? {status: 503, type: 'text/html', body: 'Service Unavailable'}
      : {status: 200, type: 'application/json', body: '{"dag_run_id":"ours"}'},
  );
  try {
    const t = target(s.url);
    assert.equal(
      (await lookupDagRun(t, {dagId: 'd', dagRunId: 'ours'})).kind,
      'failed',
    );
    assert.equal(
      (await lookupDagRun(t, {dagId: 'd', dagRunId: 'ours'})).kind,
      'found',
    );
    assert.deepEqual(s.paths, [ONE('ours'), ONE('ours')]);
  } finally {
    s.server.close();
  }
});

test('Airflow 1.10 (no stable API, an HTML 404): the run list is searched, and the server is not asked the stable API again', async () => {
  const s = await serve(path =>
    path === LIST
      ? {
          status: 200,
          type: 'application/json',
          body: JSON.stringify([{run_id: 'a'}, {run_id: 'ours'}]),
        }
      : {status: 404, type: 'text/html', body: '<h1>Not Found</h1>'},
  );
  try {
    const t = target(s.url);
    assert.equal(
      (await lookupDagRun(t, {dagId: 'd', dagRunId: 'ours'})).kind,
      'found',
    );
    assert.deepEqual(await lookupDagRun(t, {dagId: 'd', dagRunId: 'gone'}), {
      kind: 'absent',
      path: LIST,
      status: 200,
    });
    assert.deepEqual(s.paths, [ONE('ours'), LIST, LIST]);
  } finally {
    s.server.close();
  }
});
