#!/usr/bin/env node
/**
 * dag-launcher CLI.
 *
 *   dag-launcher validate <config>                 exit 0, or 1 listing every problem
 *   dag-launcher explain --config <file> <event>   dry run: the triggers an event would cause, as JSON
 *   dag-launcher replay gs://bucket/prefix [--dry-run] [--mark] [--config <file>]
 *                                                  re-submit dead letters; one JSON line per record, a summary last
 *   dag-launcher backfill gs://bucket[/prefix] ...   fire the objects that landed (see backfill-command.ts)
 *   dag-launcher trace ...                           an object or message: routes, run ids, runs in Airflow
 */
import {readFileSync} from 'node:fs';
import {loadConfig, loadConfigFile} from '../config/load';
import {ConfigError} from '../core/errors';
import {explainEvent} from './explain';
import {buildTargets} from '../airflow/targets';
import {replayDeadLetters} from './replay';
import {readDelivery} from '../events/delivery';
import {createProgress} from './progress';
import {launcherJsonSchema} from '../config/json-schema';
import {traceEvent, traceExitCode, type TraceSubject} from './trace';
import {
  BACKFILL_USAGE,
  parseBackfillArgs,
  runBackfill,
} from './backfill-command';

const USAGE = `usage:
  dag-launcher validate <config.yaml|json>
  dag-launcher schema      the config's JSON Schema (launcher.schema.json), for editors
  dag-launcher explain --config <config.yaml|json> [--path /projects/P/topics/T] <event.json>
      <event.json>: a structured CloudEvent, a gen1 {data, context} body or a
      Pub/Sub push body {message, subscription}; --path: the push endpoint's path
  dag-launcher replay gs://bucket/prefix [--dry-run] [--mark] [--config <config.yaml|json>]
      re-submits dead-lettered events with the same dag_run_ids; deletes (or with
      --mark, marks) the records that now end in a run; --dry-run sends nothing.
      Without --config the function's own (LAUNCHER_CONFIG, AIRFLOW_URL...) is used.
      Exit 0 when every record was replayed, 3 when some were kept.
${BACKFILL_USAGE}
  dag-launcher trace [--config <file>] gs://BUCKET/NAME[#GENERATION]
  dag-launcher trace [--config <file>] --topic projects/P/topics/T --message-id ID
  dag-launcher trace [--config <file>] [--path /projects/P/topics/T] --event <event.json>
      which routes match (and for the others the first condition that fails),
      the dag_run_id each uses, and that run in Airflow (state, start, end).
      Without #GENERATION the live object. Exit 0 when every matching route
      has its run, 3 otherwise.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate': {
        if (rest.length !== 1) return usage();
        // The function's own check; every pattern's RE2 program compiled too (a second check on re2-screen.ts).
        const config = loadConfigFile(rest[0]!, {allPatterns: true});
        process.stdout.write(
          `${rest[0]}: valid (${config.environments.size} environment(s), ${config.routes.length} route(s))\n`,
        );
        return 0;
      }
      case 'explain': {
        const {config: configPath, positional, path} = options(rest);
        if (!configPath || positional.length !== 1) return usage();
        const config = loadConfigFile(configPath);
        let event: unknown;
        try {
          event = JSON.parse(readFileSync(positional[0]!, 'utf8'));
        } catch (err) {
          process.stderr.write(
            `cannot read event ${positional[0]}: ${(err as Error).message}\n`,
          );
          return 2;
        }
        // Read as the function reads a request with that body and path (express's req.path: no query string).
        event = readDelivery({
          body: event,
          headers: {},
          path: path?.replace(/[?#].*$/s, ''),
        });
        process.stdout.write(
          `${JSON.stringify(explainEvent(config, event), null, 2)}\n`,
        );
        return 0;
      }
      case 'replay': {
        const {config: configPath, positional, flags} = options(rest);
        if (positional.length !== 1 || !positional[0]!.startsWith('gs://'))
          return usage();
        const unknown = [...flags].filter(
          f => f !== '--dry-run' && f !== '--mark',
        );
        if (unknown.length) return usage();
        const config = configPath
          ? loadConfigFile(configPath)
          : loadConfig(process.env);
        const progress = createProgress({label: 'replay'});
        const started = performance.now();
        const replay = replayDeadLetters({
          uri: positional[0]!,
          config,
          targets: buildTargets(config),
          dryRun: flags.has('--dry-run'),
          mark: flags.has('--mark'),
          onListed: n => progress.total(n, true),
        });
        for (;;) {
          const next = await replay.next();
          if (next.done) {
            const elapsedMs = Math.round(performance.now() - started);
            progress.finish({
              ...next.value,
              elapsedMs,
              recordsPerSecond:
                Math.round(
                  (next.value.records / Math.max(elapsedMs, 1)) * 10_000,
                ) / 10,
            });
            return next.value.kept > 0 ? 3 : 0;
          }
          const r = next.value;
          progress.item(
            r,
            r.action !== 'kept',
            r.action === 'kept'
              ? `${r.record}: kept (${r.reason ?? r.routes.map(x => `${x.route}: ${x.outcome} ${x.reason}`).join('; ')})`
              : undefined,
          );
        }
      }
      case 'backfill': {
        const {config: configPath, rest: args} = configOption(rest);
        const parsed = parseBackfillArgs(args);
        if (typeof parsed === 'string') {
          process.stderr.write(`${parsed}\n`);
          return usage();
        }
        const config = configPath
          ? loadConfigFile(configPath)
          : loadConfig(process.env);
        return await runBackfill(config, parsed);
      }
      case 'trace': {
        const {config: configPath, rest: args} = configOption(rest);
        const subject = traceSubject(args);
        if (typeof subject === 'string') {
          process.stderr.write(`${subject}\n`);
          return usage();
        }
        const config = configPath
          ? loadConfigFile(configPath)
          : loadConfig(process.env);
        const trace = await traceEvent({
          subject,
          config,
          targets: buildTargets(config),
        });
        process.stdout.write(`${JSON.stringify(trace, null, 2)}\n`);
        return traceExitCode(trace);
      }
      case 'schema':
        process.stdout.write(
          `${JSON.stringify(launcherJsonSchema(), null, 2)}\n`,
        );
        return 0;
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        return usage();
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      // Every problem at once (shape and meaning), so one edit fixes them all.
      const n = err.problems.length;
      process.stderr.write(
        `${err.message}\n${n} problem${n === 1 ? '' : 's'}\n`,
      );
      return 1;
    }
    throw err;
  }
}

function options(args: string[]): {
  config?: string;
  path?: string;
  positional: string[];
  flags: Set<string>;
} {
  const positional: string[] = [];
  const flags = new Set<string>();
  let config: string | undefined;
  let path: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--config' || a === '-c') config = args[++i];
    else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else if (a === '--path') path = args[++i];
    else if (a.startsWith('--path=')) path = a.slice('--path='.length);
    else if (a.startsWith('--')) flags.add(a);
    else positional.push(a);
  }
  return {config, path, positional, flags};
}

/** What `trace` is asked about, or the problem with its arguments. */
function traceSubject(args: string[]): TraceSubject | string {
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    if (i >= 0) return args[i + 1];
    return args.find(a => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
  };
  const topic = value('--topic');
  const messageId = value('--message-id');
  const eventFile = value('--event');
  if (topic || messageId) {
    if (!topic || !messageId)
      return 'trace needs both --topic and --message-id';
    return {topic, messageId};
  }
  if (eventFile) {
    let body: unknown;
    try {
      body = JSON.parse(readFileSync(eventFile, 'utf8'));
    } catch (err) {
      return `cannot read event ${eventFile}: ${(err as Error).message}`;
    }
    return {
      delivered: readDelivery({body, headers: {}, path: value('--path')}),
    };
  }
  const object = args.find(a => a.startsWith('gs://'));
  return object
    ? {object}
    : 'trace expects gs://BUCKET/NAME, --topic/--message-id or --event';
}

/** --config (or -c) taken out; the rest left for the command. */
function configOption(args: string[]): {config?: string; rest: string[]} {
  const rest: string[] = [];
  let config: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--config' || a === '-c') config = args[++i];
    else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else rest.push(a);
  }
  return {config, rest};
}

function usage(): number {
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  code => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`dag-launcher: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
