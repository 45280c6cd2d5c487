// Cache mode: bounds that evict instead of throwing, S3-FIFO keeping what is
// read, expiry with a controllable clock, and a cache shared by real workers
// that never returns a wrong value. (fetch: fetch.test.ts; crashes in the
// middle of an eviction: crash.test.ts.)
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ShardedMap } from 'shardedmap';
import { runWorker, stopFlag } from '../helpers/workers';
import { expectSound } from '../helpers/sound';

/** A clock the test moves by hand. */
function fakeClock(start = 1_800_000_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('cache: bounds', () => {
  it('clear() empties a cache map, shard state and all (the test build asserts each shard sound after it)', async () => {
    for (const options of [{ maxEntries: 1000, ttl: 60_000 }, { maxBytes: 1 << 20 }]) {
      const map = await ShardedMap.create({ shards: 4, ...options });
      for (let i = 0; i < 500; i++) map.store(`k${i}`, `value ${i}`);
      map.clear();
      expect(map.size).toBe(0);
      expect(map.stats().cache!.bytes).toBe(0);
      for (let i = 0; i < 500; i++) map.store(`k${i}`, i);
      expect(map.size).toBe(500);
      expectSound(map);
      map.close();
    }
  });

  it('maxEntries: stores evict instead of throwing; size and memory stay bounded under churn', async () => {
    const cache = await ShardedMap.create({ maxEntries: 2000 });
    expect(cache.isCache).toBe(true);
    expect(cache.shardCount).toBe(16); // at least 64 entries per shard by default
    let memoryAfterFirstRounds = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 2000; i++) cache.set(`r${round}:k${i}`, { round, i, pad: 'x'.repeat(i % 60) });
      expect(cache.size).toBeLessThanOrEqual(2000);
      if (round === 3) memoryAfterFirstRounds = cache.memoryBytes;
    }
    // Memory stopped growing once the cache was full: churn reuses it.
    expect(cache.memoryBytes).toBe(memoryAfterFirstRounds);
    const s = cache.stats();
    expect(s.counters.evictions).toBe(20 * 2000 - cache.size);
    expect(s.cache).toMatchObject({ maxEntries: 2000, maxBytes: Infinity, ttl: Infinity });
    // The newest keys are there.
    expect(cache.get('r19:k1999')).toEqual({ round: 19, i: 1999, pad: 'x'.repeat(1999 % 60) });
    expectSound(cache);
    cache.close();
  });

  it('maxBytes bounds the key + value bytes of live entries; a too large entry is refused, the rest kept', async () => {
    const cache = await ShardedMap.create({ maxBytes: 64 * 1024, shards: 4 });
    for (let i = 0; i < 20_000; i++) cache.set(`k${i}`, 'v'.repeat(i % 200));
    const bytes = cache.stats().cache!.bytes;
    expect(bytes).toBeLessThanOrEqual(64 * 1024);
    expect(bytes).toBeGreaterThan(0.8 * 64 * 1024); // full, not emptied
    const before = cache.size;
    let thrown: unknown;
    try {
      cache.set('huge', 'y'.repeat(16 * 1024 + 1)); // more than a shard's 16 KiB
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RangeError);
    expect((thrown as { code: string }).code).toBe('ERR_SHARDEDMAP_ENTRY_TOO_LARGE');
    expect(cache.size).toBe(before);
    expect(cache.has('huge')).toBe(false);
    // A value that grows past the shard's budget evicts others, not itself.
    cache.set('grows', 'a');
    cache.set('grows', 'b'.repeat(15 * 1024));
    expect(cache.get('grows')).toBe('b'.repeat(15 * 1024));
    expectSound(cache);
    cache.close();
  });

  it('a cache filled far past maxBytes in the least maxMemory it accepts evicts, never runs out of memory', async () => {
    // (Before create checked maxMemory against maxBytes, a cache of 16 MiB
    // maxBytes in 32 MiB threw MEMORY_FULL on most stores past ~100K.)
    const maxBytes = 4 << 20;
    const maxValueBytes = 4096;
    const maxMemory = Math.ceil(maxBytes * 3.5) + 2 * maxValueBytes;
    await expect(ShardedMap.create({ maxBytes, maxValueBytes, maxMemory: maxMemory - 1 })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    for (const [lo, span] of [[50, 100], [10, 20], [200, 800]] as const) {
      const cache = await ShardedMap.create({ maxBytes, maxValueBytes, maxMemory });
      for (let i = 0; i < 150_000; i++) cache.store(`session:${i}`, 'v'.repeat(lo + (i % span)));
      const s = cache.stats();
      expect(s.cache!.bytes).toBeLessThanOrEqual(maxBytes);
      expect(s.counters.evictions).toBeGreaterThan(0);
      expect(s.memoryBytes).toBeLessThanOrEqual(maxMemory);
      expectSound(cache);
      cache.close();
    }
  });

  it('options are checked eagerly', async () => {
    const bad: [object, string][] = [
      [{ maxEntries: 0 }, 'maxEntries'],
      [{ maxEntries: 1.5 }, 'maxEntries'],
      [{ maxEntries: 8, shards: 16 }, 'at least shards'],
      [{ maxBytes: -1 }, 'maxBytes'],
      [{ ttl: -5 }, 'ttl'],
      [{ ttl: 'soon' }, 'ttl'],
      [{ ttl: 10, clock: 5 }, 'clock'],
      [{ maxEntries: 10, maxValueBytes: 16777215 }, 'maxValueBytes'],
      // A full cache would not fit: stores would fail instead of evicting.
      [{ maxBytes: 16 << 20, maxMemory: 32 << 20 }, 'needs maxMemory'],
    ];
    for (const [o, what] of bad) {
      await expect(ShardedMap.create(o as never)).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION', message: expect.stringContaining(what) });
    }
    const plain = await ShardedMap.create({ shards: 2 });
    expect(plain.isCache).toBe(false);
    expect(() => plain.store('k', 1, { ttl: 5 })).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' }));
    expect(plain.stats().cache).toBeNull();
    await expect(plain.fetch('k', async () => 1)).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_ARGUMENT' });
    plain.close();
    const bad2 = await ShardedMap.create({ ttl: 10, clock: () => -1 });
    expect(() => bad2.set('k', 1)).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' }));
    bad2.close();
  });
});

