// Reads the stale-writer's keys and counts reads that returned a value older
// than one already committed when the read began: a stale read. Mode
// 'cache': single loads and batch reads through the decoded-value cache;
// mode 'repeat': single loads, each key REPEAT times in a row, so that the
// read memo (src/core/memo.ts) answers many (memoHits says how many);
// mode 'memo' (the control): a reader that remembers the first value it saw
// of each key, which the detector must catch.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';

const { handle, committed, stop, keys, mode, progress } = workerData;
const map = await ShardedMap.attach(handle);
const memo = new Map();
const seqOf = (v) => (typeof v === 'string' ? Number(v.slice(0, v.indexOf(':'))) : v?.seq ?? 0);
const REPEAT = 16;
let reads = 0;
let stale = 0;
let hits = 0;
while (!Atomics.load(stop, 0)) {
  const k = (mode === 'repeat' ? Math.floor(reads / REPEAT) : reads) % keys;
  const before = Atomics.load(committed, k);
  let v;
  if (mode === 'memo') {
    if (!memo.has(k)) memo.set(k, map.load(`K${k}`));
    v = memo.get(k);
  } else {
    v = reads & 1 && mode === 'cache' ? map.getMany([`K${k}`])[0] : map.load(`K${k}`);
  }
  if (seqOf(v) < before) stale++;
  reads++;
  progress[1] = reads;
}
hits = map.stats().instance.hits;
const memoHits = internalsOf(map).memoHits();
map.close();
parentPort.postMessage({ reads, stale, hits, memoHits });
