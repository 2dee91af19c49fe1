/**
 * Latency per trigger: `api: composer-cli` (executeAirflowCommand +
 * pollAirflowCommand, the real `airflow dags trigger` of the provisioned
 * Airflow 3 behind the Composer API stand-in) against `api: v2` (the REST
 * API of the same Airflow). The function's own `latencyMs` of each outcome
 * line, sequential events, medians and p90 side by side.
 *
 * Here the stand-in runs the CLI on this machine: what it shows is the CLI's
 * cost (a Python process that imports Airflow) against one REST call. On
 * Composer add the API's own overhead and the worker pod's scheduling of the
 * command (Google documents no figure; expect seconds, not milliseconds).
 *
 *   npm run build:test && node dist/test/bench/composer-cli-latency.js [N]
 */
import {RealAirflow} from '../support/airflow-server';
import {FunctionProcess} from '../support/function-process';
import {MetadataServerStandIn} from '../support/metadata-server';
import {ComposerApiStandIn} from '../support/composer-api';
import {storageCloudEvent, storageData} from '../support/events';

const N = Number(process.argv[2] ?? 10);
const NAME = 'projects/p/locations/europe-west1/environments/private';

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) =>
    s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return {median: at(0.5), p90: at(0.9), min: s[0]!, max: s.at(-1)!};
}

async function main() {
  const airflow = await RealAirflow.start(3, {dags: ['bench_dag']});
  const md = await new MetadataServerStandIn().start();
  const composer = await new ComposerApiStandIn(md).start();
  composer.addEnvironment(
    NAME,
    'http://127.0.0.1:9',
    'composer-3-airflow-3.1.7-build.2',
    airflow.cli(),
  );
  const fn = await FunctionProcess.start(
    {
      environments: {
        rest: {
          url: airflow.url,
          api: 'v2',
          auth: {mode: 'airflow-jwt', username: airflow.username},
        },
        cli: {composer: NAME, api: 'composer-cli', auth: 'google'},
      },
      requestTimeout: '50s',
      functionTimeout: '60s',
      routes: [
        {
          name: 'rest',
          environment: 'rest',
          match: {type: 'storage', name: {prefix: 'rest/'}},
          dag: 'bench_dag',
        },
        {
          name: 'cli',
          environment: 'cli',
          match: {type: 'storage', name: {prefix: 'cli/'}},
          dag: 'bench_dag',
        },
      ],
    },
    {
      AIRFLOW_PASSWORD: airflow.password,
      GCE_METADATA_HOST: md.host,
      GOOGLE_CLOUD_PROJECT: 'test-project',
      COMPOSER_API_ENDPOINT: composer.url,
    },
  );
  try {
    const result: Record<string, ReturnType<typeof stats>> = {};
    for (const route of ['rest', 'cli']) {
      // One warm-up (token, discovery, first connection), then N measured.
      const latencies: number[] = [];
      for (let i = 0; i <= N; i++) {
        const id = `${route}-${i}`;
        await fn.sendBinary(
          storageCloudEvent(storageData(`${route}/${i}.csv`), {
            id,
            time: new Date().toISOString(),
          }),
        );
        const line = fn.logs.find(l => l.eventId === id);
        if (line?.outcome !== 'triggered')
          throw new Error(`${id}: ${JSON.stringify(line)}`);
        if (i > 0) latencies.push(Number(line.latencyMs));
      }
      result[route === 'rest' ? 'v2' : 'composer-cli'] = stats(latencies);
    }
    console.log(
      JSON.stringify({
        triggers: N,
        v2Ms: result['v2'],
        composerCliMs: result['composer-cli'],
        ratioMedian:
          Math.round(
            (result['composer-cli']!.median / result['v2']!.median) * 10,
          ) / 10,
      }),
    );
  } finally {
    await fn.stop();
    await composer.stop();
    await md.stop();
    await airflow.stop();
  }
}

main().catch(err => {
  console.error(err);
  process.exitCode = 1;
});