describe('cache: eviction policy (S3-FIFO)', () => {
  /** Fill a one-shard cache of 200 with a hot set read `reads` times each,
   *  then pass 2,000 one-hit keys through it: how many hot keys remain. */
  async function hotAfterScan(reads: number): Promise<number> {
    // A fixed seed: which keys share sketch counters depends on it.
    const cache = await ShardedMap.create({ maxEntries: 200, shards: 1, seed: 7n });
    for (let i = 0; i < 100; i++) cache.set(`hot${i}`, i);
    for (let r = 0; r < reads; r++) for (let i = 0; i < 100; i++) cache.get(`hot${i}`);
    for (let i = 0; i < 2000; i++) cache.set(`scan${i}`, i);
    let kept = 0;
    for (let i = 0; i < 100; i++) if (cache.has(`hot${i}`)) kept++;
    expectSound(cache);
    cache.close();
    return kept;
  }

  it('keys read twice survive a scan ten times the cache; unread keys (the control) do not', async () => {
    const readTwice = await hotAfterScan(2);
    const unread = await hotAfterScan(0);
    console.log(`S3-FIFO scan resistance: ${readTwice}/100 hot keys kept when read twice, ${unread}/100 when never read`);
    expect(readTwice).toBe(100);
    expect(unread).toBe(0); // plain FIFO for one-hit keys: the detector works
  });

  it('a key evicted from the small queue and stored again goes to main (ghost hit)', async () => {
    const cache = await ShardedMap.create({ maxEntries: 100, shards: 1, seed: 1n });
    cache.set('ghost', 1);
    // Fill until 'ghost' (never read) is evicted from the small queue.
    for (let i = 0; cache.has('ghost'); i++) cache.set(`fill${i}`, i);
    cache.set('ghost', 2); // remembered: straight into main
    for (let i = 0; i < 300; i++) cache.set(`more${i}`, i); // one-hit keys churn the small queue
    expect(cache.get('ghost')).toBe(2);
    cache.close();
  });

  it('hot hits write nothing shared once counted (the sketch saturates)', async () => {
    // A cache hit by the same key many times takes the same path as a
    // plain map: measured by the harness; here, the counters show no
    // eviction and every read a hit.
    const cache = await ShardedMap.create({ maxEntries: 1000 });
    cache.set('k', 1);
    for (let i = 0; i < 10_000; i++) expect(cache.loadNumber('k')).toBe(1);
    expect(cache.stats().instance).toMatchObject({ hits: 10_000, evictions: 0 });
    cache.close();
  });
});

