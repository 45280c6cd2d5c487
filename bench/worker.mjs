// One benchmark worker: opens a contestant, warms up, then runs the cell's
// precomputed operation stream for `runs` timed windows, each started
// together with the other workers at a barrier. Reports ops, sampled
// latencies, GC events inside the windows, heap, and a visibility check.
import { parentPort, workerData } from 'node:worker_threads';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { makeKeys, valueFn, opStream } from './workloads.mjs';

const { module, cell, data, index, runs, durationMs, warmupMs, gate, sampleEvery } = workerData;
const adapter = await import(`./contestants/${module}.mjs`);
const keys = makeKeys(cell.keys);
const value = valueFn(cell.value);
const numeric = cell.value === 'number';
const client = await adapter.open(data, numeric, { keys, value });
const vals = Array.from({ length: 64 }, (_, i) => value(i + 1000 * index));
const { idx, ops } = opStream(cell, index);
const MASK = idx.length - 1;
const SAMPLE_MASK = sampleEvery - 1;
const MAX_SAMPLES = 1 << 18;

const gcs = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([e.startTime, e.duration]);
});
observer.observe({ entryTypes: ['gc'] });

let pos = 0;
let sink = 0;

function one(op, k, i) {
  if (op === 0) {
    if (client.load(k) !== undefined) sink++;
  } else if (op === 1) {
    client.store(k, vals[i & 63]);
  } else {
    client.del(k);
  }
}

/** Run for `ms`; time every sampleEvery-th op into lat (loads) or wlat
 *  (writes), so the timer's cost stays out of most operations. */
function runSync(ms, lat, wlat) {
  let i = pos;
  let n = 0;
  let s = 0;
  let ws = 0;
  const end = performance.now() + ms;
  for (;;) {
    for (let j = 0; j < 256; j++) {
      const k = keys[idx[i]];
      if (lat !== null && (n & SAMPLE_MASK) === 0 && s < MAX_SAMPLES && ws < MAX_SAMPLES) {
        const op = ops[i];
        const t0 = performance.now();
        one(op, k, i);
        const dt = performance.now() - t0;
        if (op === 0) lat[s++] = dt;
        else wlat[ws++] = dt;
      } else {
        one(ops[i], k, i);
      }
      i = (i + 1) & MASK;
      n++;
    }
    if (performance.now() >= end) break;
  }
  pos = i;
  return { n, s, ws };
}

async function oneAsync(op, k, i) {
  if (op === 0) {
    if ((await client.load(k)) !== undefined) sink++;
  } else if (op === 1) {
    await client.store(k, vals[i & 63]);
  } else {
    await client.del(k);
  }
}

async function runAsync(ms, lat, wlat) {
  let i = pos;
  let n = 0;
  let s = 0;
  let ws = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const k = keys[idx[i]];
    if (lat !== null && (n & SAMPLE_MASK) === 0 && s < MAX_SAMPLES && ws < MAX_SAMPLES) {
      const op = ops[i];
      const t0 = performance.now();
      await oneAsync(op, k, i);
      const dt = performance.now() - t0;
      if (op === 0) lat[s++] = dt;
      else wlat[ws++] = dt;
    } else {
      await oneAsync(ops[i], k, i);
    }
    i = (i + 1) & MASK;
    n++;
  }
  pos = i;
  return { n, s, ws };
}

const run = adapter.async ? runAsync : runSync;

/** All workers reach barrier k before any goes on. */
function barrier(k) {
  const target = cell.workers * k;
  if (Atomics.add(gate, 0, 1) + 1 >= target) {
    Atomics.notify(gate, 0);
    return;
  }
  for (;;) {
    const cur = Atomics.load(gate, 0);
    if (cur >= target) return;
    Atomics.wait(gate, 0, cur, 10);
  }
}

// The timer's own cost, to read latencies against.
let t = 0;
const t0 = performance.now();
for (let i = 0; i < 100_000; i++) t += performance.now();
const timerNs = ((performance.now() - t0) / 100_000) * 1e6;

await run(warmupMs, null, null);
const results = [];
const lat = new Float64Array(MAX_SAMPLES);
const wlat = new Float64Array(MAX_SAMPLES);
const samples = [];
const wsamples = [];
for (let r = 0; r < runs; r++) {
  barrier(r + 1);
  const start = performance.now();
  const { n, s, ws } = await run(durationMs, lat, wlat);
  const end = performance.now();
  await new Promise((res) => setImmediate(res)); // let GC entries arrive
  const inRun = gcs.filter(([st]) => st >= start && st <= end);
  results.push({ ops: n, ms: end - start, gcEvents: inRun.length, gcMs: inRun.reduce((a, [, d]) => a + d, 0) });
  samples.push(lat.slice(0, s));
  wsamples.push(wlat.slice(0, ws));
}
observer.disconnect();

// Visibility: each worker stores a token; after a barrier, reads its neighbour's.
let visible = null;
if (cell.workers > 1) {
  const token = (w) => (numeric ? 1e9 + w : cell.value === 'string' ? `visible-${w}` : { visible: w });
  await client.store(`vis:${index}`, token(index));
  barrier(runs + 1);
  const other = (index + 1) % cell.workers;
  const got = await client.load(`vis:${other}`);
  visible = JSON.stringify(numeric ? +got : got) === JSON.stringify(token(other));
}

function concat(parts) {
  const out = new Float64Array(parts.reduce((a, s) => a + s.length, 0));
  let off = 0;
  for (const s of parts) {
    out.set(s, off);
    off += s.length;
  }
  return out;
}
const all = concat(samples);
const wall = concat(wsamples);
parentPort.postMessage(
  {
    runs: results,
    samplesMs: all,
    writeSamplesMs: wall,
    timerNs,
    heapUsed: v8.getHeapStatistics().used_heap_size,
    rss: process.memoryUsage.rss(), // the whole process: every worker and the main thread
    visible,
    sink,
  },
  [all.buffer, wall.buffer],
);
await client.close();
