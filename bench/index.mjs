#!/usr/bin/env node
// The benchmark harness (`npm start`): shardedmap against its peers, on
// this machine, in one run. See BENCHMARKS.md for how to read the output;
// `npm start -- --help` lists every option.
import { parseArgs } from 'node:util';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import cliProgress from 'cli-progress';
import { CONTESTANTS, quickCells, fullCells, matrixCells, ycsbCells, ycsbCell, freshCell, cell as makeCell, YCSB, YCSB_RECORDS, adapterUrl } from './workloads.mjs';
import { runCell } from './run.mjs';
import { micro } from './micro.mjs';
import { valuesMicro, batchMicro } from './values.mjs';
import { chartSvg, ratioChartSvg } from './chart.mjs';
import { cellTables, ratioTable, targets, microTable, valueTargets, valuesTable, cacheTargets, nearSection, nativeSection, nearClusterSection } from './report.mjs';
import { nearBench } from './near.mjs';
import { nearClusterBench } from './near-cluster.mjs';
import { hitRatioTable } from './hitratio/run.mjs';
import { shardedmapPolicy } from './hitratio/shardedmap-policy.mjs';
import { nativeAnchor, anchorCellId, ANCHOR_KEYS, ANCHOR_THREADS, ANCHOR_READS, ANCHOR_WINDOW_MS } from './native.mjs';
import { compareReports, compareTable } from './compare.mjs';

const HELP = `usage: npm start -- [options]

  --profile quick|full|matrix|ycsb   cells to run (default quick, ~3 minutes on 2 cores;
                                     full ~10 minutes; matrix hours; ycsb: YCSB A-F, 1 and
                                     cores workers, built-in contestants, cells only)
  --cells id,id                      only these cells (ids as printed; any id + "-fresh")
  --workload ycsb-a,...,ycsb-f       YCSB core workloads (1 and cores workers) instead of
                                     the profile's cells (with --cells: both)
  --records n                        records loaded for YCSB cells (default ${YCSB_RECORDS})
  --fresh-keys                       keys built per call ('key:' + i) instead of read from a
                                     pre-made array, in every cell
  --contestants a,b                  a subset of the built-in contestants
  --contestant ./my-map.mjs          also run an adapter of your own (repeatable; the
                                     contract is in BENCHMARKS.md, "Your own contestant")
  --compare old.json [new.json]      two saved runs: per cell and contestant, the change and
                                     a rank test over the windows (nothing measured); one
                                     file: the run this starts, compared against it
  --go go|/path/to/go|off            the native anchor (bench/go) when Go is there
                                     (default go: found on the PATH, or one line says why not)
  --go-keys 1000,1000000             the anchor's key counts (default ${ANCHOR_KEYS.join(',')})
  --cells-only                       skip the one-thread sections (boundary, values,
                                     hit ratio, near cache)
  --duration ms  --runs n  --warmup ms  --sample-every n
                                     timed windows per cell (default 500 ms × 3 after 300 ms)
                                     and every nth op timed for latencies (default 64)
  --timeout ms                       bound on a contestant's setup and on each cell
                                     (default 120000): a hung adapter fails its row
  --json                             JSON on stdout instead of tables
  --out dir                          where <run>.{json,md,svg} and <run>-ratio.svg go
                                     (default bench/results/)
  -h, --help`;

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    profile: { type: 'string', default: 'quick' },
    contestants: { type: 'string' },
    contestant: { type: 'string', multiple: true, default: [] },
    cells: { type: 'string' },
    workload: { type: 'string' },
    records: { type: 'string', default: String(YCSB_RECORDS) },
    'fresh-keys': { type: 'boolean', default: false },
    compare: { type: 'string' },
    go: { type: 'string', default: 'go' },
    'go-keys': { type: 'string', default: ANCHOR_KEYS.join(',') },
    'cells-only': { type: 'boolean', default: false },
    duration: { type: 'string', default: '500' },
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '300' },
    'sample-every': { type: 'string', default: '64' },
    timeout: { type: 'string', default: '120000' },
    json: { type: 'boolean', default: false },
    out: { type: 'string', default: new URL('./results/', import.meta.url).pathname },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  console.log(`\ncontestants: ${CONTESTANTS.map((c) => c.id).join(', ')}`);
  console.log(`workloads: ${Object.entries(YCSB).map(([k, w]) => `${k} (${w.title})`).join(', ')}`);
  process.exit(0);
}
// npm runs scripts from the package's folder; paths on the command line
// are the user's, relative to where they typed it.
const userDir = process.env.INIT_CWD ?? process.cwd();
const readReport = (file) => JSON.parse(readFileSync(resolve(userDir, file), 'utf8'));

