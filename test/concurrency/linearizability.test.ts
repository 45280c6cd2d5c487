// Linearizability across workers: several workers run random operations on
// a few shared keys while another churns other keys (growth, rebuilds,
// tombstones, out-of-line entries moving); every operation is stamped on a
// shared clock right before its call and right after it returns, and each
// key's history must be a legal run of a sequential register
// (test/helpers/linearizability.ts: Wing & Gong's search with memoization).
// A control worker that answers some loads from a stale private copy must
// be caught, so a pass is not vacuous; so must the concurrent operations be
// many.
import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { ABSENT, checkHistory, checkKey, countConcurrent, type Op } from '../helpers/linearizability';
import { stopFlag } from '../helpers/workers';
import { expectSound } from '../helpers/sound';
import { readHistory, decodeValue, keyName } from '../workers/lin-history.mjs';

// ---------------------------------------------------------------------------
// The checker on hand-made histories.

/** An operation whose key defaults to 'a'. */
type OnA = Op extends infer O ? (O extends Op ? Omit<O, 'key'> & { key?: string } : never) : never;
/** A hand-made history: operations on key 'a' unless they say otherwise. */
const h = (ops: OnA[]): Op[] => ops.map((o) => ({ key: 'a', ...o }) as Op);

describe('the linearizability checker', () => {
  it('passes a legal concurrent history, whose order differs from the invocation order', () => {
    const history = h([
      { worker: 0, inv: 1, res: 6, kind: 'store', value: 1 },
      { worker: 1, inv: 2, res: 5, kind: 'store', value: 2 }, // takes effect before store(1)
      { worker: 2, inv: 7, res: 8, kind: 'load', value: 1 },
      { worker: 0, inv: 9, res: 14, kind: 'compareAndSwap', expected: 1, next: 3, swapped: true },
      { worker: 1, inv: 10, res: 12, kind: 'swap', value: 0, previous: 3, loaded: true },
      { worker: 2, inv: 13, res: 16, kind: 'loadAndDelete', value: 0, loaded: true },
      { worker: 0, inv: 15, res: 18, kind: 'loadOrStore', value: 2, actual: 2, loaded: false },
      { worker: 1, inv: 17, res: 20, kind: 'delete', deleted: true },
      { worker: 2, inv: 19, res: 21, kind: 'has', present: false },
      { worker: 0, inv: 22, res: 23, kind: 'compareAndDelete', expected: 2, deleted: false },
      { worker: 1, inv: 24, res: 25, kind: 'loadOrStore', value: 3, actual: 3, loaded: false },
      { worker: 2, inv: 26, res: 30, kind: 'loadOrStore', value: 1, actual: 3, loaded: true },
      { worker: 0, inv: 27, res: 29, kind: 'compareAndDelete', expected: 3, deleted: true },
      { worker: 1, inv: 31, res: 32, kind: 'swap', value: 2, previous: ABSENT, loaded: false },
      { key: 'b', worker: 0, inv: 3, res: 4, kind: 'store', value: 5 },
      { key: 'b', worker: 2, inv: 11, res: 24.5, kind: 'load', value: 5 },
    ]);
    const v = checkHistory(history);
    expect(v.ok).toBe(true);
    expect(v.keys.map((k) => [k.key, k.ops])).toEqual([['a', 14], ['b', 2]]);
    expect(countConcurrent(history)).toBe(10);
  });

  it('fails a stale read after a completed write, and names the window', () => {
    const history = h([
      { worker: 0, inv: 1, res: 2, kind: 'store', value: 1 },
      { worker: 1, inv: 3, res: 4, kind: 'load', value: 1 },
      { worker: 0, inv: 5, res: 6, kind: 'store', value: 2 },
      { worker: 2, inv: 5.5, res: 9, kind: 'has', present: true },
      { worker: 1, inv: 7, res: 8, kind: 'load', value: 1 }, // stale: store(2) completed at 6
    ]);
    const v = checkHistory(history);
    expect(v.ok).toBe(false);
    const [k] = v.failures;
    expect(k?.key).toBe('a');
    console.log(k?.explanation);
    // The window: store(2) then the stale load; has() may be in or out.
    expect(k?.window?.map((o) => [o.kind, o.inv])).toEqual([
      ['store', 5],
      ['has', 5.5],
      ['load', 7],
    ]);
    expect(k?.explanation).toMatch(/^key a is not linearizable/);
    expect(k?.explanation).toMatch(/1: load\(\) → 1 \[7, 8\]/);
  });

  it('fails a compareAndSwap that succeeded against a value that was never there', () => {
    const history = h([
      { worker: 0, inv: 1, res: 2, kind: 'store', value: 1 },
      { worker: 1, inv: 3, res: 5, kind: 'compareAndSwap', expected: 7, next: 3, swapped: true },
      { worker: 2, inv: 4, res: 7, kind: 'load', value: 3 },
    ]);
    const v = checkHistory(history);
    expect(v.ok).toBe(false);
    // Not from the compareAndSwap alone (7 might have been there): from the
    // store(1) that completed before it.
    expect(v.failures[0]?.window?.map((o) => o.kind)).toEqual(['store', 'compareAndSwap', 'load']);
    // On a key that starts absent, the window reaches back to the start.
    const fromStart = checkHistory(h([{ worker: 1, inv: 1, res: 2, kind: 'compareAndSwap', expected: 7, next: 3, swapped: true }]));
    expect(fromStart.ok).toBe(false);
    expect(fromStart.failures[0]?.window?.length).toBe(1);
  });

  it('says "unknown" rather than search past its budget', () => {
    const history = h(
      Array.from({ length: 12 }, (_, i) => ({ worker: i, inv: i, res: 100 + i, kind: 'store' as const, value: i })),
    );
    const v = checkHistory([...history, { key: 'a', worker: 99, inv: 200, res: 201, kind: 'load', value: 42 }], { budget: 100 });
    expect(v.ok).toBeUndefined();
    expect(v.failures[0]?.explanation).toMatch(/undecided after \d+ configurations/);
  });

  it('fails two concurrent compareAndSwaps that both won against one value', () => {
    const history = h([
      { worker: 0, inv: 1, res: 2, kind: 'store', value: 0 },
      { worker: 1, inv: 3, res: 6, kind: 'compareAndSwap', expected: 0, next: 1, swapped: true },
      { worker: 2, inv: 4, res: 5, kind: 'compareAndSwap', expected: 0, next: 1, swapped: true },
    ]);
    expect(checkHistory(history).ok).toBe(false);
  });

  it('checks a long simulated history fast, and catches one wrong answer in it', () => {
    // Five simulated workers over one register: each operation invokes,
    // takes effect and responds at random later ticks, so the history is
    // legal and heavily overlapped.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const history: Op[] = [];
    const pending: Array<{ op?: Op; applied: boolean }> = Array.from({ length: 5 }, () => ({ applied: false }));
    let reg = ABSENT;
    let clock = 0;
    while (history.length < 20_000) {
      const w = Math.floor(rnd() * 5);
      const p = pending[w]!;
      if (p.op === undefined) {
        p.op = { key: 'a', worker: w, inv: clock++, res: 0, kind: 'load', value: 0 };
        p.applied = false;
      } else if (!p.applied) {
        const u = rnd();
        const v = Math.floor(rnd() * 3);
        const base = { key: 'a', worker: w, inv: p.op.inv, res: 0 };
        if (u < 0.4) p.op = { ...base, kind: 'load', value: reg };
        else if (u < 0.6) p.op = { ...base, kind: 'store', value: v };
        else if (u < 0.8) p.op = { ...base, kind: 'compareAndSwap', expected: v, next: (v + 1) % 3, swapped: reg === v };
        else if (u < 0.9) p.op = { ...base, kind: 'loadAndDelete', value: reg, loaded: reg !== ABSENT };
        else p.op = { ...base, kind: 'loadOrStore', value: v, actual: reg === ABSENT ? v : reg, loaded: reg !== ABSENT };
        reg = ((op: Op) => {
          if (op.kind === 'store') return op.value;
          if (op.kind === 'compareAndSwap') return op.swapped ? op.next : reg;
          if (op.kind === 'loadAndDelete') return ABSENT;
          if (op.kind === 'loadOrStore') return op.actual;
          return reg;
        })(p.op);
        p.applied = true;
      } else {
        p.op.res = clock++;
        history.push(p.op);
        p.op = undefined;
      }
    }
    const t0 = performance.now();
    const good = checkKey('a', history);
    const ms = performance.now() - t0;
    expect(good.ok).toBe(true);
    console.log(`checker: 20000 simulated ops, ${countConcurrent(history)} concurrent, ${good.states} configurations, ${ms.toFixed(0)} ms`);
    // One load, late in the history, returns a value nobody stored.
    let i = history.length - 1;
    while (!(history[i]!.kind === 'load' && history[i]!.inv < 15_000)) i--;
    const bad = history.map((o, j) => (j === i ? { ...o, value: 9 } : o));
    const v = checkKey('a', bad);
    expect(v.ok).toBe(false);
    expect(v.window?.some((o) => o.kind === 'load' && o.value === 9)).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// Real workers on one map.

/** Shared keys, checked; few, so the workers meet on them. */
const KEYS = 4;
/** Workers running operations on them. */
const OP_WORKERS = 3;

interface OpsResult {
  records: Int32Array;
  count: number;
  staleAnswers: number;
  error?: string;
}
interface ChurnResult {
  ops: number;
  generations: number;
  resizes: number;
  error?: string;
}

/** Start a test/workers entry that posts {ready} once attached, then waits
 *  on `gate`, then posts its result. */
function start<T>(name: string, data: unknown) {
  const w = new Worker(new URL(`../workers/${name}.mjs`, import.meta.url), { workerData: data });
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  const done = new Promise<T>((resolve, reject) => {
    let result: T | undefined;
    w.on('message', (m: { ready?: boolean } & T) => (m.ready ? onReady() : (result = m)));
    w.once('error', reject);
    w.once('exit', (code) => (code !== 0 || result === undefined ? reject(new Error(`${name} exited ${code}`)) : resolve(result)));
  });
  return { ready, done };
}

/** One run: OP_WORKERS workers on KEYS keys, one churner, then one final
 *  stamped load of each key by the main thread. With `stale`, the first
 *  worker is the control: it only reads, and answers that fraction of its
 *  loads from its last real load of the key, so it can be caught only
 *  against the other workers' writes; it reads every 0.05 ms or so until
 *  they are done, so that its reads meet their writes however the threads
 *  are scheduled. */
async function run({ maxOps, ms, stale = 0 }: { maxOps: number; ms: number; stale?: number }) {
  // Two shards: the churn grows, rebuilds and compacts the very tables the
  // checked keys live in.
  const map = await ShardedMap.create({ shards: 2, maxWorkers: 8 });
  const clock = new Int32Array(new SharedArrayBuffer(4));
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const stop = stopFlag();
  const writersDone = stopFlag();
  const control = stale > 0 ? { stale, readOnly: true, pauseMs: 0.05, until: writersDone } : {};
  const ops = Array.from({ length: OP_WORKERS }, (_, w) =>
    start<OpsResult>('lin-ops', { handle: map.handle, clock, gate, seed: 1 + w + 10 * maxOps, keys: KEYS, maxOps, ms, ...(w === 0 ? control : {}) }),
  );
  const churn = start<ChurnResult>('lin-churn', { handle: map.handle, gate, stop });
  await Promise.all([...ops, churn].map((w) => w.ready));
  const t0 = performance.now();
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  await Promise.all(ops.slice(1).map((w) => w.done));
  Atomics.store(writersDone, 0, 1);
  const results = await Promise.all(ops.map((w) => w.done));
  const opsMs = performance.now() - t0;
  Atomics.store(stop, 0, 1);
  const churned = await churn.done;
  const history: Op[] = results.flatMap((r, w) => readHistory(r.records, r.count, w) as Op[]);
  for (let k = 0; k < KEYS; k++) {
    const inv = Atomics.add(clock, 0, 1);
    const value = decodeValue(map.load(keyName(k)));
    const res = Atomics.add(clock, 0, 1);
    history.push({ key: keyName(k), worker: 'main', inv, res, kind: 'load', value });
  }
  expect(results.map((r) => r.error)).toEqual(results.map(() => undefined));
  expect(churned.error).toBeUndefined();
  expectSound(map);
  map.close();
  return { history, churned, opsMs, staleAnswers: results[0]!.staleAnswers };
}

describe('linearizability across workers', () => {
  it('every key’s history is linearizable, with many concurrent operations, under churn', async () => {
    const { history, churned, opsMs } = await run({ maxOps: 8_000, ms: 4_000 });
    const t0 = performance.now();
    const verdict = checkHistory(history);
    const checkMs = performance.now() - t0;
    const concurrent = countConcurrent(history);
    console.log(
      `linearizability: ${history.length} ops on ${KEYS} keys by ${OP_WORKERS} workers in ${opsMs.toFixed(0)} ms, ` +
        `${concurrent} concurrent (${((100 * concurrent) / history.length).toFixed(1)}%); ` +
        `churn: ${churned.ops} ops, ${churned.resizes} rebuilds, ${churned.generations} generations; ` +
        `checked in ${checkMs.toFixed(0)} ms (${verdict.keys.map((k) => `${k.key}: ${k.ops} ops, ${k.states} configurations`).join('; ')})`,
    );
    expect(verdict.ok, verdict.failures.map((f) => f.explanation).join('\n\n')).toBe(true);
    // Not vacuous: the workers did overlap on the keys, and tables were
    // rebuilt under them.
    expect(concurrent).toBeGreaterThan(Math.max(200, history.length / 50));
    expect(churned.resizes).toBeGreaterThan(0);
  });

  it('the control (a worker answering some loads from a stale copy) is caught', async () => {
    const { history, staleAnswers } = await run({ maxOps: 6_000, ms: 3_000, stale: 0.3 });
    expect(staleAnswers).toBeGreaterThan(0);
    const verdict = checkHistory(history);
    const failed = verdict.failures.filter((f) => f.ok === false);
    const controlOps = history.filter((o) => o.worker === 0).length;
    console.log(
      `linearizability control: ${history.length} ops (${controlOps} by the control), ${countConcurrent(history)} concurrent, ` +
        `${staleAnswers} loads answered from a stale copy; ${failed.length} of ${KEYS} keys caught\n` +
        (failed[0]?.explanation ?? '(none)'),
    );
    expect(verdict.ok).toBe(false);
    expect(failed[0]?.window).toBeDefined();
  });
});
