#!/usr/bin/env node
/**
 * `npm run worker`: a worker host. The cluster primary supervises the worker processes and does the
 * host's housekeeping; each child runs BullMQ workers and a thread pool (worker-process.ts). See index.ts.
 */
import { runWorker } from './index';

runWorker();