if (positionals.length && !args.compare) throw new RangeError(`unexpected arguments: ${positionals.join(' ')} (see --help)`);
if (args.compare && positionals.length > 1) throw new RangeError('--compare takes one or two files');
if (args.compare && positionals.length === 1) {
  // Two saved runs: compare them, measure nothing.
  const rows = compareReports(readReport(args.compare), readReport(positionals[0]));
  if (args.json) console.log(JSON.stringify(rows, null, 2));
  else console.log(`### ${args.compare} → ${positionals[0]}\n\n${compareTable(rows)}`);
  process.exit(0);
}
const baseline = args.compare ? readReport(args.compare) : null;

const int = (name, min = 1) => {
  const x = Number(args[name]);
  if (!Number.isInteger(x) || x < min) throw new RangeError(`--${name} must be an integer ≥ ${min} (got ${args[name]})`);
  return x;
};
const cores = availableParallelism();
const records = int('records');
const profiles = { quick: quickCells, full: fullCells, matrix: matrixCells, ycsb: (n) => ycsbCells(n, records) };
if (!profiles[args.profile]) throw new RangeError(`--profile must be one of ${Object.keys(profiles).join(', ')}`);
const workloads = args.workload ? args.workload.split(',') : [];
for (const w of workloads) if (!YCSB[w]) throw new RangeError(`--workload must be among ${Object.keys(YCSB).join(', ')} (got ${w})`);
/** The cell without its list of contestants (c.contestants: a quick cell
 *  only some run). */
const everyone = ({ contestants: _omit, ...c }) => c;
let cells = args.cells || workloads.length ? [] : profiles[args.profile](cores);
if (args.cells) {
  const universe = [...profiles.matrix(cores), ...profiles.full(cores), ...profiles.quick(cores), ...profiles.ycsb(cores)];
  for (const id of args.cells.split(',')) {
    const base = id.endsWith('-fresh') ? id.slice(0, -'-fresh'.length) : id;
    let c = universe.find((x) => x.id === id) ?? universe.find((x) => x.id === base);
    if (!c) throw new RangeError(`no cell matches ${id} in --cells`);
    c = everyone(c); // a cell picked by id runs every contestant
    cells.push(id !== base ? freshCell(c) : c);
  }
}
for (const w of workloads) for (const n of [1, Math.max(2, cores)]) cells.push(ycsbCell(w, records, n));
if (args['fresh-keys']) cells = cells.map((c) => freshCell(everyone(c)));
cells = cells.filter((c, i) => cells.findIndex((d) => d.id === c.id) === i);
const ycsbOnly = cells.every((c) => c.workload);

let contestants = CONTESTANTS;
if (args.contestants) {
  const want = args.contestants.split(',');
  contestants = CONTESTANTS.filter((c) => want.includes(c.id));
  if (!contestants.length) throw new RangeError(`no contestant matches; known: ${CONTESTANTS.map((c) => c.id).join(', ')}`);
}
// Contestants of the user's own (--contestant): an adapter file each.
const userContestants = [];
for (const file of args.contestant) {
  const url = pathToFileURL(resolve(userDir, file)).href;
  let id = basename(file, extname(file));
  let label = `${id} (${file})`;
  try {
    const m = await import(adapterUrl(url));
    if (typeof m.id === 'string') id = m.id;
    if (typeof m.label === 'string') label = `${m.label} (${file})`;
  } catch (e) {
    label = `${id} (${file}; does not load: ${String(e?.message ?? e).split('\n')[0]})`;
  }
  while ([...contestants, ...userContestants].some((c) => c.id === id)) id += "'";
  userContestants.push({ id, module: url, label, user: true });
}
contestants = [...contestants, ...userContestants];
const o = {
  runs: int('runs'),
  durationMs: int('duration'),
  warmupMs: int('warmup', 0),
  sampleEvery: int('sample-every'),
  timeoutMs: int('timeout'),
};
if ((o.sampleEvery & (o.sampleEvery - 1)) !== 0) throw new RangeError('--sample-every must be a power of two');
const runName = ycsbOnly && args.profile !== 'ycsb' ? 'workload' : args.profile;

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  date: new Date().toISOString(),
};
/** Whether contestant k runs cell c: a built-in may be limited to some
 *  cells (k.only), a cell to some built-ins (c.contestants); a user's
 *  contestant runs every cell. */
