// shardedmap/redis against a real redis-server of our own (a free loopback
// port, nothing on disk, stopped by pid): two processes of two workers
// each never read a value older than an invalidation they have seen; the
// read/invalidate race (a GET reply held back by a proxy until another
// client wrote the key); FLUSHALL; CLIENT KILL of the tracking connection;
// Redis stopped and restarted; keys with a Redis TTL.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { fork } from 'node:child_process';
import { createClient, RESP_TYPES } from '@redis/client';
import { Packr } from 'msgpackr';
import { ShardedMap } from 'shardedmap';
import { createNearCache, attachNearCache, type NearCache } from 'shardedmap/redis';
// @ts-expect-error: a plain .mjs helper without types
import { startRedis } from '../../scripts/redis-server.mjs';
import { startProxy } from '../helpers/proxy';

interface Redis {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

let redis: Redis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const packr = new Packr({ useRecords: false, moreTypes: true });

async function rawClient(url = redis.url) {
  const c = createClient({ url, commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** Wait until `cond()` holds (polling), at most `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

interface ProcessResult {
  arrivals: [number, number, number][];
  results: { role: string; reads?: number; stale?: number; sets?: [number, number, number][]; error?: string; stats?: { l1Hits: number } }[];
}

/** A child process with a near cache and two workers of the given roles. */
function nearProcess(roles: string[], o: { keys: number; rounds: number; ms: number }) {
  const child = fork(new URL('../workers/near-process.mjs', import.meta.url), [JSON.stringify({ url: redis.url, roles, ...o })], {
    execArgv: [],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
  });
  const done = new Promise<ProcessResult>((resolve, reject) => {
    child.on('message', (m: ProcessResult & { ready?: boolean }) => {
      if (!m.ready) resolve(m);
    });
    child.once('exit', (code) => (code ? reject(new Error(`near process exited with ${code}`)) : undefined));
  });
  return { ready, done, start: () => child.send('go') };
}

describe('near cache: coherence across processes', () => {
  it('two processes of two workers: no read older than an invalidation already seen; invalidation delay reported', async () => {
    const o = { keys: 50, rounds: 40, ms: 2500 };
    // Process A: a writer and a reader; process B: two readers.
    const a = nearProcess(['writer', 'reader'], o);
    const b = nearProcess(['reader', 'reader'], o);
    await Promise.all([a.ready, b.ready]);
    a.start();
    b.start();
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const readers = [...ra.results, ...rb.results].filter((r) => r.role === 'reader');
    for (const r of [...ra.results, ...rb.results]) expect(r.error).toBeUndefined();
    expect(readers.every((r) => r.stale === 0)).toBe(true);
    expect(readers.reduce((n, r) => n + r.reads!, 0)).toBeGreaterThan(10_000);
    expect(readers.reduce((n, r) => n + r.stats!.l1Hits, 0)).toBeGreaterThan(0); // the L1 served
    // Every SET of A reached B as an invalidation; delay from the SET's
    // issue in A to its key leaving B's L1.
    const sets = ra.results.find((r) => r.role === 'writer')!.sets!;
    expect(rb.arrivals.length).toBe(sets.length);
    const issued = new Map(sets.map(([k, v, t]) => [`${k}/${v}`, t]));
    const delays = rb.arrivals.map(([k, n, t]) => t - issued.get(`${k}/${n}`)!);
    console.log(
      `near cache: ${readers.reduce((n, r) => n + r.reads!, 0)} reads in 4 workers of 2 processes, 0 stale; ` +
        `invalidation delay (SET issued in A -> key dropped in B) over ${delays.length}: ` +
        `p50 ${pct(delays, 50).toFixed(2)} ms, p99 ${pct(delays, 99).toFixed(2)} ms, max ${pct(delays, 100).toFixed(2)} ms`,
    );
  });

  it('the control: a per-process copy that is never invalidated reads stale values (the detector works)', async () => {
    const o = { keys: 20, rounds: 30, ms: 1500 };
    const a = nearProcess(['writer', 'reader'], o);
    const b = nearProcess(['naive', 'naive'], o);
    await Promise.all([a.ready, b.ready]);
    a.start();
    b.start();
    const [, rb] = await Promise.all([a.done, b.done]);
    expect(rb.results.reduce((n, r) => n + (r.stale ?? 0), 0)).toBeGreaterThan(0);
  });
});

describe('near cache: misses', () => {
  /** GET commands the server has run so far. */
  async function gets(raw: Awaited<ReturnType<typeof rawClient>>): Promise<number> {
    const info = String(await raw.sendCommand(['INFO', 'commandstats']));
    return Number(/cmdstat_get:calls=(\d+)/.exec(info)?.[1] ?? 0);
  }

  it('four instances miss the same key at once: one GET fills the L1 for all (control: keys outside the prefixes, one GET each)', async () => {
    const raw = await rawClient();
    let invalidated = 0;
    const near = await createNearCache({ url: redis.url, prefixes: ['sf:'], onInvalidate: () => invalidated++ });
    const others = await Promise.all([1, 2, 3].map(() => attachNearCache(near.handle)));
    const all = [near, ...others];
    await raw.set('sf:1', packr.pack({ v: 1 }));
    await raw.set('nf:1', packr.pack({ v: 1 }));
    await until(() => invalidated === 1);
    let before = await gets(raw);
    expect(await Promise.all(all.map((n) => n.get('sf:1')))).toEqual(Array(4).fill({ v: 1 }));
    expect((await gets(raw)) - before).toBe(1);
    expect(all.map((n) => n.peek('sf:1'))).toEqual(Array(4).fill({ v: 1 }));
    before = await gets(raw);
    expect(await Promise.all(all.map((n) => n.get('nf:1')))).toEqual(Array(4).fill({ v: 1 }));
    expect((await gets(raw)) - before).toBe(4);
    expect(near.peek('nf:1')).toBeUndefined();
    for (const n of others) await n.close();
    await near.close();
    await raw.close();
  });
});

describe('near cache: the read/invalidate race', () => {
  it('a fill whose GET reply arrives after an invalidation of its key installs nothing; the control installs the stale value', async () => {
    const proxy = await startProxy(redis.port);
    const raw = await rawClient();
    let invalidated = 0;
    const near = await createNearCache({ url: `redis://127.0.0.1:${proxy.port}`, prefixes: ['race:'], onInvalidate: () => invalidated++ });
    try {
      expect(proxy.connections).toBe(2); // 0: data (connected first), 1: tracking
      await raw.set('race:1', packr.pack('old'));
      await until(() => invalidated === 1);
      // The fill's GET reaches Redis and reads 'old'; its reply is held back.
      proxy.hold(0);
      const pending = near.get('race:1');
      await until(() => proxy.held(0) > 0);
      // Meanwhile another client writes, and the invalidation arrives.
      await raw.set('race:1', packr.pack('new'));
      await until(() => invalidated === 2);
      proxy.release(0);
      expect(await pending).toBe('old'); // what Redis said when the GET ran
      expect(near.stats()).toMatchObject({ fills: 0, fillsDropped: 1 });
      expect(await near.get('race:1')).toBe('new'); // not the stale 'old'
      expect(near.stats().fills).toBe(1);

      // Control: the same race with a naive fill (read, then install with a
      // plain store) leaves the stale value in the L1: the check above can
      // fail.
      const l1 = await ShardedMap.attach<unknown>(near.handle.map);
      await raw.set('race:2', packr.pack('old'));
      await until(() => invalidated === 3);
      const read = (await raw.get('race:2')) as unknown as Buffer; // the GET ran before the write...
      await raw.set('race:2', packr.pack('new'));
      await until(() => invalidated === 4); // ...its reply came after the invalidation
      l1.store('race:2', packr.unpack(read), { ttl: 60_000 });
      expect(await near.get('race:2')).toBe('old'); // stale: what the ticket prevents
      l1.close();
    } finally {
      await near.close();
      await raw.close();
      await proxy.close();
    }
  });
});

