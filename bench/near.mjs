// The near-cache cell of the harness (shardedmap/redis in front of a
// redis-server of our own on a free loopback port): per-get cost of an L1
// hit against a plain node-redis GET and node-redis's own client-side cache
// on the same 1K keys, with 1 and 2 workers; and, across two processes,
// how long an invalidation takes to reach the other process's L1 and
// whether a reader there ever reads an older value after it did.
import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { createClient, RESP_TYPES } from '@redis/client';
import { Packr } from 'msgpackr';
import { createNearCache } from 'shardedmap/redis';
import { startRedis } from '../scripts/redis-server.mjs';

const KEYS = 1000;
const packr = new Packr({ useRecords: false });
/** A clock all processes agree on (ms). */
export const now = () => performance.timeOrigin + performance.now();

export function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** ns per awaited call of f(i) over `n` calls, the best of 3. */
export async function perCall(f, n) {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await f(i);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / n);
  }
  return best;
}

/** ns per call of a synchronous f(i), the best of 3. */
function syncPerCall(f, n) {
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < 3; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += f(i) === undefined ? 0 : 1;
    best = Math.min(best, Number(process.hrtime.bigint() - t) / n);
  }
  if (sink === 0) throw new Error('peek hit nothing');
  return best;
}

/** Ops/s of `workers` threads each awaiting `what` gets for `ms`. */
async function threads(url, handle, what, workers, ms) {
  const go = new Int32Array(new SharedArrayBuffer(4));
  const ws = Array.from({ length: workers }, (_, w) => new Worker(new URL('./near-worker.mjs', import.meta.url), {
    workerData: { url, handle, what, ms, go, w, keys: KEYS },
  }));
  const ready = ws.map((w) => new Promise((r) => w.once('message', r)));
  await Promise.all(ready);
  const done = ws.map((w) => new Promise((r) => w.once('message', r)));
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  const ops = (await Promise.all(done)).reduce((n, m) => n + m.ops, 0);
  await Promise.all(ws.map((w) => w.terminate()));
  return ops / (ms / 1000);
}

export async function nearBench({ quick = true } = {}) {
  const redis = await startRedis();
  try {
    const near = await createNearCache({ url: redis.url, prefixes: ['k:'], maxEntries: 10_000 });
    const plain = createClient({ url: redis.url, commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } });
    await plain.connect();
    const csc = createClient({ url: redis.url, RESP: 3, clientSideCache: { ttl: 0, maxEntries: 0 } });
    await csc.connect();
    for (let i = 0; i < KEYS; i++) await near.set(`k:${i}`, { id: i, name: `user ${i}` });
    await new Promise((r) => setTimeout(r, 50)); // the writes' invalidations
    for (let i = 0; i < KEYS; i++) await near.get(`k:${i}`); // fill the L1
    for (let i = 0; i < KEYS; i++) await csc.get(`k:${i}`); // and node-redis's cache
    const n = quick ? 20_000 : 100_000;
    const ns = {
      l1: await perCall((i) => near.get(`k:${i % KEYS}`), n),
      peek: syncPerCall((i) => near.peek(`k:${i % KEYS}`), n * 5),
      get: await perCall((i) => plain.get(`k:${i % KEYS}`), quick ? 2_000 : 10_000),
      csc: await perCall((i) => csc.get(`k:${i % KEYS}`), n),
    };
    const ms = quick ? 1000 : 3000;
    const ops = {
      l1: [await threads(redis.url, near.handle, 'l1', 1, ms), await threads(redis.url, near.handle, 'l1', 2, ms)],
      get: [await threads(redis.url, near.handle, 'get', 1, ms), await threads(redis.url, near.handle, 'get', 2, ms)],
    };
    const inval = await invalidations(redis.url, quick ? 500 : 2000);
    await Promise.all([plain.close(), csc.close(), near.close()]);
    return { ns, ops, inval };
  } finally {
    await redis.stop();
  }
}

/** A child process with a near cache and a reader; this process writes
 *  `n` keys one after another; delay from each SET's issue to its key
 *  leaving the child's L1, and the child reader's stale reads. */
async function invalidations(url, n) {
  const child = fork(new URL('./near-child.mjs', import.meta.url), [url, String(n)], { execArgv: [] });
  await new Promise((r) => child.once('message', r));
  const w = createClient({ url });
  await w.connect();
  const issued = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await w.set(`k:${i % 100}`, packr.pack(i)); // the version, as the near cache stores values
    issued.push(t);
    await new Promise((r) => setTimeout(r, 1));
  }
  child.send('done');
  const { arrivals, stale, reads } = await new Promise((r) => child.once('message', r));
  await w.close();
  const delays = arrivals.map(([i, t]) => t - issued[i]);
  return { p50: pct(delays, 50), p99: pct(delays, 99), max: pct(delays, 100), count: delays.length, stale, reads };
}
