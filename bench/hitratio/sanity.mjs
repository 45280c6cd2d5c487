// Self-checks of the hit-ratio harness; exits non-zero if one fails.
//
// Contract: `node bench/hitratio/sanity.mjs [--quick]` prints what it checked
// and the numbers behind each verdict, and exits 1 on any failure:
//  1. Zipf sampler: for each alpha of the suite, the empirical frequency of
//     the 10 most popular ranks against the exact pmf (max relative error,
//     and its z-score under binomial noise), and the largest gap between the
//     empirical and exact CDF over all ranks (against the KS bound).
//  2. Exactness: every optimized policy gives the same hit/miss sequence as
//     a slow, independently written reference (arrays and linear scans,
//     shaped like libCacheSim's C code) on many small random traces; and,
//     when lru-cache can be loaded, the built-in LRU matches it.
//  3. The table (run.mjs): Belady >= every policy in every cell, and the
//     comparisons the brief asked about (S3-FIFO vs LRU on Zipf 0.99 at 1%,
//     SIEVE vs S3-FIFO on Zipf and on the scan trace).
// Reads only this folder's modules; deterministic apart from timings.
import { ZIPF_ALPHAS, makeRng, zipfPmf, zipfSampler } from './traces.mjs';
import { createBelady, createLru, createS3Fifo, createSieve, loadLruCache, lruCachePolicy } from './policies.mjs';
import { hitRatioTable } from './run.mjs';

const quick = process.argv.includes('--quick');
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};

// ---------------------------------------------------------------------------
// 1. Zipf sampler

/** Draws per alpha: 1e7 puts the relative noise of rank 10 under 1%. */
const ZIPF_DRAWS = quick ? 1_000_000 : 10_000_000;
/** Ranks of the validation (the default trace's key count). */
const ZIPF_N = 100_000;
/** A top-10 frequency further than this many binomial sigmas is a bug. */
const MAX_Z = 5;
/** Kolmogorov-Smirnov critical value at 0.1% for one sample (times 1/sqrt n);
 *  conservative for a discrete distribution. */
const KS_C = 1.95;

console.log(`# Zipf sampler: ${ZIPF_DRAWS} draws over ${ZIPF_N} ranks per alpha`);
for (const alpha of [...ZIPF_ALPHAS, 0.5, 1.0, 2.0]) {
  const pmf = zipfPmf(ZIPF_N, alpha);
  const draw = zipfSampler(ZIPF_N, alpha, makeRng(0xabc + Math.round(alpha * 1000)));
  const counts = new Float64Array(ZIPF_N);
  for (let i = 0; i < ZIPF_DRAWS; i++) counts[draw()]++;
  let maxRel = 0;
  let maxZ = 0;
  for (let k = 0; k < 10; k++) {
    const p = pmf[k];
    const emp = counts[k] / ZIPF_DRAWS;
    maxRel = Math.max(maxRel, Math.abs(emp - p) / p);
    maxZ = Math.max(maxZ, Math.abs(emp - p) / Math.sqrt((p * (1 - p)) / ZIPF_DRAWS));
  }
  let ks = 0;
  let fe = 0;
  let ft = 0;
  for (let k = 0; k < ZIPF_N; k++) {
    fe += counts[k] / ZIPF_DRAWS;
    ft += pmf[k];
    ks = Math.max(ks, Math.abs(fe - ft));
  }
  const ksBound = KS_C / Math.sqrt(ZIPF_DRAWS);
  check(
    maxZ < MAX_Z && ks < ksBound,
    `alpha ${alpha}: top-10 max rel. error ${(100 * maxRel).toFixed(3)}% (max z ${maxZ.toFixed(2)}), ` +
      `P(rank 1) ${pmf[0].toFixed(5)}; CDF max gap ${ks.toExponential(2)} (KS 0.1% bound ${ksBound.toExponential(2)})`,
  );
}

// ---------------------------------------------------------------------------
// 2. Exactness against slow references

/** libCacheSim's S3FIFO.c, literally: FIFO arrays (index 0 = tail), an
 *  uncapped counter clipped only when M reinserts, ghost as a FIFO array. */