describe('near cache: doubt flushes and bypasses', () => {
  let near: NearCache;
  let invalidations: (string | null)[];

  async function open() {
    invalidations = [];
    near = await createNearCache({ url: redis.url, prefixes: ['d:'], pingInterval: 200, commandTimeout: 500, onInvalidate: (k) => invalidations.push(k) });
  }

  /** Wait for the invalidation of a write to `key` made for the test's set-up:
   *  arriving after a later fill, it would (rightly) drop that fill. */
  async function settled(key: string) {
    await until(() => invalidations.includes(key));
    invalidations.length = 0;
  }

  it('FLUSHALL flushes the L1: nothing from before is served', async () => {
    await open();
    const raw = await rawClient();
    await near.set('d:1', 1);
    await settled('d:1');
    expect(await near.get('d:1')).toBe(1);
    expect(near.stats().l1.entries).toBe(1);
    await raw.flushAll();
    await until(() => invalidations.includes(null));
    expect(near.stats().l1.entries).toBe(0);
    expect(await near.get('d:1')).toBeUndefined();
    await raw.close();
    await near.close();
  });

  it('CLIENT KILL of the tracking connection: L1 flushed and off, a write meanwhile is seen, tracking comes back', async () => {
    await open();
    const raw = await rawClient();
    await near.set('d:2', 'before');
    await settled('d:2');
    expect(await near.get('d:2')).toBe('before');
    const flushes = near.stats().flushes;
    // The tracking connection is the one in BCAST tracking mode.
    const list = String(await raw.sendCommand(['CLIENT', 'LIST']));
    const id = /id=(\d+) [^\n]*flags=[^ ]*t/.exec(list)?.[1];
    expect(id).toBeDefined();
    await raw.sendCommand(['CLIENT', 'KILL', 'ID', id!]);
    await raw.set('d:2', packr.pack('during'));
    await until(() => near.stats().flushes > flushes);
    expect(await near.get('d:2')).toBe('during');
    await until(() => near.tracking);
    expect(await near.get('d:2')).toBe('during');
    await raw.close();
    await near.close();
  });

  it('Redis stopped: typed errors within commandTimeout, no hang; restarted: works again, nothing stale', async () => {
    const own = await startRedis();
    const n = await createNearCache({ url: own.url, prefixes: ['d:'], pingInterval: 200, commandTimeout: 500 });
    try {
      await n.set('d:3', 'v1');
      expect(await n.get('d:3')).toBe('v1');
      const w = await attachNearCache(n.handle);
      await own.stop();
      await until(() => !n.tracking);
      // Rejected, not left hanging (commandTimeout bounds every call).
      await expect(n.get('d:3')).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_REDIS' });
      await expect(n.set('d:3', 'v2')).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_REDIS' });
      // A worker's instance that failed a call while Redis is down still
      // closes (its graceful close waited forever for a reconnect).
      await expect(w.get('d:3')).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_REDIS' });
      await w.close();
      // The same port again: an empty server (nothing on disk).
      const again = await startRedis({ port: own.port });
      try {
        await until(() => n.tracking && n.connected, 10_000);
        expect(await n.get('d:3')).toBeUndefined(); // not the L1's old 'v1'
        await n.set('d:3', 'v3');
        expect(await n.get('d:3')).toBe('v3');
      } finally {
        await n.close();
        await again.stop();
      }
    } finally {
      await own.stop();
    }
  });

  it('an L1 copy never outlives the key\'s Redis TTL', async () => {
    await open();
    const raw = await rawClient();
    await raw.set('d:ttl', packr.pack('short'), { expiration: { type: 'PX', value: 300 } });
    await settled('d:ttl');
    expect(await near.get('d:ttl')).toBe('short');
    expect(await near.get('d:ttl')).toBe('short');
    expect(near.stats().l1Hits).toBe(1);
    await sleep(350);
    expect(await near.get('d:ttl')).toBeUndefined();
    await near.set('d:ttl2', 'x', { ttl: 300 });
    expect(await near.get('d:ttl2')).toBe('x');
    await sleep(350);
    expect(await near.get('d:ttl2')).toBeUndefined();
    // Keys read in their last millisecond: Redis answers PTTL 0 (or -2,
    // gone meanwhile); such a copy is not cached (it was, for the L1's
    // whole ttl).
    let late = 0;
    // (20 rounds: before the fix, 2 to 9 of 20 rounds left such copies.)
    for (let round = 0; round < 20; round++) {
      const keys = Array.from({ length: 200 }, (_, i) => `d:late:${round}:${i}`);
      await Promise.all(keys.map((k, i) => near.set(k, k, { ttl: 2 + (i % 10) })));
      for (const end = Date.now() + 20; Date.now() < end;) await Promise.all(keys.map((k) => near.get(k)));
      await sleep(50);
      late += keys.filter((k) => near.peek(k) !== undefined).length;
    }
    expect(late).toBe(0);
    await raw.close();
    await near.close();
  });

  it('bad input: typed errors; keys outside the prefixes always go to Redis', async () => {
    await expect(createNearCache({ url: redis.url, prefixes: [] })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    // Redis refuses overlapping BCAST prefixes (tracking would stay off).
    for (const prefixes of [['user:', 'user:admin:'], ['user:', 'user:'], ['a:\ud800']]) {
      await expect(createNearCache({ url: redis.url, prefixes })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    }
    // A ping interval whose socket timeout (3x) would overflow a timer.
    await expect(createNearCache({ url: redis.url, prefixes: ['d:'], pingInterval: 8e8 })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    await expect(createNearCache({ url: 'redis://127.0.0.1:1', prefixes: ['x:'], commandTimeout: 300 })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_REDIS' });
    await open();
    await expect(near.get(5 as never)).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_KEY_TYPE' });
    // Redis keys are UTF-8: a lone surrogate would name another key, whose
    // invalidations never reach this one.
    await expect(near.get('d:\ud800')).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_KEY_TYPE' });
    await expect(near.set('d:\udc00', 1)).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_KEY_TYPE' });
    await expect(near.set('d:f', () => 1)).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_VALUE_TYPE' });
    // A value another client wrote that is not MessagePack: a typed error,
    // and the fill leaves no ticket behind (the next get does not wait out
    // commandTimeout for it).
    const raw = createClient({ url: redis.url });
    await raw.connect();
    await raw.set('d:foreign', 'legacy plain text');
    const before = near.stats();
    for (let i = 0; i < 2; i++) {
      await expect(near.get('d:foreign')).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_REDIS', message: expect.stringMatching(/not MessagePack/) });
    }
    // Both were fills of their own; a left ticket would have made the
    // second wait for it, then bypass the L1.
    expect(near.stats().l1Misses - before.l1Misses).toBe(2);
    expect(near.stats().bypasses - before.bypasses).toBe(0);
    await raw.del('d:foreign');
    await raw.close();
    await near.set('other:1', 'o');
    expect(await near.get('other:1')).toBe('o');
    expect(await near.get('other:1')).toBe('o');
    expect(near.stats()).toMatchObject({ l1Hits: 0, bypasses: 2 });
    // Keys longer than the L1's maxKeyBytes go to Redis every time; set and
    // delete work (they changed Redis, then threw KEY_TOO_LARGE).
    for (const long of ['d:' + 'x'.repeat(1100), 'other:' + 'y'.repeat(1100)]) {
      await near.set(long, 42);
      expect(await near.get(long)).toBe(42);
      expect(near.peek(long)).toBeUndefined();
      expect(await near.delete(long)).toBe(true);
      expect(await near.get(long)).toBeUndefined();
    }
    expect(await near.delete('other:1')).toBe(true);
    await near.close();
    // An L1 whose shards hold 256 bytes each: a key whose fill ticket does
    // not fit is served from Redis (its get rejected ENTRY_TOO_LARGE), as
    // is a value that does not fit.
    const small = await createNearCache({ url: redis.url, prefixes: ['d:'], maxBytes: 65536, shards: 256 });
    const k = 'd:' + 'x'.repeat(240);
    await small.set(k, 1);
    expect(await small.get(k)).toBe(1);
    await small.set('d:big', 'y'.repeat(1000));
    expect(await small.get('d:big')).toBe('y'.repeat(1000));
    await small.delete(k);
    await small.delete('d:big');
    await small.close();
  });
});
