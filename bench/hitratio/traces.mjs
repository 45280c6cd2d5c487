// Deterministic synthetic cache traces for the hit-ratio harness.
//
// Contract: every generator is a pure function of its options. The same
// options (including `seed`) give the same Int32Array of key ids, on any
// machine and Node version: randomness comes only from the seeded
// xoshiro128** below (never Math.random), and doubles are built from its
// 32-bit outputs exactly. Key ids are non-negative int32 values; every trace
// from this file uses ids below `keySpace(trace)`, which the policies size
// their per-key arrays by.
//
// Generators and their parameters (defaults in DEFAULTS):
//   zipfTrace      { requests, keys, alpha, seed }
//       Independent draws, P(rank k) = k^-alpha / H(keys, alpha), k = 1..keys,
//       sampled by exact inverse CDF (table + binary search), so it is exact
//       for alpha < 1, = 1 and > 1 alike. Ranks are mapped to key ids by a
//       seeded permutation, so popularity is not correlated with id order
//       (matters once a sharded map hashes the ids).
//   zipfScanTrace  { requests, keys, alpha, scanEvery, scanLength, scanRepeat, seed }
//       zipfTrace, with, after every `scanEvery` Zipf requests, a burst of
//       `scanLength` fresh ids (>= keys) requested in order `scanRepeat`
//       times back to back, and never again. scanRepeat = 1 (default): the
//       burst is one-hit wonders; 2: a scan read twice (e.g. read, then
//       verify), whose keys each get exactly one hit, `scanLength` requests
//       after their first.
//   loopTrace      { requests, keys, seed }
//       A cyclic scan: the same seeded order of `keys` ids, repeated. Every
//       cache size the harness uses is smaller than the loop.
//   shiftTrace     { requests, keys, alpha, phases, seed }
//       `phases` equal-length Zipf segments, segment p over its own disjoint
//       id range [p*keys, (p+1)*keys) with its own rank permutation: the
//       working set moves wholesale at each phase boundary.
//
// standardTraces() lists the suite run.mjs runs, generated lazily.

/** Default trace size: 1e6 requests over 1e5 keys keeps all simulations of
 *  one trace (every policy x 3 sizes) to about a second on one core. */
export const DEFAULTS = Object.freeze({
  requests: 1_000_000,
  keys: 100_000,
  seed: 0x5eed,
});

/** --quick: 5x smaller, so the whole table prints in a second or two. */
export const QUICK = Object.freeze({
  requests: 200_000,
  keys: 20_000,
  seed: 0x5eed,
});

/** The skews of the suite: 0.7 and 0.9 are flat (alpha < 1, most mass in the
 *  tail), 0.99 is the usual "web/KV" skew, 1.2 is heavy (alpha > 1). */
export const ZIPF_ALPHAS = Object.freeze([0.7, 0.9, 0.99, 1.2]);

/** Skew under the one-hit-wonder scans, the same as the headline Zipf. */
const SCAN_ALPHA = 0.99;
/** One burst of one-hit wonders after every 5,000 Zipf requests ... */
const SCAN_EVERY = 5_000;
/** ... of 1,000 fresh keys: 1/6 of the requests; each burst is 40% of the
 *  1% cache of the default trace and 4x its small queue. */
const SCAN_LENGTH = 1_000;
/** The second scan trace reads each burst twice: keys with exactly one
 *  reuse, at a distance (1,000) between the small queue and the cache. */
const SCAN_TWICE = 2;
/** Skew of the working-set-shift phases. */
const SHIFT_ALPHA = 0.9;
/** Two phases: the working set moves once, halfway through. */
const SHIFT_PHASES = 2;

// ---------------------------------------------------------------------------
// PRNG

const TWO_POW_26 = 67_108_864;
const TWO_POW_53 = 9_007_199_254_740_992;

/** splitmix32: expands one 32-bit seed into well-mixed state words. */
export function splitmix32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * xoshiro128** (Blackman & Vigna), seeded through splitmix32.
 * Returns { u32(): uint32, uniform(): double in [0, 1) with 53 random bits,
 * below(n): integer in [0, n) }.
 */
export function makeRng(seed) {
  const sm = splitmix32(seed);
  let s0 = sm(), s1 = sm(), s2 = sm(), s3 = sm();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point
  const u32 = () => {
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return r;
  };
  const uniform = () => ((u32() >>> 5) * TWO_POW_26 + (u32() >>> 6)) / TWO_POW_53;
  const below = (n) => Math.floor(uniform() * n);
  return { u32, uniform, below };
}

function rotl(x, k) {
  return (x << k) | (x >>> (32 - k));
}

