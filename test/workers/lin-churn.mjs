// Churns keys other than the checked ones until `stop`, so that the shards
// the checked keys live in keep changing under them: generations of many
// new keys (tables grow and are rebuilt), with deletes among them
// (tombstones) and overwrites by longer strings (out-of-line entries move,
// heaps compact), then the generation deleted (tables shrink). Reports its
// operations and the rebuilds it made.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';

// 5,000 keys a generation: tens of rebuilds each (growth, then shrinking
// as it is deleted), several generations while the checked workers run.
const { handle, gate, stop, generation = 5_000 } = workerData;
const map = await ShardedMap.attach(handle);
let x = 0x2545f491;
const rnd = () => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return (x >>> 0) / 2 ** 32;
};
const valueFor = (i, u) => (i % 3 === 0 ? i : i % 3 === 1 ? `s${i}` : 'c'.repeat(30 + Math.floor(u * 300)));
let ops = 0;
let generations = 0;
let error;

parentPort.postMessage({ ready: true });
Atomics.wait(gate, 0, 0);
try {
  outer: for (let gen = 0; ; gen++) {
    for (let i = 0; i < generation; i++, ops++) {
      if ((ops & 255) === 0 && Atomics.load(stop, 0)) break outer;
      map.store(`churn:${gen}:${i}`, valueFor(i, rnd()));
      const u = rnd();
      if (u < 0.2) map.delete(`churn:${gen}:${Math.floor(rnd() * i)}`);
      else if (u < 0.35) map.store(`churn:${gen}:${Math.floor(rnd() * i)}`, 'o'.repeat(40 + Math.floor(rnd() * 600)));
    }
    for (let i = 0; i < generation; i++, ops++) {
      if ((ops & 255) === 0 && Atomics.load(stop, 0)) break outer;
      map.delete(`churn:${gen}:${i}`);
    }
    generations++;
  }
} catch (e) {
  error = `${e.code} ${e.message}`;
}
const { resizes } = map.stats().instance;
map.close();
parentPort.postMessage({ ops, generations, resizes, error });
