#!/usr/bin/env node
/**
 * dag-launcher CLI.
 *
 *   dag-launcher validate <config>                 exit 0, or 1 listing every problem
 *   dag-launcher explain --config <file> <event>   dry run: the triggers an event would cause, as JSON
 */
import { readFileSync } from 'node:fs';
import { loadConfigFile } from './config';
import { ConfigError } from './errors';
import { explainEvent } from './explain';

const USAGE = `usage:
  dag-launcher validate <config.yaml|json>
  dag-launcher explain --config <config.yaml|json> <event.json>
      <event.json>: a structured CloudEvent or a gen1 {data, context} body`;

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate': {
        if (rest.length !== 1) return usage();
        const config = loadConfigFile(rest[0]!);
        process.stdout.write(
          `${rest[0]}: valid (${config.environments.size} environment(s), ${config.routes.length} route(s))\n`,
        );
        return 0;
      }
      case 'explain': {
        const { config: configPath, positional } = options(rest);
        if (!configPath || positional.length !== 1) return usage();
        const config = loadConfigFile(configPath);
        let event: unknown;
        try {
          event = JSON.parse(readFileSync(positional[0]!, 'utf8'));
        } catch (err) {
          process.stderr.write(`cannot read event ${positional[0]}: ${(err as Error).message}\n`);
          return 2;
        }
        process.stdout.write(`${JSON.stringify(explainEvent(config, event), null, 2)}\n`);
        return 0;
      }
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
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function options(args: string[]): { config?: string; positional: string[] } {
  const positional: string[] = [];
  let config: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--config' || a === '-c') config = args[++i];
    else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else positional.push(a);
  }
  return { config, positional };
}

function usage(): number {
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
