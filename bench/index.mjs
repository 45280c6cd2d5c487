#!/usr/bin/env node
// The benchmark harness (`npm start`): shardedmap against its peers, on
// this machine, in one run. See BENCHMARKS.md for how to read the output.
//
//   npm start                                  quick profile (~2 minutes)
//   npm start -- --profile full                sweeps of every axis (~10 minutes)
//   npm start -- --profile matrix              the whole product (hours)
//   npm start -- --contestants shardedmap,map  a subset of contestants
//   npm start -- --cells 1K-r90-w2-number      a subset of cells (ids as printed)
//   npm start -- --duration 1000 --runs 5      longer, more repeated windows
//   npm start -- --json                        JSON on stdout instead of tables
import { parseArgs } from 'node:util';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { CONTESTANTS, quickCells, fullCells, matrixCells } from './workloads.mjs';
import { runCell } from './run.mjs';
import { micro } from './micro.mjs';
import { valuesMicro, batchMicro } from './values.mjs';
import { chartSvg } from './chart.mjs';
import { cellTables, ratioTable, targets, microTable, valueTargets, valuesTable, cacheTargets, nearSection, nearClusterSection } from './report.mjs';
import { nearBench } from './near.mjs';
import { nearClusterBench } from './near-cluster.mjs';
import { hitRatioTable } from './hitratio/run.mjs';
import { shardedmapPolicy } from './hitratio/shardedmap-policy.mjs';