describe('cache: ttl', () => {
  it('an expired entry reads as a miss at once, everywhere; writes treat it as absent', async () => {
    const clock = fakeClock();
    const cache = await ShardedMap.create({ ttl: 1000, clock: clock.now, shards: 2 });
    cache.set('a', 'A'); // default ttl
    cache.store('n', 7, { ttl: 50 });
    cache.store('forever', { x: 1 }, { ttl: 0 });
    cache.store('inf', 1, { ttl: Infinity });
    clock.t += 49;
    expect(cache.loadNumber('n')).toBe(7);
    clock.t += 1; // n's expiry: gone at that very millisecond
    expect(cache.loadNumber('n', -1)).toBe(-1);
    expect(cache.has('n')).toBe(false);
    expect(cache.get('n')).toBeUndefined();
    expect(cache.getMany(['n', 'a'])).toEqual([undefined, 'A']);
    expect(Array.from(cache.loadNumbers(['n'], undefined, -2))).toEqual([-2]);
    expect(cache.loadOrStore('n', 8)).toEqual({ value: 8, loaded: false });
    clock.t += 950; // a expires
    expect(cache.get('a')).toBeUndefined();
    expect([...cache.keys()].sort()).toEqual(['forever', 'inf', 'n']);
    expect(cache.swap('a', 'B')).toEqual({ previous: undefined, loaded: false });
    clock.t += 1000;
    expect(cache.compareAndSwap('a', 'B', 'C')).toBe(false); // expired: absent
    expect(cache.delete('n')).toBe(false);
    expect(cache.get('forever')).toEqual({ x: 1 });
    expect(cache.get('inf')).toBe(1);
    expectSound(cache);
    cache.close();
  });

  it('expired entries are reclaimed by writes and by purgeStale (no unbounded growth)', async () => {
    const clock = fakeClock();
    const cache = await ShardedMap.create({ ttl: 10, clock: clock.now, shards: 4 });
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 1000; i++) cache.set(`r${round}:${i}`, i);
      clock.t += 20; // everything so far expired
    }
    // Writes swept as they went: far fewer than the 50,000 stored are left.
    const left = cache.size;
    expect(left).toBeLessThan(20_000);
    const purged = cache.purgeStale();
    expect(purged).toBe(left);
    expect(cache.size).toBe(0);
    const s = cache.stats().counters;
    expect(s.expirations).toBe(50_000);
    expectSound(cache);
    cache.close();
  });
});

/** The model of a cache: what was stored last per key and until when. A
 *  cache may forget an entry (evicted), but never answers with a value
 *  other than the last stored, or with an expired one. */
