// Boundary microbenchmarks, one thread: what one JS -> Wasm call costs, what
// encoding a key costs, a bare Wasm lookup of a pre-encoded key, and the
// whole facade call, next to Map.get on the same keys.
import { ShardedMap } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';
import { makeKeys } from './workloads.mjs';
import { median } from './run.mjs';

function time(fn, n) {
  const xs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    fn(n);
    xs.push(((performance.now() - t0) / n) * 1e6);
  }
  return median(xs.slice(1));
}

export async function micro() {
  const N = 1 << 21;
  const keys = makeKeys(1000);
  const m = await ShardedMap.create();
  const map = new Map();
  keys.forEach((k, i) => (m.storeNumber(k, i), map.set(k, i)));
  const { core, owner, encodeKey } = internalsOf(m);
  let sink = 0;
  const klen = encodeKey('key:500');
  const out = {
    'empty Wasm call (nop export)': time((n) => {
      for (let i = 0; i < n; i++) core.nop();
    }, N),
    'encode a key into scratch (JS)': time((n) => {
      for (let i = 0; i < n; i++) sink += encodeKey(keys[i % 1000]);
    }, N),
    'bare Wasm lookup, pre-encoded key (core.get)': time((n) => {
      for (let i = 0; i < n; i++) sink += core.get(owner, klen);
    }, N),
    'facade loadNumber(key) (encode + lookup + read)': time((n) => {
      for (let i = 0; i < n; i++) sink += m.loadNumber(keys[i % 1000]);
    }, N),
    'Map.get(key), same keys': time((n) => {
      for (let i = 0; i < n; i++) sink += map.get(keys[i % 1000]);
    }, N),
  };
  m.close();
  return { ns: out, sink };
}