const runs = (k, c) => k.user || ((!k.only || k.only(c)) && (!c.contestants || c.contestants.includes(k.id)));
contestants = contestants.filter((k) => cells.some((c) => runs(k, c)));
const log = args.json ? () => {} : (...xs) => console.log(...xs);
log(`shardedmap benchmark — ${runName === 'workload' ? `--workload ${args.workload}` : `profile ${args.profile}`}: ${cells.length} cells × ${contestants.length} contestants, ${o.runs} × ${o.durationMs} ms windows each`);
log(`${machine.cpu}, ${cores} cores, Node ${machine.node}\n`);

const withCore = contestants.some((c) => c.id === 'shardedmap');
// Seconds each part of the run took (the report's `elapsedS`).
const elapsedS = {};
let lap = performance.now();
const took = (part) => {
  const now = performance.now();
  elapsedS[part] = Math.round((now - lap) / 100) / 10;
  lap = now;
};
// The one-thread sections (boundary, values, hit ratio, near cache) go with
// the profiles of the project's own cells.
const extras = withCore && !args['cells-only'] && !ycsbOnly;
const microResult = extras ? micro() : null;
// The value paths and batch reads, one thread, before the cells (they take
// ~40 s, most of it filling a 1M-key map and Map).
const valuesResult = extras ? { ...(await valuesMicro()), batch: [await batchMicro(1000), await batchMicro(1_000_000)] } : null;
took('boundary and values');

const bar = new cliProgress.SingleBar(
  { format: ' {bar} {value}/{total} | {cell} | {who}', hideCursor: true, noTTYOutput: false },
  cliProgress.Presets.shades_classic,
);
const total = cells.reduce((n, c) => n + contestants.filter((k) => runs(k, c)).length, 0);
if (!args.json) bar.start(total, 0, { cell: '', who: '' });
const results = [];
/** One contestant on one cell; what it throws goes in its row. */
async function measure(k, c) {
  const t0 = performance.now();
  let r;
  try {
    r = await runCell(k, c, o);
  } catch (e) {
    r = { contestant: k.id, cell: c.id, error: String(e?.message ?? e).split('\n')[0], opsPerSec: NaN };
  }
  // Wall seconds of the whole cell (setup, workers, windows, teardown).
  r.elapsedS = Math.round((performance.now() - t0) / 100) / 10;
  return r;
}
for (const c of cells) {
  for (const k of contestants) {
    if (!runs(k, c)) continue;
    if (!args.json) bar.update({ cell: c.id, who: k.id });
    results.push(await measure(k, c));
    if (!args.json) bar.increment();
  }
}
if (!args.json) bar.stop();
took('cells');

// The native anchor: bench/go on the anchor cells, when Go is there, and
// shardedmap on those of them this run did not measure.
let native = null;
if (args.go !== 'off' && withCore && !ycsbOnly) {
  const keys = args['go-keys'].split(',').map(Number);
  log('Native anchor (Go): building and running bench/go ...');
  const t0 = performance.now();
  // Go windows of at most ANCHOR_WINDOW_MS (see there).
  native = nativeAnchor({ go: args.go, keys, threads: ANCHOR_THREADS, durationMs: Math.min(o.durationMs, ANCHOR_WINDOW_MS), runs: o.runs });
  native.elapsedS = Math.round((performance.now() - t0) / 100) / 10;
  if (native.skipped) log(native.skipped);
  else {
    const me = contestants.find((k) => k.id === 'shardedmap');
    for (const n of keys) {
      for (const t of ANCHOR_THREADS) {
        const id = anchorCellId(n, t);
        if (results.some((r) => r.cell === id && r.contestant === 'shardedmap')) continue;
        const c = makeCell(n, ANCHOR_READS, t);
        results.push({ ...(await measure(me, c)), anchorOnly: true });
      }
    }
  }
}

