// Warm restart, measured: snapshot and restore of 1M entries (a third
// numbers, a third 16-character strings, a third small objects; keys
// `key:<i>`, ttl 1 hour) against lru-cache's dump() + load() of the same
// entries (in memory: lru-cache writes no file; its dump() at 100K, see
// below) and a JSON round trip
// (stringify + writeFile, readFile + parse + a Map filled). One thread;
// median of RUNS runs; the file's MB/s is its size over the time.
// Run alone: `node bench/snapshot.mjs [entries]` (after `npm run build`).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { ShardedMap } from 'shardedmap';

const N = Number(process.argv[2] ?? 1_000_000);
const RUNS = 3;
const TTL = 3_600_000;
const value = (i) => (i % 3 === 0 ? i * 1.5 : i % 3 === 1 ? `s${String(i).padStart(15, '-')}` : { id: i, name: `user ${i}`, ok: true });
const key = (i) => `key:${i}`;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
async function time(f) {
  const t = performance.now();
  const r = await f();
  return [performance.now() - t, r];
}
const dir = mkdtempSync(join(tmpdir(), 'shardedmap-bench-'));
const path = join(dir, 'map.snap');
const rows = [];
const row = (what, ms, bytes) => {
  const r = { what, ms: ms.toFixed(0), 'MB/s': bytes ? (bytes / 1e6 / (ms / 1000)).toFixed(0) : '', MB: bytes ? (bytes / 1e6).toFixed(1) : '' };
  rows.push(r);
  console.error(`${r.what}: ${r.ms} ms ${r['MB/s'] && `${r['MB/s']} MB/s`}`);
};

try {
  const map = await ShardedMap.create({ maxEntries: 2 * N, ttl: TTL, maxMemory: 2 ** 31 });
  for (let i = 0; i < N; i++) map.store(key(i), value(i));
  const snap = [];
  const restore = [];
  let bytes = 0;
  for (let r = 0; r < RUNS; r++) {
    const [ms, info] = await time(() => map.snapshot(path));
    snap.push(ms);
    bytes = info.bytes;
    if (info.entries !== N) throw new Error(`snapshot wrote ${info.entries} of ${N}`);
    const [ms2, back] = await time(() => ShardedMap.restore(path));
    restore.push(ms2);
    if (back.size !== N || back.get(key(2)).name !== 'user 2') throw new Error('restore lost entries');
    back.close();
  }
  row('shardedmap snapshot (file, fsync)', median(snap), bytes);
  row('shardedmap restore (file → new map)', median(restore), bytes);
  map.close();

  // lru-cache's dump() builds its array with Array#unshift, once per entry
  // (lru-cache 11.5, dist/esm/index.js): quadratic. At 1M entries it did
  // not finish in 10 minutes here, so it is timed at DUMP_N entries, and
  // load() at N from an array of the shape dump() returns ([key, { value,
  // ttl, start }], oldest first), built directly.
  const DUMP_N = Math.min(N, 100_000);
  const lru = new LRUCache({ max: 2 * N, ttl: TTL });
  for (let i = 0; i < DUMP_N; i++) lru.set(key(i), value(i));
  const dumps = [];
  for (let r = 0; r < RUNS; r++) dumps.push((await time(() => lru.dump()))[0]);
  row(`lru-cache dump() (in memory, ${DUMP_N.toLocaleString('en')} entries)`, median(dumps));
  const start = Date.now();
  const dump = Array.from({ length: N }, (_, i) => [key(i), { value: value(i), ttl: TTL, start }]);
  const loads = [];
  for (let r = 0; r < RUNS; r++) {
    const fresh = new LRUCache({ max: 2 * N, ttl: TTL });
    const [ms] = await time(() => fresh.load(dump));
    loads.push(ms);
    if (fresh.size !== N) throw new Error('lru-cache load lost entries');
  }
  row('lru-cache load() (in memory)', median(loads));

  const jpath = join(dir, 'map.json');
  // The JSON round trip: the same entries as [key, value] pairs.
  const out = [];
  const back = [];
  let jbytes = 0;
  for (let r = 0; r < RUNS; r++) {
    const [ms] = await time(async () => {
      const entries = [];
      for (let i = 0; i < N; i++) entries.push([key(i), value(i)]);
      await writeFile(jpath, JSON.stringify(entries));
    });
    out.push(ms);
    jbytes = statSync(jpath).size;
    const [ms2] = await time(async () => {
      const m = new Map(JSON.parse(await readFile(jpath, 'utf8')));
      if (m.size !== N) throw new Error('JSON lost entries');
    });
    back.push(ms2);
  }
  row('JSON: stringify + writeFile', median(out), jbytes);
  row('JSON: readFile + parse + Map', median(back), jbytes);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${N.toLocaleString('en')} entries (numbers, 16-char strings, small objects), ${cpus()[0]?.model ?? '?'}, Node ${process.version}, median of ${RUNS}`);
console.table(rows);
