/**
 * Entry point: registers the `launchDag` CloudEvent function with
 * functions-framework. Deploy with `--entry-point=launchDag`.
 */
import './startup/compile-cache'; // first: every module after it is read from the build's compile cache
import * as functions from '@google-cloud/functions-framework';
import {createLauncher} from './function';
import {admitLargeBodies} from './startup/admission';

admitLargeBodies(); // before the framework's server reads a body: a burst of large messages holds in memory

export const launchDag = createLauncher();
functions.cloudEvent('launchDag', launchDag);
