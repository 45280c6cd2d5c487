// Dies while adding a shape: takes the record area's lock with its owner
// id, writes half an entry past the published end of the log, and waits to
// be terminated.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { internalsOf, codes } from 'shardedmap/internals';

const map = await ShardedMap.attach(workerData.handle);
const { core } = internalsOf(map);
const area = core.recordsAddress();
const i32 = new Int32Array(workerData.handle.memory.buffer);
const u8 = new Uint8Array(workerData.handle.memory.buffer);
if (Atomics.compareExchange(i32, (area + codes.RECORDS_LOCK) >>> 2, 0, map.owner) !== 0) throw new Error('lock taken');
const used = Atomics.load(i32, (area + codes.RECORDS_USED) >>> 2);
const at = area + codes.RECORDS_LOG + used;
u8[at] = 200; // an entry of 200 bytes, of which 3 are written
u8[at + 1] = 0;
u8.set([0x93, 0xa1, 0x78], at + 2);
parentPort.postMessage({ owner: map.owner });
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
