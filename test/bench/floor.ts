/**
 * The floor the benchmark compares the launcher with: functions-framework
 * serving a CloudEvent handler that does nothing but one POST to Airflow,
 * with a static token over keep-alive (Node's fetch). No config, no routing,
 * no logging, no token fetch.
 */
import * as functions from '@google-cloud/functions-framework';

const url = process.env.FLOOR_URL ?? '';
const headers = { Authorization: `Bearer ${process.env.FLOOR_TOKEN ?? 'static'}`, 'Content-Type': 'application/json' };

functions.cloudEvent('launchDag', async (event: functions.CloudEvent<unknown>) => {
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ dag_run_id: event.id, logical_date: null, conf: {} }) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`Airflow answered ${res.status}`);
});
