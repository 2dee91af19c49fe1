/**
 * Entry point: registers the `launchDag` function with functions-framework.
 * Deploy with `--entry-point=launchDag`. Registered as an HTTP function that
 * reads CloudEvents, gen1 bodies and raw Pub/Sub pushes itself
 * (events/delivery.ts says why); Eventarc delivers to it
 * exactly as to a CloudEvent function.
 */
import './startup/compile-cache'; // first: every module after it is read from the build's compile cache
import * as functions from '@google-cloud/functions-framework';
import {createLauncher} from './function';
import {deliveryEndpoint} from './endpoint';
import {createLogger} from './logging/logger';
import {admitLargeBodies} from './startup/admission';

admitLargeBodies(); // before the framework's server reads a body: a burst of large messages holds in memory

const logger = createLogger();
export const launchDag = createLauncher(process.env, logger);
functions.http('launchDag', deliveryEndpoint(launchDag, logger));
