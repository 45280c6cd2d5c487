// Value-path microbenchmarks, one thread: what a load or store of each kind
// of value costs through the plain API, next to Map.get and msgpackr's own
// pack/unpack of the same object; and batch reads (loadNumbers) against
// Map.get at 1K and 1M keys. Keys are `key:<i>`, visited in a seeded random
// order (the same for every row). The value goals of BENCHMARKS.md are read
// from these rows. Run alone: `node bench/values.mjs`.
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { ShardedMap } from 'shardedmap';
import { makeKeys, rng } from './workloads.mjs';
import { nsPerCall, median } from './run.mjs';


export const OBJECT = (i) => ({ id: i, name: `user ${i}`, score: i * 1.5, tags: ['alpha', 'beta', 'gamma'] });
export const STRING16 = (i) => `s${String(i).padStart(15, '-')}`; // 16 chars
export const STRING64 = (i) => `${'x'.repeat(60)}${String(i).padStart(4, '0')}`;
export const STRING4K = (i) => `${String(i).padStart(4, '0')}${'y'.repeat(4092)}`;

/** A seeded random visiting order over n keys, `len` long (a power of two). */
function order(n, len) {
  const rand = rng(0xbe7c4 + n);
  const idx = new Uint32Array(len);
  for (let i = 0; i < len; i++) idx[i] = Math.floor(rand() * n);
  return idx;
}

export async function valuesMicro() {
  const N = 1 << 19;
  const keys = makeKeys(1000);
  const idx = order(1000, 1 << 16);
  const MASK = idx.length - 1;
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
    const n = name === 'string4k' ? N >> 2 : N;
    out[`Map.get, ${name}`] = nsPerCall((n) => {
      for (let i = 0; i < n; i++) sink += jsMap.get(keys[idx[i & MASK]]) === undefined ? 0 : 1;
    }, n);
    out[`map.load, ${name}`] = nsPerCall((n) => {
      for (let i = 0; i < n; i++) sink += map.load(keys[idx[i & MASK]]) === undefined ? 0 : 1;
    }, n);
    if (name === 'number') {
      out['map.loadNumber'] = nsPerCall((n) => {
        for (let i = 0; i < n; i++) sink += map.loadNumber(keys[idx[i & MASK]]);
      }, n);
      out['map.storeNumber'] = nsPerCall((n) => {
        for (let i = 0; i < n; i++) map.storeNumber(keys[idx[i & MASK]], i + 0.25);
      }, n);
    }
    // Stores of a key's own value again: the encode and write cost.
    out[`map.store, ${name}`] = nsPerCall((n) => {
      for (let i = 0; i < n; i++) {
        const k = idx[i & MASK];
        map.store(keys[k], value(k));
      }
    }, n >> 2);
    // A load right after a store of a new value: a decode every time (no
    // cache can help), minus the store. Objects: below, beside msgpackr.
    const vals = Array.from({ length: 64 }, (_, i) => value(i + 5000));
    const storeNew = (n) => {
      for (let i = 0; i < n; i++) map.store(keys[idx[i & MASK]], vals[i & 63]);
    };
    const storeLoad = (n) => {
      for (let i = 0; i < n; i++) {
        const k = keys[idx[i & MASK]];
        map.store(k, vals[i & 63]);
        sink += map.load(k) === undefined ? 0 : 1;
      }
    };
    // The same, a batch at a time: 64 stores, then the 64 keys' loads (a
    // load is not right behind its own store; minus the stores alone).
    const storeBatch = (n) => {
      for (let i = 0; i < n; i += 64) for (let j = 0; j < 64; j++) map.store(keys[idx[(i + j) & MASK]], vals[j]);
    };
    const storeBatchLoad = (n) => {
      for (let i = 0; i < n; i += 64) {
        for (let j = 0; j < 64; j++) map.store(keys[idx[(i + j) & MASK]], vals[j]);
        for (let j = 0; j < 64; j++) sink += map.load(keys[idx[(i + j) & MASK]]) === undefined ? 0 : 1;
      }
    };
    if (name === 'object') {
      const [rows, got] = objectRows({ storeNew, storeLoad, storeBatch, storeBatchLoad }, N >> 3);
      Object.assign(out, rows);
      sink += got;
    } else {
      out[`map.store of a new value, ${name}`] = nsPerCall(storeNew, n >> 2);
      out[`map.load of a changed value, ${name}`] = nsPerCall(storeLoad, n >> 2) - out[`map.store of a new value, ${name}`];
    }
    map.close();
  }
  return { ns: out, sink, objectBytes: await objectBytes() };
}

