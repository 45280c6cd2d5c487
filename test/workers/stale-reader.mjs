// Reads the stale-writer's keys and counts reads that returned a value older
// than one already committed when the read began: a stale read. Mode
// 'cache': single loads and batch reads through the decoded-value cache;
// mode 'memo' (the control): a reader that remembers the first value it saw
// of each key, which the detector must catch.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

const { handle, committed, stop, keys, mode, progress } = workerData;
const map = await ShardedMap.attach(handle);
const memo = new Map();
const seqOf = (v) => (typeof v === 'string' ? Number(v.slice(0, v.indexOf(':'))) : v?.seq ?? 0);
let reads = 0;
let stale = 0;
let hits = 0;
while (!Atomics.load(stop, 0)) {
  const k = reads % keys;
  const before = Atomics.load(committed, k);
  let v;
  if (mode === 'memo') {
    if (!memo.has(k)) memo.set(k, map.load(`K${k}`));
    v = memo.get(k);
  } else {
    v = reads & 1 ? map.getMany([`K${k}`])[0] : map.load(`K${k}`);
  }
  if (seqOf(v) < before) stale++;
  reads++;
  progress[1] = reads;
}
hits = map.stats().instance.hits;
map.close();
parentPort.postMessage({ reads, stale, hits });
