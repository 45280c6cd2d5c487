// One benchmark worker: opens a contestant, checks that it returns what
// was stored, warms up, then runs the cell's precomputed operation stream
// for `runs` timed windows, each started together with the other workers
// at a barrier. Reports ops, sampled latencies, GC events inside the
// windows, heap, lock waits (when the adapter counts them) and a
// visibility check.
import { parentPort, workerData } from 'node:worker_threads';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { makeKeys, valueFn, opStream, adapterUrl, keyOf, OP } from './workloads.mjs';

const { module, cell, data, index, runs, durationMs, warmupMs, gate, sampleEvery } = workerData;
const adapter = await import(adapterUrl(module));
const keys = makeKeys(cell.maxKeys ?? cell.keys);
const value = valueFn(cell.value);
const numeric = cell.value === 'number';
const client = await adapter.open(data, numeric, { keys: keys.slice(0, cell.keys), value });
const vals = Array.from({ length: 64 }, (_, i) => value(i + 1000 * index));
const { idx, ops, scanLen } = opStream(cell, index);
const key = keyOf(cell, keys);
const MASK = idx.length - 1;
const SAMPLE_MASK = sampleEvery - 1;
const MAX_SAMPLES = 1 << 18;
if (cell.workload === 'ycsb-e' && typeof client.scan !== 'function') throw new Error('its adapter exports canScan but its client has no scan(key, count)');

/** All workers reach the next barrier before any goes on. */
let barriers = 0;
function barrier() {
  const target = cell.workers * ++barriers;
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

// The adapter returns what was stored: a few loaded keys, then a store and
// a load of a key of this worker's own, all before any worker writes (a
// map that returns wrong values has no throughput worth printing).
const same = (a, b) => (numeric ? Object.is(+a, b) : JSON.stringify(a) === JSON.stringify(b));
const show = (x) => (typeof x === 'string' ? JSON.stringify(x.length > 40 ? x.slice(0, 40) + '...' : x) : JSON.stringify(x)?.slice(0, 60) ?? String(x));
for (let i = 0; i < cell.keys; i += Math.max(1, Math.floor(cell.keys / 16))) {
  const got = await client.load(keys[i]);
  if (!same(got, value(i))) throw new Error(`wrong value: load(${show(keys[i])}) returned ${show(got)}, stored ${show(value(i))}`);
}
barrier();
{
  const k = `chk:${index}`;
  await client.store(k, vals[0]);
  const got = await client.load(k);
  if (!same(got, vals[0])) throw new Error(`wrong value: load(${show(k)}) after store returned ${show(got)}, stored ${show(vals[0])}`);
}

const gcs = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([e.startTime, e.duration]);
});
observer.observe({ entryTypes: ['gc'] });

let pos = 0;
let sink = 0;

/** Counts of each op code done in the timed windows (YCSB mixes), from
 *  the stream positions each window covered (counted after it). */
const opCounts = new Float64Array(6);
function countOps(from, n) {
  const whole = Math.floor(n / idx.length);
  if (whole) {
    const per = new Float64Array(6);
    for (let i = 0; i < ops.length; i++) per[ops[i]]++;
    for (let k = 0; k < 6; k++) opCounts[k] += whole * per[k];
  }
  for (let j = 0, i = from; j < n % idx.length; j++, i = (i + 1) & MASK) opCounts[ops[i]]++;
}

function one(op, k, i) {
  if (op === OP.LOAD) {
    if (client.load(k) !== undefined) sink++;
  } else if (op === OP.STORE || op === OP.INSERT) {
    client.store(k, vals[i & 63]);
  } else if (op === OP.DELETE) {
    client.del(k);
  } else if (op === OP.SCAN) {
    sink += client.scan(k, scanLen[i]);
  } else {
    // Read-modify-write: the read's value is used (YCSB modifies a field of
    // it); the record written is one of this worker's.
    if (client.load(k) !== undefined) sink++;
    client.store(k, vals[i & 63]);
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
      const k = key(idx[i]);
      if (lat !== null && (n & SAMPLE_MASK) === 0 && s < MAX_SAMPLES && ws < MAX_SAMPLES) {
        const op = ops[i];
        const t0 = performance.now();
        one(op, k, i);
        const dt = performance.now() - t0;
        if (op === OP.LOAD || op === OP.SCAN) lat[s++] = dt;
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
  if (op === OP.LOAD) {
    if ((await client.load(k)) !== undefined) sink++;
  } else if (op === OP.STORE || op === OP.INSERT) {
    await client.store(k, vals[i & 63]);
  } else if (op === OP.DELETE) {
    await client.del(k);
  } else if (op === OP.SCAN) {
    sink += await client.scan(k, scanLen[i]);
  } else {
    if ((await client.load(k)) !== undefined) sink++;
    await client.store(k, vals[i & 63]);
  }
}

async function runAsync(ms, lat, wlat) {
  let i = pos;
  let n = 0;
  let s = 0;
  let ws = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const k = key(idx[i]);
    if (lat !== null && (n & SAMPLE_MASK) === 0 && s < MAX_SAMPLES && ws < MAX_SAMPLES) {
      const op = ops[i];
      const t0 = performance.now();
      await oneAsync(op, k, i);
      const dt = performance.now() - t0;
      if (op === OP.LOAD || op === OP.SCAN) lat[s++] = dt;
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
// Lock waits: an adapter's client may count them (`counters()`: numbers
// since it opened, read outside the windows).
const counters = typeof client.counters === 'function' ? () => client.counters() : null;
for (let r = 0; r < runs; r++) {
  const c0 = counters?.();
  barrier();
  const from = pos;
  const start = performance.now();
  const { n, s, ws } = await run(durationMs, lat, wlat);
  const end = performance.now();
  const c1 = counters?.();
  if (cell.workload) countOps(from, n);
  await new Promise((res) => setImmediate(res)); // let GC entries arrive
  const inRun = gcs.filter(([st]) => st >= start && st <= end);
  results.push({
    ops: n, ms: end - start, gcEvents: inRun.length, gcMs: inRun.reduce((a, [, d]) => a + d, 0),
    lockWaits: c0 && c1 ? c1.lockWaits - c0.lockWaits : null,
  });
  samples.push(lat.slice(0, s));
  wsamples.push(wlat.slice(0, ws));
}
observer.disconnect();

// Visibility: each worker stores a token; after a barrier, reads its neighbour's.
let visible = null;
if (cell.workers > 1) {
  const token = (w) => (numeric ? 1e9 + w : cell.value === 'string' ? `visible-${w}` : { visible: w });
  await client.store(`vis:${index}`, token(index));
  barrier();
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
    opCounts: cell.workload ? [...opCounts] : null,
    sink,
  },
  [all.buffer, wall.buffer],
);
await client.close();