/**
 * The object rows the value goals are ratios of: the map's store of a new
 * object and load of a changed one, and msgpackr alone, plain MessagePack
 * (what the goals are ratios to) and with records (what the map stores
 * objects as, over its shared shapes): packing the same 64 objects the
 * store rows store, unpacking from DISTINCT buffers (4,096, each read once
 * per pass in random order), not a few cache-warm ones. Measured in turns
 * (a round of each, then again), so that rows compared with each other
 * share the moments of a noisy host; each row is the median of its
 * rounds, the changed load the median of (store + load) - store per round:
 * each load right behind its own store, and with a batch of 64 stores,
 * then their 64 loads. msgpackr's unpack is measured in both arrangements
 * too (behind a pack, after a batch of packs): a load that alternates
 * with a write pays for it (measured here: msgpackr's own unpack cost
 * 1.5x as much right behind a pack as in a loop of unpacks), so the goal
 * compares like with like, and takes the worse of the two ratios.
 */
function objectRows({ storeNew, storeLoad, storeBatch, storeBatchLoad }, n) {
  const ROUNDS = 11;
  const MASK = (1 << 16) - 1;
  const objs = Array.from({ length: 64 }, (_, i) => OBJECT(i + 5000));
  const spread = order(4096, 1 << 16);
  let sink = 0;
  const fns = { store: storeNew, storeLoad, storeBatch, storeBatchLoad };
  for (const [name, packr] of [['', new Packr({ useRecords: false, moreTypes: true })], [' (records)', new Packr({ structures: [], moreTypes: true })]]) {
    const buffers = Array.from({ length: 4096 }, (_, i) => packr.pack(OBJECT(i + 9000)).slice());
    fns[`msgpackr pack alone${name}, object`] = (n) => {
      for (let i = 0; i < n; i++) sink += packr.pack(objs[i & 63]).length;
    };
    fns[`msgpackr unpack alone${name}, object, distinct buffers`] = (n) => {
      for (let i = 0; i < n; i++) sink += packr.unpack(buffers[spread[i & MASK]]).id;
    };
    if (name !== '') continue;
    // msgpackr arranged as the map's two changed-load rows: each unpack
    // right behind a pack, and 64 packs then 64 unpacks (minus the packs).
    fns.packUnpack = (n) => {
      for (let i = 0; i < n; i++) {
        sink += packr.pack(objs[i & 63]).length;
        sink += packr.unpack(buffers[spread[i & MASK]]).id;
      }
    };
    fns.packBatchUnpack = (n) => {
      for (let i = 0; i < n; i += 64) {
        for (let j = 0; j < 64; j++) sink += packr.pack(objs[j]).length;
        for (let j = 0; j < 64; j++) sink += packr.unpack(buffers[spread[(i + j) & MASK]]).id;
      }
    };
  }
  const xs = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (let r = 0; r <= ROUNDS; r++) {
    for (const [k, f] of Object.entries(fns)) {
      const t0 = performance.now();
      f(n);
      // (Round 0 warms up.)
      if (r > 0) xs[k].push(((performance.now() - t0) / n) * 1e6);
    }
  }
  const rows = {
    'map.store of a new value, object': median(xs.store),
    'map.load of a changed value, object': median(xs.storeLoad.map((x, r) => x - xs.store[r])),
    'map.load of a changed value, object, after a batch of stores': median(xs.storeBatchLoad.map((x, r) => x - xs.storeBatch[r])),
  };
  for (const k of Object.keys(fns)) if (k.startsWith('msgpackr')) rows[k] = median(xs[k]);
  const pack = xs['msgpackr pack alone, object'];
  rows['msgpackr unpack, object, distinct buffers, each behind a pack'] = median(xs.packUnpack.map((x, r) => x - pack[r]));
  rows['msgpackr unpack, object, distinct buffers, after a batch of packs'] = median(xs.packBatchUnpack.map((x, r) => x - pack[r]));
  return [rows, sink];
}

