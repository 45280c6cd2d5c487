// The workload table: every contestant runs the same cells, with the same
// precomputed keys, values and operation sequence (seeded), so a cell is a
// like-for-like comparison.

/** Contestants, in report order. `module` is a file in ./contestants (or,
 *  for `--contestant ./file.mjs`, a file: URL; see adapterUrl). */
export const CONTESTANTS = [
  { id: 'shardedmap', module: 'shardedmap', label: 'shardedmap (256 shards)', options: {} },
  // (Not on YCSB cells: their values are records, where plain is shardedmap.)
  { id: 'shardedmap-plain', module: 'shardedmap', label: 'shardedmap, plain load/store for numbers too', options: { plain: true }, only: (c) => !c.workload },
  { id: 'shardedmap-1', module: 'shardedmap', label: 'shardedmap, 1 shard (global lock)', options: { shards: 1 } },
  { id: 'map', module: 'private-map', label: 'Map private to each worker (NOT shared)' },
  { id: 'postmessage', module: 'postmessage', label: 'one Map behind postMessage' },
  { id: 'sharedmap', module: 'npm-sharedmap', label: 'npm sharedmap 1.2' },
  { id: 'lmdb', module: 'lmdb', label: 'npm lmdb 3 (noSync)' },
  // The cache contestants run the cells a cache target reads (CACHE_CELL).
  { id: 'shardedmap-cache', module: 'shardedmap', label: 'shardedmap as a cache (maxEntries 2x keys)', options: { cache: {} }, only: cacheCell },
  { id: 'shardedmap-cache-ttl', module: 'shardedmap', label: 'shardedmap as a cache with a 1 h ttl', options: { cache: { ttl: 3_600_000 } }, only: cacheCell },
  { id: 'lru-cache', module: 'lru-cache', label: 'npm lru-cache 11, private to each worker (NOT shared)', only: cacheCell },
];

/** The cells the cache contestants run: 1K keys, numbers, uniform, 1 or 2
 *  workers, all reads or 10 % writes. */
function cacheCell(c) {
  return !c.workload && !c.fresh && c.keys === 1_000 && c.value === 'number' && c.draw === 'uniform' && (c.reads === 100 || c.reads === 90) && c.workers <= 2;
}

/** Where a contestant's adapter module is: a file in ./contestants by
 *  name, or a file: URL as given (`--contestant`). */
export function adapterUrl(module) {
  return module.startsWith('file:') ? module : new URL(`./contestants/${module}.mjs`, import.meta.url).href;
}

/**
 * One cell: keys (count), reads (% of ops that are loads), workers, value
 * kind ('number' | 'string' | 'object'), draw ('uniform' | 'zipf'),
 * deletes (share of writes that delete, 0..1), fresh (keys built per call,
 * `'key:' + i`, instead of read from a pre-made array).
 */
export function cell(keys, reads, workers, value = 'number', draw = 'uniform', deletes = 0, fresh = false) {
  const id = `${fmtCount(keys)}-r${reads}-w${workers}-${value}${draw === 'zipf' ? '-zipf' : ''}${deletes ? '-del' : ''}${fresh ? '-fresh' : ''}`;
  return { id, keys, reads, workers, value, draw, deletes, fresh };
}

/** The same cell with keys built per call (`--fresh-keys`). */
export function freshCell(c) {
  if (c.fresh) return c;
  return { ...c, id: `${c.id}-fresh`, fresh: true };
}

/** Workers in the oversubscribed cell: 4 per core, so that a worker is
 *  often preempted while it holds a lock (the Go seed's table ran 32
 *  goroutines; 8 workers on 2 cores is the same ratio as 32 on 8). */
export const OVERSUBSCRIBE = 4;

