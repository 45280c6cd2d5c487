// Value-path microbenchmarks, one thread, 1K keys (`key:<i>`), the same keys
// for every row: what a load or store of each kind of value costs through
// the plain API, next to Map.get and msgpackr's own pack/unpack of the same
// object, and the batch reads. The rows the value goals of BENCHMARKS.md
// are read from. Run alone: `node bench/values.mjs`.
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { ShardedMap } from 'shardedmap';
import { makeKeys } from './workloads.mjs';
import { median } from './run.mjs';

/** ns per call of fn(i) over n calls, median of 5 rounds (the first dropped). */
function time(fn, n) {
  const xs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    fn(n);
    xs.push(((performance.now() - t0) / n) * 1e6);
  }
  return median(xs.slice(1));
}

export const OBJECT = (i) => ({ id: i, name: `user ${i}`, score: i * 1.5, tags: ['alpha', 'beta', 'gamma'] });
export const STRING16 = (i) => `s${String(i).padStart(15, '-')}`; // 16 chars
export const STRING64 = (i) => `${'x'.repeat(60)}${String(i).padStart(4, '0')}`;
export const STRING4K = (i) => `${String(i).padStart(4, '0')}${'y'.repeat(4092)}`;

export async function valuesMicro() {
  const N = 1 << 19;
  const keys = makeKeys(1000);
  const M = 999; // i % 1000 without a division on the hot loop: i & 1023 < 1000
  const k = (i) => keys[i % 1000];
  const out = {};
  let sink = 0;
  const kinds = { number: (i) => i + 0.5, string16: STRING16, string64: STRING64, string4k: STRING4K, object: OBJECT };
  for (const [name, value] of Object.entries(kinds)) {
    const map = await ShardedMap.create();
    const jsMap = new Map();
    keys.forEach((key, i) => {
      map.store(key, value(i));
      jsMap.set(key, value(i));
    });
    const n = name === 'string4k' ? N >> 3 : N;
    out[`Map.get, ${name}`] = time((n) => {
      for (let i = 0; i < n; i++) sink += jsMap.get(k(i)) === undefined ? 0 : 1;
    }, n);
    out[`map.load, ${name}`] = time((n) => {
      for (let i = 0; i < n; i++) sink += map.load(k(i)) === undefined ? 0 : 1;
    }, n);
    if (name === 'number') {
      out['map.loadNumber'] = time((n) => {
        for (let i = 0; i < n; i++) sink += map.loadNumber(k(i));
      }, n);
      out['map.storeNumber'] = time((n) => {
        for (let i = 0; i < n; i++) map.storeNumber(k(i), i + 0.25);
      }, n);
    }
    out[`map.store, ${name}`] = time((n) => {
      for (let i = 0; i < n; i++) map.store(k(i), value(i % 1000));
    }, n >> 2);
    // Each read after a store: decoding what changed (no cache can help).
    out[`map.load after a store, ${name}`] = time((n) => {
      for (let i = 0; i < n; i++) {
        map.store(k(i), value(i % 1000));
        sink += map.load(k(i)) === undefined ? 0 : 1;
      }
    }, n >> 2) - out[`map.store, ${name}`];
    map.close();
  }
  const packr = new Packr({ useRecords: false, moreTypes: true });
  const objs = Array.from({ length: 1000 }, (_, i) => OBJECT(i));
  const packed = objs.map((o) => packr.pack(o));
  out['msgpackr pack alone, object'] = time((n) => {
    for (let i = 0; i < n; i++) sink += packr.pack(objs[i % 1000]).length;
  }, N >> 2);
  out['msgpackr unpack alone, object'] = time((n) => {
    for (let i = 0; i < n; i++) sink += packr.unpack(packed[i % 1000]).id;
  }, N >> 2);
  void M;
  return { ns: out, sink };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ns } = await valuesMicro();
  for (const [what, v] of Object.entries(ns)) console.log(`${what.padEnd(40)} ${v.toFixed(1).padStart(8)} ns`);
}