/** Shared bytes per small-object entry at 100K entries (table and heap,
 *  what the map's regions grew by) beside the entry's own bytes: its key
 *  and its object as plain MessagePack and as records. */
async function objectBytes() {
  const n = 100_000;
  const map = await ShardedMap.create();
  const before = map.stats().tableBytes;
  const plain = new Packr({ useRecords: false, moreTypes: true });
  const records = new Packr({ structures: [], moreTypes: true });
  let payload = 0;
  let recordPayload = 0;
  let keyBytes = 0;
  for (let i = 0; i < n; i++) {
    const key = `key:${i}`;
    map.store(key, OBJECT(i));
    payload += plain.pack(OBJECT(i)).length;
    recordPayload += records.pack(OBJECT(i)).length;
    keyBytes += Buffer.byteLength(key) + 1; // the type byte
  }
  const perEntry = (map.stats().tableBytes - before) / n;
  map.close();
  return { perEntry, payload: payload / n, recordPayload: recordPayload / n, key: keyBytes / n };
}

/** Batch reads: ns per key of loadNumbers over 256-key batches, and of
 *  Map.get over the same keys, at `count` keys. */
export async function batchMicro(count) {
  const keys = makeKeys(count);
  const map = await ShardedMap.create({ initialCapacity: count });
  const jsMap = new Map();
  keys.forEach((k, i) => {
    map.storeNumber(k, i + 0.5);
    jsMap.set(k, i + 0.5);
  });
  const B = 256;
  const batches = 64;
  const idx = order(count, B * batches);
  const lists = Array.from({ length: batches }, (_, b) => Array.from(idx.subarray(b * B, (b + 1) * B), (i) => keys[i]));
  const outArr = new Float64Array(B);
  let sink = 0;
  const rounds = count > 100_000 ? 1 << 10 : 1 << 12;
  const getPerKey = nsPerCall((n) => {
    for (let r = 0; r < n; r++) {
      const list = lists[r & (batches - 1)];
      for (let i = 0; i < B; i++) sink += jsMap.get(list[i]);
    }
  }, rounds) / B;
  const batchPerKey = nsPerCall((n) => {
    for (let r = 0; r < n; r++) sink += map.loadNumbers(lists[r & (batches - 1)], outArr)[0];
  }, rounds) / B;
  const singlePerKey = nsPerCall((n) => {
    for (let r = 0; r < n; r++) {
      const list = lists[r & (batches - 1)];
      for (let i = 0; i < B; i++) sink += map.loadNumber(list[i]);
    }
  }, rounds) / B;
  map.close();
  return { keys: count, getPerKey, batchPerKey, singlePerKey, sink };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ns, objectBytes } = await valuesMicro();
  for (const [what, v] of Object.entries(ns)) console.log(`${what.padEnd(56)} ${v.toFixed(1).padStart(8)} ns`);
  console.log('bytes per small-object entry at 100K:', objectBytes);
  for (const n of [1000, 1_000_000]) {
    const b = await batchMicro(n);
    console.log(`batch, ${n} keys: Map.get ${b.getPerKey.toFixed(1)} ns/key, loadNumbers ${b.batchPerKey.toFixed(1)}, loadNumber ${b.singlePerKey.toFixed(1)}`);
  }
}