export function fmtCount(n) {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}K` : String(n);
}

/** `npm start`: a few representative cells, about three minutes with the
 *  other sections. Each target of BENCHMARKS.md is read from one of them;
 *  the last two are keys built per call (beside 1K-r100-w1) and more
 *  workers than cores. */
export function quickCells(cores) {
  return [
    cell(1_000, 100, 1),
    cell(1_000, 90, 1),
    cell(1_000, 90, 2),
    cell(1_000, 90, 1, 'string'),
    cell(1_000, 90, 1, 'object'),
    cell(1_000_000, 100, 1),
    cell(100_000, 50, Math.max(2, cores), 'string', 'uniform', 0.5),
    cell(1_000, 90, Math.max(2, cores), 'object', 'zipf'),
    // Keys built per call change Map.get and shardedmap's key encoding;
    // the peers' own costs dwarf it, so they sit this one out (every
    // contestant runs it with --fresh-keys or --cells).
    { ...cell(1_000, 100, 1, 'number', 'uniform', 0, true), contestants: ['shardedmap', 'shardedmap-plain', 'map'] },
    cell(1_000, 90, OVERSUBSCRIBE * cores),
  ];
}

/** `--profile full`: sweeps of every axis around the quick cells. */
export function fullCells(cores) {
  const workers = [1, ...(cores > 1 ? [cores] : []), cores + 1];
  const out = [];
  for (const reads of [100, 99, 90, 75, 50]) for (const w of workers) out.push(cell(1_000, reads, w, 'number', 'uniform', reads === 50 ? 0.5 : 0));
  for (const keys of [100_000, 1_000_000]) for (const w of [1, Math.max(2, cores)]) out.push(cell(keys, 90, w));
  out.push(cell(1_000_000, 100, 1));
  for (const value of ['string', 'object']) for (const w of [1, Math.max(2, cores)]) out.push(cell(1_000, 90, w, value));
  for (const w of [1, Math.max(2, cores)]) out.push(cell(1_000, 90, w, 'number', 'zipf'));
  out.push(cell(100_000, 50, Math.max(2, cores), 'string', 'uniform', 0.5));
  for (const reads of [100, 90]) out.push(cell(1_000, reads, 1, 'number', 'uniform', 0, true));
  out.push(cell(1_000, 90, OVERSUBSCRIBE * cores));
  return dedupe(out);
}

/** `--profile matrix`: the whole cartesian product (hours). */
export function matrixCells(cores) {
  const out = [];
  for (const keys of [1_000, 100_000, 1_000_000])
    for (const reads of [100, 99, 90, 75, 50])
      for (let w = 1; w <= cores + 1; w++)
        for (const value of ['number', 'string', 'object'])
          for (const draw of ['uniform', 'zipf']) out.push(cell(keys, reads, w, value, draw, reads <= 75 ? 0.5 : 0));
  return out;
}

function dedupe(cells) {
  const seen = new Set();
  return cells.filter((c) => !seen.has(c.id) && seen.add(c.id));
}

/** Keys: 'key:' + i, so the same strings in every contestant. */
export function makeKeys(n) {
  const keys = new Array(n);
  for (let i = 0; i < n; i++) keys[i] = `key:${i}`;
  return keys;
}

/** Key `id` of a cell, as a worker's timed loop gets it: from the pre-made
 *  array (V8 keeps each string's hash in it, so `Map.get` hashes nothing)
 *  or, for a fresh cell, built per call as a service builds it. */
export function keyOf(c, keys) {
  return c.fresh ? (id) => 'key:' + id : (id) => keys[id];
}

/** Value i of a kind (numbers, ~16-char strings, small objects, YCSB
 *  records). */
export function valueFn(kind) {
  if (kind === 'number') return (i) => i + 0.5;
  if (kind === 'string') return (i) => `value-${i}-${'x'.repeat(i % 7)}`;
  if (kind === 'record') return ycsbRecord;
  return (i) => ({ id: i, name: `user ${i}`, score: i * 1.5, tags: ['a', 'b'] });
}

// ---------------------------------------------------------------------------
// YCSB's core workloads (github.com/brianfrankcooper/YCSB, workloads/workload[a-f]
// and core/.../CoreWorkload.java), as cells of this harness.

/** YCSB's record: `fieldcount` 10 fields of `fieldlength` 100 bytes
 *  (field0..field9), its defaults: 1 KB per record. */
export const YCSB_FIELDS = 10;
export const YCSB_FIELD_BYTES = 100;
/** Records loaded before a YCSB cell, scaled to these machines: 10K × 1 KB
 *  = 10 MB, past every cache level of a 2-core host, and small enough that
 *  each private contestant's copy (one per worker, up to 8) fits with room
 *  (YCSB's workload files say 1,000; `--records` changes it). */
export const YCSB_RECORDS = 10_000;
/** YCSB's `maxscanlength` (scan lengths uniform in 1..100, workload E). */
export const YCSB_MAX_SCAN = 100;
/** Keys each worker can insert (workloads D, E) before its inserts wrap
 *  round and overwrite its own earlier ones: bounds the memory a run adds. */
export const YCSB_INSERTS_PER_WORKER = 1 << 14;

/** The six core workloads: operation mix (fractions) and request
 *  distribution, as in YCSB's workload files. */
export const YCSB = {
  'ycsb-a': { title: 'A, update heavy', mix: { read: 0.5, update: 0.5 }, dist: 'zipfian' },
  'ycsb-b': { title: 'B, read mostly', mix: { read: 0.95, update: 0.05 }, dist: 'zipfian' },
  'ycsb-c': { title: 'C, read only', mix: { read: 1 }, dist: 'zipfian' },
  'ycsb-d': { title: 'D, read latest', mix: { read: 0.95, insert: 0.05 }, dist: 'latest' },
  'ycsb-e': { title: 'E, short ranges', mix: { scan: 0.95, insert: 0.05 }, dist: 'zipfian' },
  'ycsb-f': { title: 'F, read-modify-write', mix: { read: 0.5, rmw: 0.5 }, dist: 'zipfian' },
};

/** A YCSB cell: workload `name` over `records` records, `workers` workers.
 *  Keys are `key:<i>` like every cell (inserted ones continue the count),
 *  values are records (`value: 'record'`). */
export function ycsbCell(name, records, workers, fresh = false) {
  const w = YCSB[name];
  if (!w) throw new RangeError(`--workload must be among ${Object.keys(YCSB).join(', ')} (got ${name})`);
  const inserts = w.mix.insert ? workers * YCSB_INSERTS_PER_WORKER : 0;
  return {
    id: `${name}-${fmtCount(records)}-w${workers}${fresh ? '-fresh' : ''}`,
    workload: name, keys: records, maxKeys: records + inserts, workers, value: 'record', fresh,
    reads: Math.round(100 * ((w.mix.read ?? 0) + (w.mix.scan ?? 0))), draw: w.dist, deletes: 0,
  };
}

/** `--profile ycsb`: the six workloads, 1 worker and one per core. */
export function ycsbCells(cores, records = YCSB_RECORDS) {
  const out = [];
  for (const name of Object.keys(YCSB)) for (const w of [1, Math.max(2, cores)]) out.push(ycsbCell(name, records, w));
  return out;
}

/** Record i: field0..field9, each 100 bytes, distinct per record. */
function ycsbRecord(i) {
  const r = {};
  const tag = `${i}:`;
  for (let f = 0; f < YCSB_FIELDS; f++) r[`field${f}`] = (tag + f).padEnd(YCSB_FIELD_BYTES, String.fromCharCode(97 + ((i + f) % 26)));
  return r;
}

/** Operation codes of a stream. YCSB's update is a store of an existing
 *  key, its insert a store of a new one; a read-modify-write is a load and
 *  a store of the same key, counted as one operation (as YCSB does). */
export const OP = { LOAD: 0, STORE: 1, DELETE: 2, INSERT: 3, SCAN: 4, RMW: 5 };
export const OP_NAMES = ['read', 'update', 'delete', 'insert', 'scan', 'read-modify-write'];

/** YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record
 *  synthetic databases", SIGMOD '94): ranks in [0, n), rank 0 the most
 *  popular, P(rank k) ∝ 1/(k+1)^theta. zeta(n) is summed once. */
export function ycsbZipfian(n, theta, rand) {
  let zetan = 0;
  for (let i = 1; i <= n; i++) zetan += 1 / Math.pow(i, theta);
  const zeta2 = 1 + 1 / Math.pow(2, theta);
  const alpha = 1 / (1 - theta);
  const eta = (1 - Math.pow(2 / n, 1 - theta)) / (1 - zeta2 / zetan);
  const second = 1 + Math.pow(0.5, theta);
  return () => {
    const u = rand();
    const uz = u * zetan;
    if (uz < 1) return 0;
    if (uz < second) return 1;
    return Math.min(n - 1, Math.floor(n * Math.pow(eta * u - eta + 1, alpha)));
  };
}

/** FNV-1a (32-bit) of an integer's four bytes: YCSB scrambles zipfian ranks
 *  with an FNV hash so the popular keys are spread over the key space. */
function fnv1a32(x) {
  let h = 0x811c9dc5;
  for (let b = 0; b < 4; b++) {
    h ^= (x >>> (8 * b)) & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A YCSB cell's stream for worker `w`: key ids, op codes and scan
 *  lengths. Distributions: 'zipfian' (scrambled, theta 0.99, over the
 *  loaded records), 'uniform', 'latest' (YCSB's SkewedLatestGenerator: the
 *  zipfian rank counted back from this worker's latest insert). */
function ycsbStream(c, w, length) {
  const { mix, dist } = YCSB[c.workload];
  const rand = rng(0x7c5b + w * 7919 + c.keys);
  const n = c.keys;
  const zipf = ycsbZipfian(n, 0.99, rand);
  const idx = new Uint32Array(length);
  const ops = new Uint8Array(length);
  const scanLen = mix.scan ? new Uint8Array(length) : null;
  const cuts = [['read', OP.LOAD], ['update', OP.STORE], ['insert', OP.INSERT], ['scan', OP.SCAN], ['rmw', OP.RMW]]
    .filter(([k]) => mix[k])
    .map(([k, op], i, all) => [all.slice(0, i + 1).reduce((a, [kk]) => a + mix[kk], 0), op]);
  // This worker's inserts take ids n + w*INS .. n + (w+1)*INS - 1, in turn.
  const insertId = (j) => n + w * YCSB_INSERTS_PER_WORKER + (j % YCSB_INSERTS_PER_WORKER);
  let inserted = 0;
  for (let i = 0; i < length; i++) {
    const r = rand();
    let op = cuts[cuts.length - 1][1];
    for (const [cut, o] of cuts) if (r < cut) { op = o; break; }
    ops[i] = op;
    if (op === OP.INSERT) {
      idx[i] = insertId(inserted++);
      continue;
    }
    if (dist === 'uniform') idx[i] = Math.floor(rand() * n);
    else if (dist === 'latest') {
      // Position in this worker's insertion order: 0..n-1 the loaded
      // records, n + j its j-th insert.
      const pos = n + inserted - 1 - zipf();
      idx[i] = pos < n ? pos : insertId(pos - n);
    } else idx[i] = fnv1a32(zipf()) % n;
    if (scanLen && op === OP.SCAN) scanLen[i] = 1 + Math.floor(rand() * YCSB_MAX_SCAN);
  }
  return { idx, ops, scanLen };
}

/** Seeded PRNG (mulberry32), so every contestant gets the same sequence. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Precomputed operation stream: key indices and op codes (0 load, 1 store,
 *  2 delete), `length` long (a power of two), for worker `w`. */
export function opStream(c, w, length = 1 << 20) {
  if (c.workload) return ycsbStream(c, w, length);
  const rand = rng(0x5eed + w * 7919 + c.keys);
  const idx = new Uint32Array(length);
  const ops = new Uint8Array(length);
  const zipf = c.draw === 'zipf' ? zipfSampler(c.keys, 0.99, rand) : null;
  for (let i = 0; i < length; i++) {
    idx[i] = zipf ? zipf() : Math.floor(rand() * c.keys);
    const r = rand() * 100;
    ops[i] = r < c.reads ? 0 : rand() < c.deletes ? 2 : 1;
  }
  return { idx, ops, scanLen: null };
}

/** Zipf(s) over n ranks by inverse CDF on a precomputed table. */
function zipfSampler(n, s, rand) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  // Scatter ranks over the key space so hot keys are not neighbours.
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return perm[lo];
  };
}