describe('cache: never a wrong value (randomized, with a clock)', () => {
  type Op =
    | ['set', number, number, number]
    | ['get' | 'has' | 'delete' | 'loadAndDelete', number]
    | ['loadOrStore', number, number]
    | ['cas', number, number, number]
    | ['tick', number]
    | ['purge'];
  const key = fc.integer({ min: 0, max: 60 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constant('set'), key, fc.integer({ min: 0, max: 1000 }), fc.constantFrom(0, 5, 20, 100)) as fc.Arbitrary<Op> },
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom('get', 'has', 'delete', 'loadAndDelete'), key) as fc.Arbitrary<Op> },
    { weight: 2, arbitrary: fc.tuple(fc.constant('loadOrStore'), key, fc.integer({ min: 0, max: 1000 })) as fc.Arbitrary<Op> },
    { weight: 2, arbitrary: fc.tuple(fc.constant('cas'), key, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })) as fc.Arbitrary<Op> },
    { weight: 2, arbitrary: fc.tuple(fc.constant('tick'), fc.integer({ min: 1, max: 30 })) as fc.Arbitrary<Op> },
    { weight: 1, arbitrary: fc.constant(['purge'] as Op) },
  );

  async function check(ops: Op[], maxEntries: number | undefined): Promise<void> {
    const clock = fakeClock();
    const cache = await ShardedMap.create({ ...(maxEntries ? { maxEntries } : { ttl: 0 }), shards: 2, clock: clock.now });
    // key -> [value, expiry (0 = never)]
    const model = new Map<number, [number, number]>();
    const live = (k: number) => {
      const e = model.get(k);
      if (e && e[1] !== 0 && e[1] <= clock.t) model.delete(k);
      return model.get(k);
    };
    /** The cache said `k` is absent: fine if the model agrees, or (bounded
     *  cache) if it was evicted: then the model forgets it too. */
    const absent = (k: number, where: string) => {
      if (live(k) !== undefined) {
        if (!maxEntries) throw new Error(`${where}: key ${k} missing, the model has ${String(live(k)![0])}`);
        model.delete(k);
      }
    };
    for (const o of ops) {
      switch (o[0]) {
        case 'set':
          cache.store(o[1], o[2], { ttl: o[3] });
          model.set(o[1], [o[2], o[3] ? clock.t + o[3] : 0]);
          break;
        case 'get': {
          const v = cache.get(o[1]);
          if (v === undefined) absent(o[1], 'get');
          else expect(v).toBe(live(o[1])?.[0]);
          break;
        }
        case 'has':
          if (!cache.has(o[1])) absent(o[1], 'has');
          else expect(live(o[1])).toBeDefined();
          break;
        case 'delete':
          if (!cache.delete(o[1])) absent(o[1], 'delete');
          else expect(live(o[1])).toBeDefined();
          model.delete(o[1]);
          break;
        case 'loadAndDelete': {
          const r = cache.loadAndDelete(o[1]);
          if (!r.loaded) absent(o[1], 'loadAndDelete');
          else expect(r.value).toBe(live(o[1])?.[0]);
          model.delete(o[1]);
          break;
        }
        case 'loadOrStore': {
          const r = cache.loadOrStore(o[1], o[2]);
          if (r.loaded) expect(r.value).toBe(live(o[1])?.[0]);
          else {
            absent(o[1], 'loadOrStore');
            model.set(o[1], [o[2], 0]);
          }
          break;
        }
        case 'cas': {
          const before = live(o[1]);
          const ok = cache.compareAndSwap(o[1], o[2], o[3]);
          if (ok) {
            expect(before?.[0]).toBe(o[2]);
            model.set(o[1], [o[3], 0]);
          } else if (before && before[0] === o[2]) {
            absent(o[1], 'cas'); // it would have matched: evicted
          }
          break;
        }
        case 'tick':
          clock.t += o[1];
          break;
        case 'purge':
          cache.purgeStale();
          break;
      }
      if (maxEntries) expect(cache.size).toBeLessThanOrEqual(maxEntries);
    }
    // Unbounded: exactly the model's live entries.
    if (!maxEntries) {
      cache.purgeStale();
      const want = [...model.keys()].filter((k) => live(k) !== undefined).sort((a, b) => a - b);
      expect([...cache.keys()].map(Number).sort((a, b) => a - b)).toEqual(want);
      expect(cache.size).toBe(want.length);
    }
    expectSound(cache);
    cache.close();
  }

  it('ttl only: the cache is exactly the model', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 300 }), (ops) => check(ops, undefined)), { numRuns: 60 });
  });

  it('bounded (maxEntries 16 over 61 keys): forgets, never lies, stays in bounds', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 300 }), (ops) => check(ops, 16)), { numRuns: 60 });
  });
});

describe('cache: shared by real workers', () => {
  it('two workers churn a bounded cache: bound held, every value read is the one its key was given, sound after', async () => {
    const cache = await ShardedMap.create({ maxEntries: 4000, ttl: 200 });
    const stop = stopFlag();
    const runs = [0, 1].map((w) => runWorker<{ reads: number; wrong: number; hits: number; error?: string }>('cache-churner', {
      handle: cache.handle, stop, seed: w + 1, keys: 20_000, ms: 1500,
    }));
    const results = await Promise.all(runs);
    for (const r of results) {
      expect(r.error).toBeUndefined();
      expect(r.reads).toBeGreaterThan(10_000);
      expect(r.wrong).toBe(0);
      expect(r.hits).toBeGreaterThan(0);
    }
    expect(cache.size).toBeLessThanOrEqual(4000);
    const c = cache.stats().counters;
    expect(c.evictions + c.expirations).toBeGreaterThan(0);
    expectSound(cache);
    console.log(
      `cache churn: ${results.map((r) => `${r.reads} reads (${r.hits} hits)`).join(', ')}; ` +
        `${c.evictions} evictions, ${c.expirations} expirations, size ${cache.size}`,
    );
    cache.close();
  });

  it('the detector catches a wrong value (control: a worker told to expect another)', async () => {
    const cache = await ShardedMap.create({ maxEntries: 4000 });
    const r = await runWorker<{ reads: number; wrong: number }>('cache-churner', {
      handle: cache.handle, stop: stopFlag(), seed: 3, keys: 2000, ms: 300, lie: true,
    });
    expect(r.wrong).toBeGreaterThan(0);
    cache.close();
  });
});
