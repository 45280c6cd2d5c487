// Runs one cell for one contestant: setup in this thread, N workers on the
// same operation stream, then aggregates what they measured.
import { Worker } from 'node:worker_threads';
import { makeKeys, valueFn, adapterUrl, YCSB } from './workloads.mjs';

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** ns per call of `fn(n)` (which makes n calls), median of 5 rounds, the
 *  first dropped (warm-up): the one-thread micro-benchmarks' timer. */
export function nsPerCall(fn, n) {
  const xs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    fn(n);
    xs.push(((performance.now() - t0) / n) * 1e6);
  }
  return median(xs.slice(1));
}

/** `promise`, or a rejection after `ms` saying what timed out. */
function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * @param contestant one of CONTESTANTS (or a `--contestant` file's)
 * @param cell one workload cell
 * @param o { runs, durationMs, warmupMs, sampleEvery, timeoutMs }
 * Throws what the adapter threw, or a timeout: the caller reports it in
 * the contestant's row. A cell with scans (YCSB E) and an adapter that
 * cannot range returns a row with `skipped` instead.
 */
export async function runCell(contestant, cell, o) {
  const adapter = await import(adapterUrl(contestant.module));
  if (cell.workload && YCSB[cell.workload].mix.scan && !adapter.canScan) {
    return { contestant: contestant.id, cell: cell.id, skipped: 'cannot range (no ordered scan)', opsPerSec: NaN };
  }
  const keys = makeKeys(cell.keys);
  const value = valueFn(cell.value);
  // Bounded, but only if setup returns to the event loop: a setup that
  // loops forever synchronously holds this thread (BENCHMARKS.md says so).
  const pending = Promise.resolve(adapter.setup(cell, { keys, value }, contestant.options));
  const setup = await bounded(pending, o.timeoutMs, 'setup').catch((e) => {
    // A setup that finishes after its bound is torn down when it does.
    pending.then((s) => s?.teardown?.(), () => {});
    throw e;
  });
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const workers = [];
  const done = [];
  let rs;
  try {
    for (let w = 0; w < cell.workers; w++) {
      const { data, transfer = [] } = setup.worker(w);
      const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
        workerData: {
          module: contestant.module, cell, data, index: w, gate,
          runs: o.runs, durationMs: o.durationMs, warmupMs: o.warmupMs, sampleEvery: o.sampleEvery,
        },
        transferList: transfer,
      });
      workers.push(worker);
      done.push(
        new Promise((resolve, reject) => {
          let msg;
          worker.once('message', (m) => (msg = m));
          worker.once('error', reject);
          // 13: the worker's top-level await never settled, its event loop
          // ran dry (an adapter promise that never settles).
          worker.once('exit', (code) => (msg ? resolve(msg) : reject(new Error(code === 13 ? 'hung: a promise of the adapter never settled (worker exited with 13)' : `worker exited with ${code} and no result`))));
        }),
      );
    }
    rs = await bounded(Promise.all(done), o.timeoutMs, 'the cell');
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    await bounded(Promise.resolve(setup.teardown()), o.timeoutMs, 'teardown').catch(() => {});
  }
  return aggregate(contestant, cell, setup, rs, o);
}

function aggregate(contestant, cell, setup, rs, o) {
  const perRun = [];
  for (let r = 0; r < o.runs; r++) {
    perRun.push(rs.reduce((a, w) => a + (w.runs[r].ops / w.runs[r].ms) * 1000, 0));
  }
  const merge = (field) => {
    const out = new Float64Array(rs.reduce((a, w) => a + w[field].length, 0));
    let off = 0;
    for (const w of rs) {
      out.set(w[field], off);
      off += w[field].length;
    }
    return out.sort();
  };
  const merged = merge('samplesMs');
  const writes = merge('writeSamplesMs');
  const at = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] * 1e6 : NaN);
  const pct = (p) => at(merged, p);
  const gcEvents = rs.reduce((a, w) => a + w.runs.reduce((b, r) => b + r.gcEvents, 0), 0) / o.runs;
  const gcMs = rs.reduce((a, w) => a + w.runs.reduce((b, r) => b + r.gcMs, 0), 0) / o.runs;
  const vis = rs.map((w) => w.visible).filter((v) => v !== null);
  const waits = rs.flatMap((w) => w.runs.map((r) => r.lockWaits));
  let opMix = null;
  if (cell.workload) {
    const sum = rs.reduce((a, w) => a.map((x, i) => x + w.opCounts[i]), [0, 0, 0, 0, 0, 0]);
    const all = sum.reduce((a, b) => a + b, 0);
    opMix = sum.map((x) => (all ? x / all : 0));
  }
  return {
    contestant: contestant.id,
    cell: cell.id,
    opsPerSec: median(perRun),
    runsOpsPerSec: perRun,
    spread: (Math.max(...perRun) - Math.min(...perRun)) / median(perRun),
    p50ns: pct(0.5),
    p99ns: pct(0.99),
    p999ns: pct(0.999),
    latencySamples: merged.length,
    writeP99ns: at(writes, 0.99),
    timerNs: median(rs.map((w) => w.timerNs)),
    gcEventsPerWindow: gcEvents,
    gcMsPerWindow: gcMs,
    heapMB: Math.max(...rs.map((w) => w.heapUsed)) / 2 ** 20,
    rssMB: Math.max(...rs.map((w) => w.rss)) / 2 ** 20,
    bytesPerEntry: setup.bytesPerEntry,
    bytesKind: setup.bytesKind,
    visible: vis.length ? vis.every(Boolean) : null,
    // Lock waits in all workers, per window (null: the adapter does not count them).
    lockWaitsPerWindow: waits.every((x) => typeof x === 'number') ? waits.reduce((a, b) => a + b, 0) / o.runs : null,
    // YCSB cells: the share of each op code (OP) among the timed ops, sampled.
    opMix,
  };
}
