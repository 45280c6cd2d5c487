// shardedmap/keyv: a shardedmap cache as a Keyv store, with the real
// packages — Keyv itself, cache-manager (its wrap's single flight inside a
// process, ours across workers) and cacheable (shardedmap as L1 in front of
// @keyv/redis on our own redis-server) — and workers that see each other's
// writes through it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Keyv } from 'keyv';
import { createClient } from '@redis/client';
import { ShardedMap } from 'shardedmap';
import { KeyvShardedMap } from 'shardedmap/keyv';
import { startAttached } from '../helpers/workers';
import { expectSound } from '../helpers/sound';
import { startRedis } from '../../scripts/redis-server.mjs';

const flagArray = () => new Int32Array(new SharedArrayBuffer(4));
const raise = (f: Int32Array) => {
  Atomics.store(f, 0, 1);
  Atomics.notify(f, 0);
};
const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 2));
};
/** Run keyv-worker with `data`; resolves with its one result message. */
async function run(map: ShardedMap<unknown>, data: Record<string, unknown>) {
  const w = startAttached('keyv-worker', { handle: map.handle, ...data });
  await w.owner;
  const result = new Promise<Record<string, unknown>>((resolve, reject) => {
    w.worker.once('error', reject);
    const poll = () => (w.messages.length ? resolve(w.messages[0] as Record<string, unknown>) : setTimeout(poll, 2));
    poll();
  });
  const exited = new Promise((r) => w.worker.once('exit', r));
  return { result, exited };
}

describe('KeyvShardedMap under Keyv', () => {
  it('get, set with ttl, delete, has, getMany, deleteMany, clear', async () => {
    let t = Date.now();
    const map = await ShardedMap.create({ maxEntries: 10_000, clock: () => t });
    const keyv = new Keyv({ store: new KeyvShardedMap(map) });
    expect(await keyv.set('a', { n: 1 })).toBe(true);
    expect(await keyv.get('a')).toEqual({ n: 1 });
    expect(await keyv.has('a')).toBe(true);
    await keyv.set('b', 'two', 1000);
    await keyv.setMany([{ key: 'c', value: 3 }, { key: 'd', value: [4] }]);
    expect(await keyv.get(['a', 'b', 'missing', 'd'])).toEqual([{ n: 1 }, 'two', undefined, [4]]);
    expect(await keyv.hasMany(['a', 'missing'])).toEqual([true, false]);
    // The ttl is the map's: past it (on the map's clock) the entry is gone
    // for every reader, Keyv's own expires check aside.
    t += 1000;
    expect(map.has('keyv:b')).toBe(false);
    expect(await keyv.get('b')).toBeUndefined();
    expect(await keyv.delete('a')).toBe(true);
    expect(await keyv.delete('a')).toBe(false);
    expect(await keyv.deleteMany(['c', 'd'])).toBe(true);
    await keyv.set('e', 5);
    await keyv.clear();
    expect(await keyv.get('e')).toBeUndefined();
    expect([...map.keys()]).toEqual([]);
    map.close();
  });

  it('namespaces: keys are <namespace>:<key>, and clear() clears its own namespace only', async () => {
    const map = await ShardedMap.create({ maxEntries: 10_000 });
    const users = new Keyv({ store: new KeyvShardedMap(map), namespace: 'users' });
    const posts = new Keyv({ store: new KeyvShardedMap(map), namespace: 'posts' });
    map.set('raw', 1);
    for (let i = 0; i < 300; i++) {
      await users.set(`${i}`, `user ${i}`);
      await posts.set(`${i}`, `post ${i}`);
    }
    expect(await users.get('7')).toBe('user 7');
    expect(await posts.get('7')).toBe('post 7');
    expect(map.has('users:7') && map.has('posts:7')).toBe(true);
    await users.clear();
    expect(await users.get('7')).toBeUndefined();
    expect(await posts.get('7')).toBe('post 7');
    expect(map.size).toBe(301);
    map.close();
  });

  it("serialization: Keyv's JSON string is stored as a string; with serialize off, its object is stored as msgpack", async () => {
    const map = await ShardedMap.create({ maxEntries: 1000 });
    const json = new Keyv({ store: new KeyvShardedMap(map), namespace: 'json' });
    await json.set('k', { when: 'now', n: [1, 2] });
    const raw = map.get('json:k');
    expect(typeof raw).toBe('string');
    expect(JSON.parse(raw as string)).toMatchObject({ value: { when: 'now', n: [1, 2] } });
    expect(await json.get('k')).toEqual({ when: 'now', n: [1, 2] });
    const plain = new Keyv({ store: new KeyvShardedMap(map), namespace: 'obj', serialize: undefined, deserialize: undefined });
    const date = new Date(1_700_000_000_000);
    await plain.set('k', { date, big: 2n ** 70n, tags: new Set(['a']) });
    expect(map.get('obj:k')).toMatchObject({ value: { date, big: 2n ** 70n } });
    const back = (await plain.get('k')) as { date: Date; big: bigint; tags: Set<string> };
    expect(back.date).toEqual(date);
    expect(back.big).toBe(2n ** 70n);
    expect(back.tags).toEqual(new Set(['a']));
    expect(() => new KeyvShardedMap({} as ShardedMap<unknown>)).toThrow(/expected a ShardedMap/);
    map.close();
  });

  it("workers see each other's writes through their own Keyv on the one map", async () => {
    const map = await ShardedMap.create({ maxEntries: 10_000 });
    const mine = new Keyv({ store: new KeyvShardedMap(map) });
    for (let i = 0; i < 50; i++) await mine.set(`main:${i}`, { i, by: 'main' });
    const a = await run(map, { mode: 'write', prefix: 'a:', n: 100, read: Array.from({ length: 50 }, (_, i) => `main:${i}`) });
    const b = await run(map, { mode: 'write', prefix: 'b:', n: 100, read: Array.from({ length: 50 }, (_, i) => `main:${i}`) });
    const [ra, rb] = await Promise.all([a.result, b.result]);
    await Promise.all([a.exited, b.exited]);
    for (const r of [ra, rb]) expect(r.seen).toEqual(Array.from({ length: 50 }, (_, i) => ({ i, by: 'main' })));
    for (let i = 0; i < 100; i++) {
      expect(await mine.get(`a:${i}`)).toEqual({ i, by: 'a:' });
      expect(await mine.get(`b:${i}`)).toEqual({ i, by: 'b:' });
    }
    expectSound(map);
    map.close();
  });
});

