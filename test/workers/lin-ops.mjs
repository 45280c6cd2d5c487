// Runs random operations on a few shared keys and records each one with its
// result and two stamps of the shared clock, taken right before the call
// and right after it returns (Atomics.add: one total order for all
// workers). With `stale` > 0 it is the checker's control: that fraction of
// its loads answer, without calling the map, the value its last real load
// of the key returned (a stale private copy). With `readOnly` it only loads
// and asks has(): a control that reads only can be caught only against the
// other workers' writes, through the clock; `pauseMs` spreads its reads
// over the writers' run and `until` (a flag) ends it with them.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { VALUES, RECORD, K, encodeValue, decodeValue, keyName } from './lin-history.mjs';

const { handle, clock, gate, seed, keys, maxOps, ms, stale = 0, readOnly = false, pauseMs = 0, until } = workerData;
const map = await ShardedMap.attach(handle);
let x = (seed * 0x9e3779b1) | 1;
const rnd = () => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return (x >>> 0) / 2 ** 32;
};
const pick = (n) => Math.floor(rnd() * n);
const names = Array.from({ length: keys }, (_, k) => keyName(k));
const values = Array.from({ length: VALUES }, (_, id) => encodeValue(id));
/** The last value id this worker saw of each key (-1 absent): what a
 *  compareAndSwap expects more often than not, so that it succeeds often. */
const seen = new Int32Array(keys).fill(-1);
/** The control's private copies: its last real load of each key. */
const copy = new Int32Array(keys).fill(-2);
const records = new Int32Array(maxOps * RECORD);
let count = 0;
let staleAnswers = 0;
let error;

const stamp = () => Atomics.add(clock, 0, 1);
const nap = new Int32Array(new SharedArrayBuffer(4));
const guess = (k) => (rnd() < 0.6 && seen[k] >= 0 ? seen[k] : pick(VALUES));

parentPort.postMessage({ ready: true });
Atomics.wait(gate, 0, 0); // start together, so that the workers really overlap
try {
  const end = Date.now() + ms;
  for (let i = 0; i < maxOps; i++) {
    if ((i & 63) === 0 && Date.now() > end) break;
    if (until !== undefined && Atomics.load(until, 0) !== 0) break;
    if (pauseMs > 0) Atomics.wait(nap, 0, 0, pauseMs);
    const k = pick(keys);
    const name = names[k];
    const u = readOnly ? rnd() * 0.32 : rnd();
    let kind;
    let a = -1;
    let b = -1;
    let out = -1;
    let flag = 0;
    let inv;
    let res;
    if (u < 0.26) {
      kind = K.load;
      if (stale > 0 && copy[k] !== -2 && rnd() < stale) {
        inv = stamp();
        out = copy[k];
        res = stamp();
        staleAnswers++;
      } else {
        let v;
        const how = i % 3;
        inv = stamp();
        if (how === 0) v = map.load(name);
        else if (how === 1) v = map.get(name);
        else v = map.getMany([name])[0];
        res = stamp();
        out = decodeValue(v);
        copy[k] = out;
      }
    } else if (u < 0.32) {
      kind = K.has;
      inv = stamp();
      const r = map.has(name);
      res = stamp();
      flag = r ? 1 : 0;
    } else if (u < 0.42) {
      kind = K.store;
      a = pick(VALUES);
      const v = values[a];
      inv = stamp();
      if (i & 1) map.store(name, v);
      else map.set(name, v);
      res = stamp();
    } else if (u < 0.47) {
      kind = K.delete;
      inv = stamp();
      const r = map.delete(name);
      res = stamp();
      flag = r ? 1 : 0;
    } else if (u < 0.63) {
      kind = K.compareAndSwap;
      a = guess(k);
      b = pick(VALUES);
      const e = values[a];
      const n = values[b];
      inv = stamp();
      const r = map.compareAndSwap(name, e, n);
      res = stamp();
      flag = r ? 1 : 0;
    } else if (u < 0.67) {
      kind = K.compareAndDelete;
      a = guess(k);
      const e = values[a];
      inv = stamp();
      const r = map.compareAndDelete(name, e);
      res = stamp();
      flag = r ? 1 : 0;
    } else if (u < 0.77) {
      kind = K.swap;
      a = pick(VALUES);
      const v = values[a];
      inv = stamp();
      const r = map.swap(name, v);
      res = stamp();
      out = decodeValue(r.previous);
      flag = r.loaded ? 1 : 0;
    } else if (u < 0.89) {
      kind = K.loadOrStore;
      a = pick(VALUES);
      const v = values[a];
      inv = stamp();
      const r = map.loadOrStore(name, v);
      res = stamp();
      out = decodeValue(r.value);
      flag = r.loaded ? 1 : 0;
    } else {
      kind = K.loadAndDelete;
      inv = stamp();
      const r = map.loadAndDelete(name);
      res = stamp();
      out = decodeValue(r.value);
      flag = r.loaded ? 1 : 0;
    }
    if (kind === K.store || kind === K.swap) seen[k] = a;
    else if (kind === K.compareAndSwap && flag === 1) seen[k] = b;
    else if (out >= 0 && kind !== K.loadAndDelete) seen[k] = out;
    records.set([kind, k, a, b, out, flag, inv, res], count * RECORD);
    count++;
  }
} catch (e) {
  error = `${e.code} ${e.message}`;
}
map.close();
parentPort.postMessage({ records, count, staleAnswers, error }, [records.buffer]);
