/**
 * The worker of `loadConfigFileOffThread`: reads, parses and validates the file named in its
 * `workerData`, posts the outcome (plain data) and exits, taking the parser's garbage with it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkConfigFile } from './index.js';

const { file } = workerData as { readonly file: string };
parentPort?.postMessage(checkConfigFile(file, process.env));