const { values: args } = parseArgs({
  options: {
    profile: { type: 'string', default: 'quick' },
    contestants: { type: 'string' },
    cells: { type: 'string' },
    duration: { type: 'string', default: '500' },
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '300' },
    'sample-every': { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
    out: { type: 'string', default: new URL('./results/', import.meta.url).pathname },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log('usage: npm start -- [--profile quick|full|matrix] [--contestants a,b] [--cells id,id] [--duration ms] [--runs n] [--warmup ms] [--sample-every n] [--json] [--out dir]');
  console.log(`contestants: ${CONTESTANTS.map((c) => c.id).join(', ')}`);
  process.exit(0);
}

const cores = availableParallelism();
const profiles = { quick: quickCells, full: fullCells, matrix: matrixCells };
if (!profiles[args.profile]) throw new RangeError(`--profile must be one of ${Object.keys(profiles).join(', ')}`);
let cells = profiles[args.profile](cores);
if (args.cells) {
  const want = args.cells.split(',');
  cells = [...profiles.matrix(cores), ...profiles.full(cores), ...profiles.quick(cores)].filter(
    (c, i, all) => want.includes(c.id) && all.findIndex((d) => d.id === c.id) === i,
  );
  if (!cells.length) throw new RangeError(`no cell matches --cells ${args.cells}`);
}
let contestants = CONTESTANTS;
if (args.contestants) {
  const want = args.contestants.split(',');
  contestants = CONTESTANTS.filter((c) => want.includes(c.id));
  if (!contestants.length) throw new RangeError(`no contestant matches; known: ${CONTESTANTS.map((c) => c.id).join(', ')}`);
}
const o = {
  runs: Number(args.runs),
  durationMs: Number(args.duration),
  warmupMs: Number(args.warmup),
  sampleEvery: Number(args['sample-every']),
  timeoutMs: 120_000,
};

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  date: new Date().toISOString(),
};
const log = args.json ? () => {} : (...xs) => console.log(...xs);
log(`shardedmap benchmark — profile ${args.profile}: ${cells.length} cells × ${contestants.length} contestants, ${o.runs} × ${o.durationMs} ms windows each`);
log(`${machine.cpu}, ${cores} cores, Node ${machine.node}\n`);

const withCore = contestants.some((c) => c.id === 'shardedmap');
const microResult = withCore ? micro() : null;
// The value paths and batch reads, one thread, before the cells (they take
// ~40 s, most of it filling a 1M-key map and Map).
const valuesResult = withCore ? { ...(await valuesMicro()), batch: [await batchMicro(1000), await batchMicro(1_000_000)] } : null;

const bar = new cliProgress.SingleBar(
  { format: ' {bar} {value}/{total} | {cell} | {who}', hideCursor: true, noTTYOutput: false },
  cliProgress.Presets.shades_classic,
);
const total = cells.reduce((n, c) => n + contestants.filter((k) => !k.only || k.only(c)).length, 0);
if (!args.json) bar.start(total, 0, { cell: '', who: '' });
const results = [];
for (const c of cells) {
  for (const k of contestants) {
    if (k.only && !k.only(c)) continue;
    if (!args.json) bar.update({ cell: c.id, who: k.id });
    try {
      results.push(await runCell(k, c, o));
    } catch (e) {
      results.push({ contestant: k.id, cell: c.id, error: String(e?.message ?? e), opsPerSec: NaN });
    }
    if (!args.json) bar.increment();
  }
}
if (!args.json) bar.stop();

// Hit ratios of the cache on synthetic traces beside LRU, one global
// S3-FIFO, SIEVE and Belady (bench/hitratio; a few seconds quick).
const hit = withCore
  ? await hitRatioTable({ quick: args.profile === 'quick', extraPolicies: [shardedmapPolicy()] })
  : null;

// The near cache in front of a redis-server of our own (bench/near.mjs).
let near = null;
if (withCore) {
  try {
    near = await nearBench({ quick: args.profile === 'quick' });
  } catch (e) {
    near = { error: String(e?.message ?? e) };
  }
}
// The same over a Redis Cluster of our own (bench/near-cluster.mjs).
let nearCluster = null;
if (withCore) {
  try {
    nearCluster = await nearClusterBench({ quick: args.profile === 'quick' });
  } catch (e) {
    nearCluster = { error: String(e?.message ?? e) };
  }
}

const report = { machine, profile: args.profile, options: o, cells, contestants, micro: microResult?.ns, values: valuesResult, hitRatio: hit?.rows, near, nearCluster, results };
const md = [
  `Profile \`${args.profile}\`, ${machine.date}: ${machine.cpu}, ${cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node} (${machine.platform}).`,
  `Each cell: ${o.runs} timed windows of ${o.durationMs} ms after ${o.warmupMs} ms warm-up; ops/s is the median window, summed over workers; every ${o.sampleEvery}th op is timed for latencies.`,
  '### Targets',
  targets(results, cells),
  ...(valuesResult ? ['### Value and batch targets', valueTargets(valuesResult, results), '### Value paths (1 thread, 1K keys, random order)', valuesTable(valuesResult)] : []),
  '### Cache targets',
  cacheTargets(results, hit),
  ...(hit ? ['### Hit ratio', hit.markdown] : []),
  '### Near cache (shardedmap/redis)',
  nearSection(near),
  '### Near cache over a Redis Cluster (shardedmap/redis, `cluster`)',
  nearClusterSection(nearCluster),
  '### shardedmap ÷ each peer (ops/s)',
  ratioTable(results, cells, contestants),
  ...(microResult ? ['### Boundary costs', microTable(microResult)] : []),
  '### Every cell',
  cellTables(results, cells, contestants),
].join('\n\n');

mkdirSync(args.out, { recursive: true });
writeFileSync(`${args.out}/${args.profile}.json`, JSON.stringify(report, null, 2));
writeFileSync(`${args.out}/${args.profile}.md`, md + '\n');
let svg = '';
try {
  svg = await chartSvg(results, cells, contestants);
  writeFileSync(`${args.out}/${args.profile}.svg`, svg);
} catch (e) {
  log(`(chart not written: ${e.message})`);
}

if (args.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log('\n' + md);
  console.log(`\nWritten: ${args.out}${args.profile}.{json,md${svg ? ',svg' : ''}}`);
}
