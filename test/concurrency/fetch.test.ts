// fetch(): on a miss exactly one caller across every worker runs the loader;
// the others wait for its outcome; failures reach every waiter; a leader
// that dies or runs late is taken over; signals abort.
import { describe, it, expect } from 'vitest';
import { ShardedMap } from 'shardedmap';
import { startAttached, type AttachedWorker } from '../helpers/workers';
import { expectSound } from '../helpers/sound';

interface Outcome {
  value?: unknown;
  error?: string;
  code?: string;
}

/** Start `n` fetcher workers on the same key; they all call at once when
 *  the go flag is raised. */
async function fetchers(map: ShardedMap<unknown>, n: number, data: Record<string, unknown>) {
  const go = new Int32Array(new SharedArrayBuffer(4));
  const runs = new Int32Array(new SharedArrayBuffer(4));
  const ws: AttachedWorker[] = [];
  for (let i = 0; i < n; i++) ws.push(startAttached('fetcher', { handle: map.handle, go, runs, ...data }));
  const owners = await Promise.all(ws.map((w) => w.owner));
  const outcomes = ws.map((w) => new Promise<Outcome>((resolve) => {
    const poll = () => (w.messages.length ? resolve(w.messages[0] as Outcome) : setTimeout(poll, 5));
    poll();
  }));
  const start = () => {
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
  };
  return { ws, owners, outcomes, runs, start };
}

describe('fetch: single flight across workers', () => {
  it('four workers and the main thread fetch one key at once: the loader runs once, all get its value', async () => {
    const map = await ShardedMap.create({ maxEntries: 1000 });
    const f = await fetchers(map, 4, { key: 'user:1', value: { name: 'Ada' }, delay: 100 });
    f.start();
    const mine = map.fetch('user:1', async () => {
      Atomics.add(f.runs, 0, 1);
      await new Promise((r) => setTimeout(r, 100));
      return { name: 'Ada' };
    });
    const all = [await mine, ...(await Promise.all(f.outcomes)).map((o) => o.value)];
    expect(all).toEqual(Array(5).fill({ name: 'Ada' }));
    expect(Atomics.load(f.runs, 0)).toBe(1);
    expect(map.get('user:1')).toEqual({ name: 'Ada' });
    const c = map.stats().counters;
    expect(c.fetchLoads).toBe(1);
    expect(c.fetchWaits).toBeGreaterThanOrEqual(1);
    await Promise.all(f.ws.map((w) => w.worker.terminate()));
    expectSound(map);
    map.close();
  });

  it('the control: get-then-load without fetch runs the loader in several workers (the detector works)', async () => {
    const map = await ShardedMap.create({ maxEntries: 1000 });
    const f = await fetchers(map, 4, { key: 'user:2', value: 2, delay: 100, naive: true });
    f.start();
    await Promise.all(f.outcomes);
    expect(Atomics.load(f.runs, 0)).toBeGreaterThan(1);
    await Promise.all(f.ws.map((w) => w.worker.terminate()));
    map.close();
  });

  it('a rejected loader rejects every waiter, stores nothing; the next fetch loads again', async () => {
    const map = await ShardedMap.create({ maxEntries: 1000 });
    const f = await fetchers(map, 3, { key: 'bad', fail: 'db down', delay: 100 });
    f.start();
    const outcomes = await Promise.all(f.outcomes);
    expect(Atomics.load(f.runs, 0)).toBe(1);
    const leader = outcomes.filter((o) => o.error === 'db down');
    const waiters = outcomes.filter((o) => o.code === 'ERR_SHARDEDMAP_FETCH_FAILED');
    expect(leader).toHaveLength(1);
    expect(waiters).toHaveLength(2);
    for (const w of waiters) expect(w.error).toContain('db down');
    expect(map.has('bad')).toBe(false);
    expect(map.stats().counters.fetchErrors).toBe(1);
    await expect(map.fetch('bad', async () => 'fine now')).resolves.toBe('fine now');
    await Promise.all(f.ws.map((w) => w.worker.terminate()));
    map.close();
  });

  it('a loader that resolves to undefined stores nothing; every waiter gets undefined', async () => {
    const map = await ShardedMap.create({ maxEntries: 1000 });
    const f = await fetchers(map, 3, { key: 'none', value: undefined, delay: 60 });
    f.start();
    const outcomes = await Promise.all(f.outcomes);
    expect(outcomes.map((o) => o.value)).toEqual([undefined, undefined, undefined]);
    expect(outcomes.every((o) => o.error === undefined)).toBe(true);
    expect(Atomics.load(f.runs, 0)).toBe(1);
    expect(map.has('none')).toBe(false);
    await Promise.all(f.ws.map((w) => w.worker.terminate()));
    map.close();
  });
});

