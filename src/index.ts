/**
 * Entry point: registers `launchDag` with functions-framework. Deploy with
 * `--entry-point=launchDag`. An HTTP function reading CloudEvents (binary and
 * structured), gen1 bodies and raw Pub/Sub pushes itself: see http-entry.ts.
 */
import './startup/compile-cache'; // first: every module after it is read from the build's compile cache
import * as functions from '@google-cloud/functions-framework';
import {createLauncher} from './function';
import {serveDeliveries} from './http-entry';

export const launchDag = createLauncher();
functions.http('launchDag', serveDeliveries(launchDag));