/** A string's FNV-1a hash, to give each trace of a suite its own seed. */
function hash32(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Seeded Fisher-Yates permutation of 0..n-1, shifted by `offset`. */
export function permutation(n, rng, offset = 0) {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i + offset;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

// ---------------------------------------------------------------------------
// Zipf

/** The exact Zipf pmf over ranks 1..n (index k-1 holds P(rank k)). */
export function zipfPmf(n, alpha) {
  const pmf = new Float64Array(n);
  let sum = 0;
  // Summing from the smallest term up keeps the rounding error of H tiny.
  for (let k = n; k >= 1; k--) sum += (pmf[k - 1] = Math.pow(k, -alpha));
  for (let i = 0; i < n; i++) pmf[i] /= sum;
  return pmf;
}

/**
 * Exact inverse-CDF Zipf sampler over ranks 1..n with exponent alpha > 0
 * (any alpha: below, at or above 1). Returns a function giving the rank
 * minus one (0 = the most popular) for one draw of rng.uniform().
 */
export function zipfSampler(n, alpha, rng) {
  if (!(n >= 1) || !(alpha > 0)) throw new RangeError(`zipf needs n >= 1 and alpha > 0 (got ${n}, ${alpha})`);
  const pmf = zipfPmf(n, alpha);
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cdf[i] = acc += pmf[i];
  cdf[n - 1] = 1; // no draw can fall past the last rank through rounding
  return () => {
    const u = rng.uniform();
    // smallest i with cdf[i] > u
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

// ---------------------------------------------------------------------------
// Generators

export function zipfTrace({ requests = DEFAULTS.requests, keys = DEFAULTS.keys, alpha, seed = DEFAULTS.seed } = {}) {
  const rng = makeRng(seed);
  const ids = permutation(keys, rng);
  const draw = zipfSampler(keys, alpha, rng);
  const out = new Int32Array(requests);
  for (let i = 0; i < requests; i++) out[i] = ids[draw()];
  return out;
}

export function zipfScanTrace({
  requests = DEFAULTS.requests,
  keys = DEFAULTS.keys,
  alpha = SCAN_ALPHA,
  scanEvery = SCAN_EVERY,
  scanLength = SCAN_LENGTH,
  scanRepeat = 1,
  seed = DEFAULTS.seed,
} = {}) {
  const rng = makeRng(seed);
  const ids = permutation(keys, rng);
  const draw = zipfSampler(keys, alpha, rng);
  const out = new Int32Array(requests);
  let fresh = keys; // scan keys take ids above the Zipf range, one burst each
  let sinceScan = 0;
  for (let i = 0; i < requests; ) {
    if (sinceScan === scanEvery) {
      for (let r = 0; r < scanRepeat; r++) for (let j = 0; j < scanLength && i < requests; j++) out[i++] = fresh + j;
      fresh += scanLength;
      sinceScan = 0;
    } else {
      out[i++] = ids[draw()];
      sinceScan++;
    }
  }
  return out;
}

export function loopTrace({ requests = DEFAULTS.requests, keys = DEFAULTS.keys, seed = DEFAULTS.seed } = {}) {
  const order = permutation(keys, makeRng(seed));
  const out = new Int32Array(requests);
  for (let i = 0; i < requests; i++) out[i] = order[i % keys];
  return out;
}

export function shiftTrace({
  requests = DEFAULTS.requests,
  keys = DEFAULTS.keys,
  alpha = SHIFT_ALPHA,
  phases = SHIFT_PHASES,
  seed = DEFAULTS.seed,
} = {}) {
  const rng = makeRng(seed);
  const out = new Int32Array(requests);
  const draw = zipfSampler(keys, alpha, rng);
  for (let p = 0, i = 0; p < phases; p++) {
    const ids = permutation(keys, rng, p * keys);
    const end = Math.round(((p + 1) * requests) / phases);
    for (; i < end; i++) out[i] = ids[draw()];
  }
  return out;
}

// ---------------------------------------------------------------------------
// Suite and helpers

/**
 * The suite run.mjs runs: [{ name, describe, make(): Int32Array }]. Each
 * trace's seed is the base seed mixed with its name, so traces are
 * independent of one another and of their order in the list.
 */
export function standardTraces({ requests = DEFAULTS.requests, keys = DEFAULTS.keys, seed = DEFAULTS.seed } = {}) {
  const s = (name) => (seed ^ hash32(name)) >>> 0;
  const list = ZIPF_ALPHAS.map((alpha) => ({
    name: `zipf ${alpha}`,
    describe: `Zipf alpha=${alpha}, ${requests} requests over ${keys} keys`,
    make: () => zipfTrace({ requests, keys, alpha, seed: s(`zipf ${alpha}`) }),
  }));
  list.push(
    {
      name: `zipf ${SCAN_ALPHA} + scans`,
      describe: `Zipf alpha=${SCAN_ALPHA} over ${keys} keys; after every ${SCAN_EVERY} Zipf requests, ${SCAN_LENGTH} one-hit wonders`,
      make: () => zipfScanTrace({ requests, keys, seed: s('scan') }),
    },
    {
      name: `zipf ${SCAN_ALPHA} + scans read twice`,
      describe: `as above, but each burst of ${SCAN_LENGTH} fresh keys is requested ${SCAN_TWICE} times in a row`,
      make: () => zipfScanTrace({ requests, keys, scanRepeat: SCAN_TWICE, seed: s('scan twice') }),
    },
    {
      name: 'loop',
      describe: `cyclic scan over ${keys} keys (larger than every cache size)`,
      make: () => loopTrace({ requests, keys, seed: s('loop') }),
    },
    {
      name: `shift (zipf ${SHIFT_ALPHA})`,
      describe: `${SHIFT_PHASES} phases of Zipf alpha=${SHIFT_ALPHA}, each over its own ${keys} keys`,
      make: () => shiftTrace({ requests, keys, seed: s('shift') }),
    },
  );
  return list;
}

/** 1 + the largest id in the trace: the size of per-key arrays. */
export function keySpace(trace) {
  let max = -1;
  for (let i = 0; i < trace.length; i++) if (trace[i] > max) max = trace[i];
  return max + 1;
}

/** Number of distinct ids in the trace (the "working set"). */
export function distinctKeys(trace, space = keySpace(trace)) {
  const seen = new Uint8Array(space);
  let n = 0;
  for (let i = 0; i < trace.length; i++) {
    const k = trace[i];
    if (seen[k] === 0) {
      seen[k] = 1;
      n++;
    }
  }
  return n;
}
