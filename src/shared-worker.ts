/** The package entry `shardedmap/shared-worker`: the SharedWorker script
 *  of the browser cache (browser/worker.ts). */
import './browser/worker.js';