describe('cache-manager over KeyvShardedMap', () => {
  /** 4 workers, 5 concurrent cache.wrap calls each, on one key; the gate
   *  opens once `ready()` holds. */
  async function wraps(crossWorker: boolean, ready: (runs: number, map: ShardedMap<unknown>) => boolean) {
    const map = await ShardedMap.create({ maxEntries: 10_000 });
    const flags = { go: flagArray(), gate: flagArray(), runs: flagArray(), entered: flagArray() };
    const ws = await Promise.all([0, 1, 2, 3].map(() => run(map, { mode: 'wrap', key: 'user:1', value: { name: 'Ada' }, calls: 5, crossWorker, ...flags })));
    raise(flags.go);
    await until(() => Atomics.load(flags.entered, 0) === 4 && ready(Atomics.load(flags.runs, 0), map));
    raise(flags.gate);
    const results = await Promise.all(ws.map((w) => w.result));
    await Promise.all(ws.map((w) => w.exited));
    const keyv = new Keyv({ store: new KeyvShardedMap(map) });
    return { map, results, runs: Atomics.load(flags.runs, 0), stored: await keyv.get('user:1') };
  }

  it('wrap coalesces within a worker, fetch across them: the loader runs once for 20 callers in 4 workers', async () => {
    const r = await wraps(true, (runs, map) => runs === 1 && map.stats().counters.fetchWaits === 3);
    expect(r.runs).toBe(1);
    for (const x of r.results) expect(x.values).toEqual(Array(5).fill({ name: 'Ada' }));
    expect(r.stored).toEqual({ name: 'Ada' });
    expectSound(r.map);
    r.map.close();
  });

  it("the control: wrap alone runs the loader once per worker (its single flight is the process's)", async () => {
    const r = await wraps(false, (runs) => runs === 4);
    expect(r.runs).toBe(4);
    for (const x of r.results) expect(x.values).toEqual(Array(5).fill({ name: 'Ada' }));
    r.map.close();
  });
});

describe('cacheable: shardedmap as L1 in front of @keyv/redis', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("one worker's set is in Redis and in the shared L1, where another worker reads it even once Redis lost it", async () => {
    const map = await ShardedMap.create({ maxEntries: 10_000 });
    const set = await run(map, { mode: 'cacheable', url: redis.url, op: 'set', key: 'user:1', value: { name: 'Ada' }, ttl: 60_000 });
    expect(await set.result).toEqual({ done: true });
    await set.exited;
    // @keyv/redis keys: its own namespace, '::', then Keyv's key.
    const client = createClient({ url: redis.url });
    await client.connect();
    expect(await client.exists('keyv::keyv:user:1')).toBe(1);
    expect(map.has('keyv:user:1')).toBe(true);
    await client.del('keyv::keyv:user:1');
    const get = await run(map, { mode: 'cacheable', url: redis.url, op: 'get', key: 'user:1' });
    expect(await get.result).toEqual({ got: { name: 'Ada' } });
    await get.exited;
    // A key only Redis holds: read through L1 into it.
    await client.set('keyv::keyv:user:2', JSON.stringify({ value: { name: 'Grace' } }));
    const miss = await run(map, { mode: 'cacheable', url: redis.url, op: 'get', key: 'user:2' });
    expect(await miss.result).toEqual({ got: { name: 'Grace' } });
    await miss.exited;
    expect(map.has('keyv:user:2')).toBe(true);
    await client.close();
    expectSound(map);
    map.close();
  });
});