function slowS3Fifo(capacity, threshold = 2, cap = 3) {
  const fifoSize = Math.max(1, Math.floor(capacity * 0.1));
  const mainSize = capacity - fifoSize;
  const ghostSize = Math.floor(capacity * 0.9);
  const S = [];
  const M = [];
  const G = [];
  const freq = new Map();
  return {
    access(key) {
      if (S.includes(key) || M.includes(key)) {
        freq.set(key, freq.get(key) + 1);
        return true;
      }
      const gi = G.indexOf(key);
      const ghostHit = gi >= 0;
      if (ghostHit) G.splice(gi, 1);
      while (S.length + M.length + 1 > capacity) {
        if (M.length > mainSize || S.length === 0) {
          for (;;) {
            const k = M.shift();
            const f = freq.get(k);
            if (f >= 1) {
              M.push(k);
              freq.set(k, Math.min(f, cap) - 1);
            } else {
              freq.delete(k);
              break;
            }
          }
        } else {
          while (S.length > 0) {
            const k = S.shift();
            if (freq.get(k) >= threshold) {
              M.push(k);
              freq.set(k, 0);
            } else {
              freq.delete(k);
              if (ghostSize > 0) {
                if (G.length >= ghostSize) G.shift();
                G.push(k);
              }
              break;
            }
          }
        }
      }
      (ghostHit ? M : S).push(key);
      freq.set(key, 0);
      return false;
    },
  };
}

/** libCacheSim's Sieve.c: array with index 0 = tail, hand as an index. */
function slowSieve(capacity) {
  const Q = []; // Q[0] is the tail (oldest), Q[Q.length-1] the head
  const visited = new Map();
  let hand = -1; // index into Q, -1 = start at the tail
  return {
    access(key) {
      if (visited.has(key)) {
        visited.set(key, 1);
        return true;
      }
      if (Q.length >= capacity) {
        let i = hand === -1 ? 0 : hand;
        while (visited.get(Q[i]) === 1) {
          visited.set(Q[i], 0);
          i = i + 1 < Q.length ? i + 1 : 0;
        }
        visited.delete(Q[i]);
        Q.splice(i, 1);
        hand = i < Q.length ? i : -1; // the newer neighbour now sits at i
      }
      Q.push(key);
      visited.set(key, 0);
      return false;
    },
  };
}

function slowLru(capacity) {
  const Q = [];
  return {
    access(key) {
      const i = Q.indexOf(key);
      if (i >= 0) {
        Q.splice(i, 1);
        Q.push(key);
        return true;
      }
      if (Q.length >= capacity) Q.shift();
      Q.push(key);
      return false;
    },
  };
}

/** MIN by linear scans: evict the cached key requested farthest ahead. */
function slowBelady(capacity, trace) {
  const cached = new Set();
  let t = 0;
  const nextUse = (key, from) => {
    for (let j = from; j < trace.length; j++) if (trace[j] === key) return j;
    return Infinity;
  };
  return {
    access(key) {
      t++;
      if (cached.has(key)) return true;
      if (cached.size >= capacity) {
        let victim = -1;
        let far = -1;
        for (const k of cached) {
          const nu = nextUse(k, t);
          if (nu > far) [victim, far] = [k, nu];
          if (nu === Infinity) break;
        }
        cached.delete(victim);
      }
      cached.add(key);
      return false;
    },
  };
}

/** Small traces that exercise every path: Zipf-ish reuse, scans, loops. */
function smallTrace(rng, n, keys) {
  const t = new Int32Array(n);
  const draw = zipfSampler(keys, 0.6 + rng.uniform(), rng);
  for (let i = 0; i < n; ) {
    const mode = rng.below(10);
    if (mode < 7) t[i++] = draw();
    else if (mode < 9) for (let j = 0, s = rng.below(keys); j < 20 && i < n; j++) t[i++] = (s + j) % keys;
    else t[i++] = keys + rng.below(keys); // rarely reused keys
  }
  return t;
}

