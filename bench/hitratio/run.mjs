// Hit-ratio table: every trace of traces.mjs x cache sizes x every policy.
//
// Contract.
//   node bench/hitratio/run.mjs [--quick] [--requests N] [--keys N] [--seed N]
// prints a Markdown table of hit ratios (percent, one decimal) and the wall
// time, and nothing else on stdout (progress goes to stderr). Output is a
// deterministic function of the options (only the timing line varies).
// --quick runs traces.mjs's QUICK sizes instead of DEFAULTS.
//
//   import { hitRatioTable } from './bench/hitratio/run.mjs';
//   const { rows, markdown } = await hitRatioTable({ extraPolicies: [p] });
// runs the same table with extra columns. A policy is
//   { name: string, create(capacity, ctx) -> Policy | Promise<Policy> }
// with Policy = { access(key) -> boolean (hit?), close?() }, as documented at
// the top of policies.mjs: `capacity` counts entries, keys are ints in
// [0, ctx.keySpace), access() is called once per request in trace order and
// must admit the key on a miss. A shardedmap-backed policy is one such
// object (e.g. create() builds a bounded map of `capacity` entries, access()
// is a lookup that stores on miss, close() releases the map).
//
// Cache sizes are fractions of each trace's distinct keys (its working set,
// one-hit wonders included), as libCacheSim's relative sizes; a capacity is
// rounded to the nearest entry, at least 1. Hits count over the whole trace,
// cold misses included.
import { fileURLToPath } from 'node:url';
import { DEFAULTS, QUICK, distinctKeys, keySpace, standardTraces } from './traces.mjs';
import { standardPolicies } from './policies.mjs';
import { shardedmapPolicy } from './shardedmap-policy.mjs';

/** The three sizes of the brief: small, medium and large caches relative to
 *  the working set (0.1%, 1%, 10% of distinct keys). */
export const CACHE_FRACTIONS = Object.freeze([0.001, 0.01, 0.1]);

/** Runs one policy over one trace at one capacity; returns the hit count. */
export async function simulate(policy, capacity, trace, ctx) {
  const p = await policy.create(capacity, ctx);
  let hits = 0;
  for (let i = 0; i < trace.length; i++) if (p.access(trace[i])) hits++;
  await p.close?.();
  return hits;
}

/**
 * @param {object} [o]
 * @param {Array<{name:string, create:Function}>} [o.extraPolicies] columns after the standard ones
 * @param {Array<{name:string, create:Function}>} [o.policies] replaces the standard columns
 * @param {boolean} [o.quick] QUICK sizes instead of DEFAULTS
 * @param {number} [o.requests] @param {number} [o.keys] @param {number} [o.seed] override the sizes/seed
 * @param {number[]} [o.fractions] cache sizes as fractions of distinct keys
 * @param {Array<{name, describe, make}>} [o.traces] replaces the standard suite
 * @param {(line: string) => void} [o.log] progress lines (default: none)
 * @returns {Promise<{ rows: Array<{trace, fraction, capacity, requests, distinct, hits: Record<string, number>, ratio: Record<string, number>}>, policies: string[], markdown: string, ms: number }>}
 */
export async function hitRatioTable(o = {}) {
  const t0 = performance.now();
  const base = o.quick ? QUICK : DEFAULTS;
  const sizes = { requests: o.requests ?? base.requests, keys: o.keys ?? base.keys, seed: o.seed ?? base.seed };
  const traces = o.traces ?? standardTraces(sizes);
  const fractions = o.fractions ?? CACHE_FRACTIONS;
  const policies = [...(o.policies ?? (await standardPolicies())), ...(o.extraPolicies ?? [])];
  const names = policies.map((p) => p.name);
  if (new Set(names).size !== names.length) throw new Error(`duplicate policy names: ${names.join(', ')}`);
  const log = o.log ?? (() => {});

  const rows = [];
  for (const tr of traces) {
    const tt = performance.now();
    const trace = tr.make();
    const space = keySpace(trace);
    const distinct = distinctKeys(trace, space);
    const ctx = { keySpace: space, trace, traceName: tr.name };
    for (const fraction of fractions) {
      const capacity = Math.max(1, Math.round(fraction * distinct));
      const row = { trace: tr.name, fraction, capacity, requests: trace.length, distinct, hits: {}, ratio: {} };
      for (const p of policies) {
        const hits = await simulate(p, capacity, trace, ctx);
        row.hits[p.name] = hits;
        row.ratio[p.name] = hits / trace.length;
      }
      rows.push(row);
    }
    log(`${tr.name}: ${((performance.now() - tt) / 1000).toFixed(2)} s`);
  }
  const ms = performance.now() - t0;
  return { rows, policies: names, markdown: toMarkdown(rows, names, sizes), ms };
}

/** The Markdown table: one row per trace x size, one column per policy. */
export function toMarkdown(rows, names, sizes) {
  const pct = (x) => (100 * x).toFixed(1);
  const size = (f) => `${+(f * 100).toPrecision(3)}%`;
  const head = ['trace', 'cache', 'entries', ...names];
  const lines = [
    `Hit ratio (%), ${sizes.requests} requests per trace over ${sizes.keys} keys, seed ${sizes.seed}; cache = % of the trace's distinct keys.`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`,
  ];
  for (const r of rows) {
    lines.push(`| ${[r.trace, size(r.fraction), r.capacity, ...names.map((n) => pct(r.ratio[n]))].join(' | ')} |`);
  }
  return lines.join('\n');
}

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.split('=', 2);
    const value = () => {
      const v = Number(inline ?? argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${flag} needs a number`);
      return v;
    };
    if (flag === '--quick') o.quick = true;
    else if (flag === '--requests') o.requests = value();
    else if (flag === '--keys') o.keys = value();
    else if (flag === '--seed') o.seed = value();
    else throw new Error(`unknown argument ${a} (use --quick, --requests N, --keys N, --seed N)`);
  }
  return o;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const opts = parseArgs(process.argv.slice(2));
  const { markdown, ms } = await hitRatioTable({
    ...opts, extraPolicies: [shardedmapPolicy()], log: (l) => process.stderr.write(`${l}\n`),
  });
  console.log(markdown);
  console.log(`\nWall time: ${(ms / 1000).toFixed(2)} s (Node ${process.version}).`);
}
