/** A worker thread's entry: verifies one byte range of an audit export (see verify-parallel.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { verifyRange, type RangeTask } from './verify-parallel.js';

parentPort!.postMessage(await verifyRange(workerData as RangeTask));
