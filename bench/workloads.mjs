// The workload table: every contestant runs the same cells, with the same
// precomputed keys, values and operation sequence (seeded), so a cell is a
// like-for-like comparison.

/** Contestants, in report order. `module` is a file in ./contestants. */
export const CONTESTANTS = [
  { id: 'shardedmap', module: 'shardedmap', label: 'shardedmap (256 shards)', options: {} },
  { id: 'shardedmap-plain', module: 'shardedmap', label: 'shardedmap, plain load/store for numbers too', options: { plain: true } },
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
  return c.keys === 1_000 && c.value === 'number' && c.draw === 'uniform' && (c.reads === 100 || c.reads === 90) && c.workers <= 2;
}

/**
 * One cell: keys (count), reads (% of ops that are loads), workers, value
 * kind ('number' | 'string' | 'object'), draw ('uniform' | 'zipf'),
 * deletes (share of writes that delete, 0..1).
 */
function cell(keys, reads, workers, value = 'number', draw = 'uniform', deletes = 0) {
  const id = `${fmtCount(keys)}-r${reads}-w${workers}-${value}${draw === 'zipf' ? '-zipf' : ''}${deletes ? '-del' : ''}`;
  return { id, keys, reads, workers, value, draw, deletes };
}

export function fmtCount(n) {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}K` : String(n);
}

/** `npm start`: a few representative cells, about two minutes. Each target
 *  of BENCHMARKS.md is read from one of them. */
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

/** Value i of a kind (numbers, ~16-char strings, small objects). */
export function valueFn(kind) {
  if (kind === 'number') return (i) => i + 0.5;
  if (kind === 'string') return (i) => `value-${i}-${'x'.repeat(i % 7)}`;
  return (i) => ({ id: i, name: `user ${i}`, score: i * 1.5, tags: ['a', 'b'] });
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
  const rand = rng(0x5eed + w * 7919 + c.keys);
  const idx = new Uint32Array(length);
  const ops = new Uint8Array(length);
  const zipf = c.draw === 'zipf' ? zipfSampler(c.keys, 0.99, rand) : null;
  for (let i = 0; i < length; i++) {
    idx[i] = zipf ? zipf() : Math.floor(rand() * c.keys);
    const r = rand() * 100;
    ops[i] = r < c.reads ? 0 : rand() < c.deletes ? 2 : 1;
  }
  return { idx, ops };
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