took('native anchor');

// Hit ratios of the cache on synthetic traces beside LRU, one global
// S3-FIFO, SIEVE and Belady (bench/hitratio; a few seconds quick).
const hit = extras
  ? await hitRatioTable({ quick: args.profile === 'quick', extraPolicies: [shardedmapPolicy()] })
  : null;

// The near cache in front of a redis-server of our own (bench/near.mjs).
let near = null;
if (extras) {
  try {
    near = await nearBench({ quick: args.profile === 'quick' });
  } catch (e) {
    near = { error: String(e?.message ?? e) };
  }
}
// The same over a Redis Cluster of our own (bench/near-cluster.mjs): in
// the full profile (starting six nodes costs the quick one ~20 s).
let nearCluster = null;
if (extras && args.profile === 'full') {
  try {
    nearCluster = await nearClusterBench({ quick: args.profile === 'quick' });
  } catch (e) {
    nearCluster = { error: String(e?.message ?? e) };
  }
}

took('hit ratio and near cache');
elapsedS.total = Math.round(Object.values(elapsedS).reduce((a, b) => a + b, 0) * 10) / 10;

const comparison = baseline ? compareReports(baseline, { results }) : null;
const report = {
  machine, profile: args.profile, options: o, cells, contestants: contestants.map(({ only, ...k }) => k),
  micro: microResult?.ns, values: valuesResult, hitRatio: hit?.rows, near, nearCluster, native, comparison, elapsedS, results,
};
const md = [
  `${runName === 'workload' ? `Workloads \`${args.workload}\`` : `Profile \`${args.profile}\``}, ${machine.date}: ${machine.cpu}, ${cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node} (${machine.platform}).`,
  `Took ${elapsedS.total} s (${Object.entries(elapsedS).filter(([k, v]) => k !== 'total' && v >= 0.1).map(([k, v]) => `${k} ${v} s`).join(', ')}).`,
  `Each cell: ${o.runs} timed windows of ${o.durationMs} ms after ${o.warmupMs} ms warm-up; ops/s is the median window, summed over workers; every ${o.sampleEvery}th op is timed for latencies.`,
  ...(comparison ? [`### Compared with ${args.compare}`, compareTable(comparison)] : []),
  ...(!ycsbOnly ? ['### Targets', targets(results, cells)] : []),
  ...(valuesResult ? ['### Value and batch targets', valueTargets(valuesResult, results), '### Value paths (1 thread, 1K keys, random order)', valuesTable(valuesResult)] : []),
  ...(extras ? ['### Cache targets', cacheTargets(results, hit)] : []),
  ...(hit ? ['### Hit ratio', hit.markdown] : []),
  ...(extras ? ['### Near cache (shardedmap/redis)', nearSection(near)] : []),
  ...(nearCluster ? ['### Near cache over a Redis Cluster (shardedmap/redis, `cluster`)', nearClusterSection(nearCluster)] : []),
  ...(native ? ['### Native anchor (Go)', nativeSection(native, results)] : []),
  '### shardedmap ÷ each peer (ops/s)',
  ratioTable(results, cells, contestants),
  ...(microResult ? ['### Boundary costs', microTable(microResult)] : []),
  '### Every cell',
  cellTables(results, cells, contestants),
].join('\n\n');

mkdirSync(resolve(userDir, args.out), { recursive: true });
const outBase = resolve(userDir, args.out, runName);
writeFileSync(`${outBase}.json`, JSON.stringify(report, null, 2));
writeFileSync(`${outBase}.md`, md + '\n');
const written = ['json', 'md'];
try {
  writeFileSync(`${outBase}.svg`, await chartSvg(results, cells, contestants));
  written.push('svg');
  const ratio = await ratioChartSvg(results, cells, contestants);
  if (ratio) {
    writeFileSync(`${outBase}-ratio.svg`, ratio);
    written.push('-ratio.svg');
  }
} catch (e) {
  log(`(chart not written: ${e.message})`);
}

if (args.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log('\n' + md);
  console.log(`\nWritten: ${outBase}.{${written.filter((w) => !w.startsWith('-')).join(',')}}${written.includes('-ratio.svg') ? ` and ${outBase}-ratio.svg` : ''}`);
}
