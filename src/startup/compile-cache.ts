/**
 * V8's compile cache (Node 22.1+): the modules a cold start loads were
 * compiled once at build time (`npm run gcp-build` runs warm-compile-cache.js
 * into dist/.compile-cache), so an instance reads their code cache instead
 * of compiling them again. Imported first by index.ts. A missing, stale or
 * read-only cache only costs the compile it would have saved.
 * NODE_COMPILE_CACHE overrides the directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
import * as nodeModule from 'node:module';
import {join} from 'node:path';

export const COMPILE_CACHE_DIR =
  process.env.NODE_COMPILE_CACHE ??
  join(__dirname, '..', '..', '.compile-cache');

const enable = (nodeModule as {enableCompileCache?: (dir?: string) => unknown})
  .enableCompileCache;
if (enable && !process.env.NODE_DISABLE_COMPILE_CACHE)
  enable(COMPILE_CACHE_DIR);
