/**
 * Build step (`npm run gcp-build`): loads what a cold start loads, so V8's
 * compile cache (see compile-cache.ts) holds their compiled code when the
 * function is deployed. Loads modules only: no config, no network.
 */
import {COMPILE_CACHE_DIR} from './compile-cache';
import * as nodeModule from 'node:module';

require('../function');
require('google-auth-library'); // loaded by the first token fetch off Cloud Run, and by IAP and Composer lookups
require('yaml'); // loaded at cold start when the config is YAML (launcher.yaml)
require('re2js'); // loaded by the first glob or regex that needs RE2 (src/patterns/linear-regex.ts)
(nodeModule as {flushCompileCache?: () => void}).flushCompileCache?.();
process.stdout.write(`compile cache warmed in ${COMPILE_CACHE_DIR}\n`);
