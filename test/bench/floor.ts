/**
 * The floor the benchmark compares the launcher with: functions-framework
 * serving a CloudEvent handler that does nothing but one POST to Airflow,
 * with a static token over keep-alive. No config, no routing, no logging,
 * no token fetch.
 *
 * FLOOR_CLIENT picks the HTTP client: `http` (default; node:http with a
 * keep-alive agent, the launcher's own client, so the ratios show what the
 * launcher adds and nothing else) or `fetch` (Node's fetch, what the samples
 * users start from write; reported for reference).
 */
import * as functions from '@google-cloud/functions-framework';
import {Agent, request} from 'node:http';

const url = process.env.FLOOR_URL ?? '';
const headers = {
  Authorization: `Bearer ${process.env.FLOOR_TOKEN ?? 'static'}`,
  'Content-Type': 'application/json',
};
const agent = new Agent({keepAlive: true});

function postHttp(body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {...headers, 'Content-Length': Buffer.byteLength(body)},
        agent,
      },
      res => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function postFetch(body: string): Promise<number> {
  const res = await fetch(url, {method: 'POST', headers, body});
  await res.arrayBuffer();
  return res.status;
}

const post = process.env.FLOOR_CLIENT === 'fetch' ? postFetch : postHttp;

functions.cloudEvent(
  'launchDag',
  async (event: functions.CloudEvent<unknown>) => {
    const status = await post(
      JSON.stringify({dag_run_id: event.id, logical_date: null, conf: {}}),
    );
    if (status < 200 || status >= 300)
      throw new Error(`Airflow answered ${status}`);
  },
);