const LRUCache = await loadLruCache();
const EXACT_TRACES = quick ? 60 : 300;
console.log(`\n# Exactness: ${EXACT_TRACES} random traces, hit/miss sequences vs slow references`);
{
  const rng = makeRng(0x1234);
  const pairs = [
    ['S3-FIFO', (c, ctx) => createS3Fifo(c, ctx), (c) => slowS3Fifo(c, 2)],
    ['S3-FIFO t=1', (c, ctx) => createS3Fifo(c, ctx, { moveToMainThreshold: 1 }), (c) => slowS3Fifo(c, 1)],
    ['S3-FIFO 1-bit', (c, ctx) => createS3Fifo(c, ctx, { moveToMainThreshold: 1, freqCap: 1 }), (c) => slowS3Fifo(c, 1, 1)],
    ['SIEVE', createSieve, slowSieve],
    ['LRU (built-in)', createLru, slowLru],
    ['Belady', createBelady, (c, ctx) => slowBelady(c, ctx.trace)],
  ];
  if (LRUCache) pairs.push(['lru-cache vs built-in LRU', lruCachePolicy(LRUCache).create, createLru]);
  const mismatches = Object.fromEntries(pairs.map(([n]) => [n, 0]));
  let requests = 0;
  for (let i = 0; i < EXACT_TRACES; i++) {
    const keys = 10 + rng.below(200);
    const trace = smallTrace(rng, 1000 + rng.below(2000), keys);
    const ctx = { keySpace: 2 * keys, trace };
    const capacity = 1 + rng.below(Math.min(80, keys));
    requests += trace.length;
    for (const [name, fast, slow] of pairs) {
      const a = fast(capacity, ctx);
      const b = slow(capacity, ctx);
      for (let j = 0; j < trace.length; j++) {
        if (a.access(trace[j]) !== b.access(trace[j])) {
          if (mismatches[name]++ === 0) console.log(`  ${name}: first mismatch, trace ${i}, request ${j}, capacity ${capacity}`);
          break;
        }
      }
    }
  }
  for (const [name] of pairs) check(mismatches[name] === 0, `${name}: identical on ${EXACT_TRACES} traces (${requests} requests)`);
  if (!LRUCache) console.log('     (lru-cache not importable: LRU column is the built-in LRU; set HITRATIO_LRU_CACHE to cross-check)');
}

// ---------------------------------------------------------------------------
// 3. The table

console.log(`\n# Table (${quick ? 'quick' : 'default'} sizes)`);
const { rows, policies, markdown, ms } = await hitRatioTable({ quick });
const lru = policies[0];
let beladyOk = true;
for (const r of rows) {
  for (const p of policies) {
    if (r.hits[p] > r.hits.Belady) {
      beladyOk = false;
      console.log(`  ${r.trace} ${r.fraction}: ${p} ${r.hits[p]} > Belady ${r.hits.Belady}`);
    }
  }
}
check(beladyOk, `Belady >= every policy in all ${rows.length} cells`);
const cell = (trace, fraction) => rows.find((r) => r.trace === trace && r.fraction === fraction);
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const z = cell('zipf 0.99', 0.01);
const gap = z.ratio['S3-FIFO'] - z.ratio[lru];
check(gap > 0.03, `zipf 0.99 @1%: S3-FIFO ${pct(z.ratio['S3-FIFO'])} vs ${lru} ${pct(z.ratio[lru])} (+${(100 * gap).toFixed(1)} points)`);
for (const r of rows.filter((r) => r.trace.startsWith('zipf') || r.trace.startsWith('shift'))) {
  console.log(
    `     ${r.trace} @${r.fraction * 100}%: SIEVE - S3-FIFO = ${(100 * (r.ratio.SIEVE - r.ratio['S3-FIFO'])).toFixed(1)} points`,
  );
}
console.log(`\n${markdown}\n\nTable wall time ${(ms / 1000).toFixed(2)} s.`);
console.log(`\n${failures === 0 ? 'all checks passed' : `${failures} check(s) FAILED`}`);
process.exit(failures === 0 ? 0 : 1);
