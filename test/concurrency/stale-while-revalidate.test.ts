// fetch() with stale windows (RFC 5861's names): within
// staleWhileRevalidate every caller, in every worker, gets the stale value
// at once and one refresh runs; within staleIfError a failed load returns
// the stale value; negativeTtl caches a loader's undefined. Time is a
// shared clock the test moves: nothing here depends on timing.
import { describe, it, expect } from 'vitest';
import { Registry } from 'prom-client';
import { ShardedMap, type FetchStatus } from 'shardedmap';
import { collectMetrics } from 'shardedmap/prometheus';
import { startAttached, type AttachedWorker } from '../helpers/workers';
import { expectSound } from '../helpers/sound';

const T0 = 1_800_000_000_000;
const flagArray = () => new Int32Array(new SharedArrayBuffer(4));

interface Outcome {
  value?: unknown;
  status?: { stale?: boolean; refresh?: boolean; error?: string };
  error?: string;
  code?: string;
  gateOpen: boolean;
}

/** A cache on a shared clock, and `n` stale-fetcher workers on it. */
async function setup(n: number, data: Record<string, unknown>) {
  const time = new Float64Array(new SharedArrayBuffer(8));
  time[0] = T0;
  const map = await ShardedMap.create({ maxEntries: 1000, clock: () => time[0]! });
  const flags = { go: flagArray(), entered: flagArray(), runs: flagArray(), gate: flagArray(), done: flagArray() };
  const ws: AttachedWorker[] = [];
  for (let i = 0; i < n; i++) ws.push(startAttached('stale-fetcher', { handle: map.handle, time, ...flags, ...data }));
  await Promise.all(ws.map((w) => w.owner));
  const outcomes = ws.map((w) => new Promise<Outcome>((resolve) => {
    const poll = () => (w.messages.length ? resolve(w.messages[0] as Outcome) : setTimeout(poll, 2));
    poll();
  }));
  const raise = (f: Int32Array) => {
    Atomics.store(f, 0, 1);
    Atomics.notify(f, 0);
  };
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 2));
  };
  const finish = async () => {
    raise(flags.done);
    await Promise.all(ws.map((w) => new Promise((r) => w.worker.once('exit', r))));
    expectSound(map);
    map.close();
  };
  return { map, time, ...flags, outcomes, raise, until, finish };
}

describe('staleWhileRevalidate', () => {
  it('past the ttl, 4 workers and the main thread get the stale value at once; one refresh runs for all', async () => {
    const options = { ttl: 1000, staleWhileRevalidate: 10_000 };
    const s = await setup(4, { key: 'user:1', value: 'v2', options });
    expect(await s.map.fetch('user:1', async () => 'v1', options)).toBe('v1');
    s.time[0] = T0 + 1500; // 500 ms stale
    s.raise(s.go);
    const status: FetchStatus = {};
    const mine = await s.map.fetch('user:1', async () => {
      Atomics.add(s.runs, 0, 1);
      await s.until(() => Atomics.load(s.gate, 0) === 1);
      return 'v2';
    }, { ...options, status });
    const theirs = await Promise.all(s.outcomes);
    // Every caller returned before the refresh could end (the gate opens
    // only now): none waited for the loader.
    expect(mine).toBe('v1');
    expect(status.stale).toBe(true);
    for (const o of theirs) expect(o).toMatchObject({ value: 'v1', status: { stale: true }, gateOpen: false });
    expect(Atomics.load(s.runs, 0)).toBe(1);
    expect([status, ...theirs.map((o) => o.status!)].filter((x) => x.refresh)).toHaveLength(1);
    // A plain read in the stale window sees the entry (documented).
    expect(s.map.get('user:1')).toBe('v1');
    expect(s.map.has('user:1')).toBe(true);
    s.raise(s.gate);
    await s.until(() => s.map.get('user:1') === 'v2');
    const fresh: FetchStatus = {};
    expect(await s.map.fetch('user:1', async () => 'never', { ...options, status: fresh })).toBe('v2');
    expect(fresh.stale).toBe(false);
    const c = s.map.stats().counters;
    expect(c).toMatchObject({ staleHits: 5, staleRefreshes: 1, fetchLoads: 2 });
    // The Prometheus collector exports both counters.
    const registry = new Registry();
    const metrics = collectMetrics(s.map, { registry });
    const text = await registry.metrics();
    expect(text).toMatch(/^shardedmap_stale_hits_total 5$/m);
    expect(text).toMatch(/^shardedmap_stale_refreshes_total 1$/m);
    metrics.unregister();
    await s.finish();
  });

  it('the control: the same fetch without a stale window makes every caller wait for the loader', async () => {
    const options = { ttl: 1000 };
    const s = await setup(4, { key: 'user:2', value: 'v2', options });
    expect(await s.map.fetch('user:2', async () => 'v1', options)).toBe('v1');
    s.time[0] = T0 + 1500;
    s.raise(s.go);
    // Open the gate only once every worker is in fetch, one runs the
    // loader and the three others wait for it.
    await s.until(() => Atomics.load(s.entered, 0) === 4 && Atomics.load(s.runs, 0) === 1 && s.map.stats().counters.fetchWaits === 3);
    expect(s.map.get('user:2')).toBeUndefined();
    s.raise(s.gate);
    const theirs = await Promise.all(s.outcomes);
    for (const o of theirs) expect(o).toMatchObject({ value: 'v2', status: { stale: false }, gateOpen: true });
    expect(Atomics.load(s.runs, 0)).toBe(1);
    expect(s.map.stats().counters).toMatchObject({ staleHits: 0, staleRefreshes: 0 });
    await s.finish();
  });

  it('past staleWhileRevalidate the entry is gone for every read: fetch loads, get misses', async () => {
    let t = T0;
    const map = await ShardedMap.create({ maxEntries: 1000, clock: () => t, staleWhileRevalidate: 500 });
    await map.fetch('k', async () => 1, { ttl: 100 });
    t += 100 + 499;
    expect(map.get('k')).toBe(1);
    // A stamped number reads as a number, alone and in batches.
    expect(map.loadNumber('k')).toBe(1);
    expect([...map.loadNumbers(['k'])]).toEqual([1]);
    expect(map.getMany(['k'])).toEqual([1]);
    expect([...map.entries()]).toEqual([['k', 1]]);
    t += 1;
    expect(map.get('k')).toBeUndefined();
    expect(map.has('k')).toBe(false);
    const status: FetchStatus = {};
    expect(await map.fetch('k', async () => 2, { ttl: 100, status })).toBe(2);
    expect(status.stale).toBe(false);
    map.close();
  });
});

