/**
 * Preloaded (`node --require`) into one benchmark run of the launcher: when
 * the process is stopped it writes the packages it had loaded, so the bench
 * can show what the first event did not need to load.
 */
import {writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

function dump(): void {
  const packages = new Set<string>();
  for (const file of Object.keys(require.cache)) {
    const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (m) packages.add(m[1]!);
    else if (file.endsWith('/dist/src/cli/main.js'))
      packages.add('dag-launcher/cli');
  }
  writeFileSync(
    join(tmpdir(), `dag-launcher-modules-${process.pid}.json`),
    JSON.stringify([...packages].sort()),
  );
}

process.once('SIGTERM', dump);
process.once('exit', dump);

/** SIGUSR2 (the process runs with --expose-gc): a full GC, then the memory figures, for a reading that is not GC timing. */
process.on('SIGUSR2', () => {
  (globalThis as {gc?: () => void}).gc?.();
  const m = process.memoryUsage();
  writeFileSync(
    join(tmpdir(), `dag-launcher-memory-${process.pid}.json`),
    JSON.stringify({rss: m.rss, heapUsed: m.heapUsed, at: Date.now()}),
  );
});