describe('fetch: leaders that die or run late', () => {
  it('the leader worker is terminated mid-load: with watch(), a waiter takes over within milliseconds', async () => {
    const map = await ShardedMap.create({ maxEntries: 1000 });
    const f = await fetchers(map, 1, { key: 'k', hang: true });
    map.watch(f.ws[0]!.worker);
    f.start();
    while (Atomics.load(f.runs, 0) === 0) await new Promise((r) => setTimeout(r, 5));
    let loads = 0;
    const mine = map.fetch('k', async () => {
      loads++;
      return 'from main';
    }); // waits: the worker leads
    await new Promise((r) => setTimeout(r, 50));
    expect(loads).toBe(0);
    const t0 = performance.now();
    await f.ws[0]!.worker.terminate(); // watch releases it on exit
    await expect(mine).resolves.toBe('from main');
    const ms = performance.now() - t0;
    console.log(`fetch takeover after the leader's worker died: ${ms.toFixed(0)} ms`);
    expect(loads).toBe(1);
    expect(map.get('k')).toBe('from main');
    expectSound(map);
    map.close();
  });

  it('a leader past loadTimeout is taken over (its loader signal aborts); its late value is not stored', async () => {
    const map = await ShardedMap.create({ maxEntries: 1000 });
    let aborted = false;
    const slow = map.fetch('late', (_k, { signal }) => new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        aborted = true;
        resolve('stale');
      });
    }), { loadTimeout: 100 });
    const slowOutcome = slow.then((v) => ({ v }), (e: unknown) => ({ e }));
    const other = await ShardedMap.attach(map.handle);
    const fresh = other.fetch('late', async () => 'fresh', { loadTimeout: 100 });
    await expect(fresh).resolves.toBe('fresh');
    expect(await slowOutcome).toMatchObject({ e: { code: 'ERR_SHARDEDMAP_TIMEOUT' } });
    expect(aborted).toBe(true);
    expect(map.get('late')).toBe('fresh');
    other.close();
    map.close();
  });

  it('signal aborts a waiter; a leader that aborts abandons the load to a waiter', async () => {
    const map = await ShardedMap.create({ maxEntries: 1000 });
    const leaderAc = new AbortController();
    const lead = map.fetch('x', (_k, { signal }) => new Promise((_res, rej) => {
      signal.addEventListener('abort', () => rej(signal.reason));
    }), { signal: leaderAc.signal });
    const other = await ShardedMap.attach(map.handle);
    const waiterAc = new AbortController();
    const waiter = other.fetch('x', async () => 'never', { signal: waiterAc.signal });
    waiterAc.abort(new Error('caller gave up'));
    await expect(waiter).rejects.toThrow('caller gave up');
    const third = other.fetch('x', async () => 'from third');
    leaderAc.abort(new Error('leader gave up'));
    await expect(lead).rejects.toThrow('leader gave up');
    await expect(third).resolves.toBe('from third');
    expect(map.stats().counters.fetchErrors).toBe(0); // abandoned, not failed
    other.close();
    map.close();
  });

  it('a leader whose caller aborts hands over at once, even when its loader ignores its signal; its late value is not stored', async () => {
    // Before: the leader's call (and every waiter) waited for the loader.
    const map = await ShardedMap.create({ maxEntries: 1000 });
    let slowDone = false;
    const leaderAc = new AbortController();
    const lead = map.fetch('x', () => new Promise((res) => setTimeout(() => {
      slowDone = true;
      res('from the slow leader');
    }, 1500)), { signal: leaderAc.signal });
    const other = await ShardedMap.attach(map.handle);
    const waiter = other.fetch('x', async () => 'from the waiter');
    leaderAc.abort(new Error('leader gave up'));
    await expect(lead).rejects.toThrow('leader gave up');
    await expect(waiter).resolves.toBe('from the waiter');
    expect(slowDone).toBe(false); // both settled before the slow loader did
    await new Promise((r) => setTimeout(r, 1600));
    expect(slowDone).toBe(true);
    expect(map.load('x')).toBe('from the waiter');
    other.close();
    map.close();
  });

  it('a leader late on the map\'s clock (not the timer\'s) does not store over the caller that took over', async () => {
    // The flight's deadline is on the map's clock; the leader's timer is
    // real time. Before: the late leader's value overwrote the takeover's.
    const t = new Float64Array(new SharedArrayBuffer(8));
    t[0] = 1.7e12;
    const clock = () => t[0]!;
    const map = await ShardedMap.create({ maxEntries: 1000, clock });
    const lead = map.fetch('x', () => new Promise((res) => setTimeout(() => res('late leader'), 200)), { loadTimeout: 1000 });
    t[0]! += 5000; // past the flight's deadline at once
    const other = await ShardedMap.attach(map.handle, { clock });
    await expect(other.fetch('x', async () => 'took over', { loadTimeout: 1000 })).resolves.toBe('took over');
    await expect(lead).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_TIMEOUT' });
    expect(map.load('x')).toBe('took over');
    other.close();
    map.close();
  });

  it('bad arguments reject with typed errors; a hit returns at once without the loader', async () => {
    const map = await ShardedMap.create({ ttl: 1000 });
    await expect(map.fetch('k', 'nope' as never)).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_ARGUMENT' });
    await expect(map.fetch('k', async () => 1, { loadTimeout: 0 })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    await expect(map.fetch({} as never, async () => 1)).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_KEY_TYPE' });
    // A bad ttl is refused before the loader runs (it used to run it first).
    let loads = 0;
    for (const ttl of [-5, NaN, '1' as never]) {
      await expect(map.fetch('k', async () => ++loads, { ttl })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    }
    expect(loads).toBe(0);
    map.set('k', 'cached');
    let ran = false;
    await expect(map.fetch('k', async () => {
      ran = true;
      return 'loaded';
    })).resolves.toBe('cached');
    expect(ran).toBe(false);
    map.close();
  });
});
