// Boundary microbenchmarks, one thread: what one JS -> Wasm call costs, what
// encoding a key costs, a bare Wasm lookup of a pre-encoded key, and the
// whole facade call, next to Map.get on the same keys.
//
// The bare calls need the internals door, which only the test bundle has,
// so this runs in a child process with the test build (scripts/test-build.mjs)
// (micro() below starts it): the test build of the core, whose read path is
// the release build's code (its doors are on the write path and in extra
// exports).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ShardedMap } from 'shardedmap';
import { makeKeys } from './workloads.mjs';
import { nsPerCall } from './run.mjs';


/** Run the microbenchmarks in a child process with the internals door. */
export function micro() {
  const r = spawnSync(process.execPath, ['--import', fileURLToPath(new URL('../scripts/test-build.mjs', import.meta.url)), fileURLToPath(import.meta.url)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`micro benchmarks failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function measure() {
  const { internalsOf } = await import('shardedmap/internals');
  const N = 1 << 21;
  const keys = makeKeys(1000);
  const m = await ShardedMap.create();
  const map = new Map();
  keys.forEach((k, i) => (m.storeNumber(k, i), map.set(k, i)));
  const { core, token, encodeKey } = internalsOf(m);
  let sink = 0;
  const klen = encodeKey('key:500');
  const out = {
    'empty Wasm call (nop export)': nsPerCall((n) => {
      for (let i = 0; i < n; i++) core.nop();
    }, N),
    'encode a key into scratch (JS)': nsPerCall((n) => {
      for (let i = 0; i < n; i++) sink += encodeKey(keys[i % 1000]);
    }, N),
    'bare Wasm lookup, pre-encoded key (core.loadValue)': nsPerCall((n) => {
      for (let i = 0; i < n; i++) sink += core.loadValue(token, klen);
    }, N),
    'facade loadNumber(key) (encode + lookup + read)': nsPerCall((n) => {
      for (let i = 0; i < n; i++) sink += m.loadNumber(keys[i % 1000]);
    }, N),
    'Map.get(key), same keys': nsPerCall((n) => {
      for (let i = 0; i < n; i++) sink += map.get(keys[i % 1000]);
    }, N),
  };
  m.close();
  return { ns: out, sink };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(await measure()));
}