describe('staleIfError', () => {
  it('a failed load within staleIfError returns the stale value to the leader and every waiter, and says so', async () => {
    const options = { ttl: 1000, staleIfError: 60_000 };
    const s = await setup(4, { key: 'user:3', fail: 'backend down', options });
    expect(await s.map.fetch('user:3', async () => ({ name: 'Ada' }), options)).toEqual({ name: 'Ada' });
    s.time[0] = T0 + 5000;
    s.raise(s.go);
    await s.until(() => Atomics.load(s.entered, 0) === 4 && Atomics.load(s.runs, 0) === 1 && s.map.stats().counters.fetchWaits === 3);
    s.raise(s.gate);
    const theirs = await Promise.all(s.outcomes);
    for (const o of theirs) expect(o).toMatchObject({ value: { name: 'Ada' }, status: { stale: true } });
    expect(theirs.map((o) => o.status!.error).sort()).toEqual([
      'backend down', ...Array(3).fill('fetch: the loader failed in another caller: backend down'),
    ]);
    expect(Atomics.load(s.runs, 0)).toBe(1);
    expect(s.map.stats().counters).toMatchObject({ staleHits: 4, fetchErrors: 1 });
    await s.finish();
  });

  it('past staleIfError a failure rejects as before; with no window it always did', async () => {
    let t = T0;
    const map = await ShardedMap.create({ maxEntries: 1000, clock: () => t });
    const boom = async () => {
      throw new Error('boom');
    };
    await map.fetch('a', async () => 'old', { ttl: 100, staleIfError: 1000 });
    t += 100 + 1000;
    await expect(map.fetch('a', boom, { staleIfError: 1000 })).rejects.toThrow('boom');
    await map.fetch('b', async () => 'old', { ttl: 100 });
    t += 101;
    await expect(map.fetch('b', boom)).rejects.toThrow('boom');
    // loadTimeout is a failure too.
    await map.fetch('c', async () => 'old', { ttl: 100, staleIfError: 1000 });
    t += 150;
    const status: FetchStatus = {};
    const hang = () => new Promise<string>(() => {});
    expect(await map.fetch('c', hang, { staleIfError: 1000, loadTimeout: 20, status })).toBe('old');
    expect((status.error as { code?: string }).code).toBe('ERR_SHARDEDMAP_TIMEOUT');
    map.close();
  });
});

describe('negativeTtl', () => {
  it("off by default: a loader's undefined is looked up again on every fetch", async () => {
    const map = await ShardedMap.create({ maxEntries: 1000 });
    let runs = 0;
    const loader = async () => {
      runs++;
      return undefined;
    };
    expect(await map.fetch('missing', loader)).toBeUndefined();
    expect(await map.fetch('missing', loader)).toBeUndefined();
    expect(runs).toBe(2);
    expect(map.has('missing')).toBe(false);
    map.close();
  });

  it("caches a loader's undefined for negativeTtl (create default or per call), then loads again", async () => {
    let t = T0;
    const map = await ShardedMap.create({ maxEntries: 1000, clock: () => t, negativeTtl: 50 });
    let runs = 0;
    const loader = async () => {
      runs++;
      return runs < 3 ? undefined : 'row';
    };
    expect(await map.fetch('row:9', loader)).toBeUndefined();
    expect(await map.fetch('row:9', loader)).toBeUndefined();
    expect(runs).toBe(1);
    expect(map.get('row:9')).toBeUndefined();
    expect(map.has('row:9')).toBe(true);
    t += 50;
    expect(await map.fetch('row:9', loader, { negativeTtl: 1000 })).toBeUndefined();
    t += 999;
    expect(await map.fetch('row:9', loader)).toBeUndefined();
    expect(runs).toBe(2);
    t += 1;
    expect(await map.fetch('row:9', loader)).toBe('row');
    map.close();
  });

  it('options are checked', async () => {
    const map = await ShardedMap.create({ maxEntries: 1000 });
    await expect(map.fetch('k', async () => 1, { staleWhileRevalidate: -1 })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    await expect(map.fetch('k', async () => 1, { staleIfError: Infinity })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    await expect(ShardedMap.create({ ttl: 10, negativeTtl: Number.NaN })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    map.close();
  });
});
