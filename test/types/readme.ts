/**
 * Type test: README.md's Quick start and recipes, and docs/api.md's sections, as a TypeScript user
 * would write them, checked against the published declarations
 * (dist/types, through package.json `exports` "types"). Never run: only
 * compiled, by test/unit/typings.test.ts (tsc with ./tsconfig.json and
 * ./tsconfig.nodenext.json; `noEmit`). A README example that stops compiling,
 * or a result type that changes (or turns into `any`), fails that test.
 *
 * Each README snippet is one block `{ ... }` at module level (top-level await
 * included, as in the README's .mjs files), so their names do not collide.
 */
import * as http from 'node:http';
import { Worker, workerData } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Registry, register } from 'prom-client';
import { expectTypeOf } from 'vitest';
import {
  ShardedMap, ErrorCode, ShardedMapError, ShardedMapTypeError, ShardedMapRangeError, LockTimeoutError,
  type AttachOptions, type CheckProblem, type CheckReport, type Counters, type CreateOptions, type DebugEntry,
  type DebugShard, type ErrorCodeValue, type Key, type LoadResult, type LoadOrStoreResult, type MapStats, type ShardedMapHandle,
  type ShardStats, type SwapResult, type WaitOptions, type WatchableWorker, type WriteOptions, type FetchOptions, type FetchStatus,
  type Loader, type SnapshotInfo, SnapshotError,
} from 'shardedmap';
import { KeyvShardedMap } from 'shardedmap/keyv';
import { Keyv } from 'keyv';
import { collectMetrics, type MapMetrics, type MetricsOptions } from 'shardedmap/prometheus';

interface User {
  name: string;
}

// ---- Quick start: main.mjs, exactly as written (no type argument) ------------
{
  const map = await ShardedMap.create({ shards: 64 }); // every option has a default
  expectTypeOf(map).toEqualTypeOf<ShardedMap<unknown>>();
  map.store('user:1001', { name: 'Alice' });
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: map.handle });
  map.watch(worker); // if the worker dies mid-write, what it held is released on its exit
  worker.on('exit', () => console.log(map.load('user:1002'))); // { name: 'Bob' }
  expectTypeOf(map.load('user:1002')).toEqualTypeOf<unknown>();
}

// ---- Quick start: main.mjs, as a TypeScript user writes it --------------------
{
  const map = await ShardedMap.create<User>({ shards: 64 });
  expectTypeOf(map).toEqualTypeOf<ShardedMap<User>>();
  map.store('user:1001', { name: 'Alice' });
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: map.handle });
  const unwatch = map.watch(worker);
  expectTypeOf(unwatch).toEqualTypeOf<() => void>();
  expectTypeOf(worker).toExtend<WatchableWorker>();
  worker.on('exit', () => console.log(map.load('user:1002')?.name));
  expectTypeOf(map.load('user:1002')).toEqualTypeOf<User | undefined>();
  expectTypeOf(map.load('user:1002')).not.toBeAny();
}

// ---- Quick start: worker.mjs ---------------------------------------------------
{
  // workerData is `any` in @types/node: attach takes it as a handle.
  const map = await ShardedMap.attach<User>(workerData);
  expectTypeOf(map).toEqualTypeOf<ShardedMap<User>>();
  const alice = map.load('user:1001'); // { name: 'Alice' } — same table, no copy
  expectTypeOf(alice).toEqualTypeOf<User | undefined>();
  map.store('user:1002', { name: 'Bob' });
  expectTypeOf(map.close()).toEqualTypeOf<void>(); // frees this worker's slot

  // The same with the handle typed, as a careful user writes it.
  const typed = await ShardedMap.attach<User>(workerData as ShardedMapHandle, { lockTimeout: 1000 });
  expectTypeOf(typed.load('user:1001')).toEqualTypeOf<User | undefined>();
  typed.close();
}

// ---- Quick start: worker bookkeeping with a piscina pool ----------------------
{
  const map = await ShardedMap.create<number>({ shards: 4 });
  const pool = new Piscina({
    filename: new URL('./task.mjs', import.meta.url).href,
    workerData: { handle: map.handle },
  });
  pool.on('workerCreate', () => { for (const t of pool.threads) map.watch(t); });
}

// ---- Quick start / Metrics: shardedmap/prometheus -------------------------------
{
  const map = await ShardedMap.create<User>();
  collectMetrics(map); // or { registry, prefix, labels: { map: 'sessions' } }
  http.createServer(async (req, res) => res.end(await register.metrics())).listen(9464);

  const registry = new Registry();
  const options: MetricsOptions = { registry, prefix: 'sessions_', labels: { map: 'sessions' } };
  const metrics = collectMetrics(map, options);
  expectTypeOf(metrics).toEqualTypeOf<MapMetrics>();
  expectTypeOf(metrics.names).toEqualTypeOf<string[]>();
  expectTypeOf(metrics.unregister).toEqualTypeOf<() => void>();
  metrics.unregister();
  // Any map's type argument is accepted.
  collectMetrics(await ShardedMap.create<number>(), { registry, prefix: 'counts_' });
}

// ---- API: create, attach, handle ---------------------------------------------
{
  const options: CreateOptions = {
    shards: 256,
    initialCapacity: 10_000,
    maxKeyBytes: 1024,
    maxValueBytes: 1_048_576,
    maxMemory: 1_073_741_824,
    maxWorkers: 64,
    lockTimeout: Infinity,
    seed: 0x9e3779b97f4a7c15n,
    debugRing: 0,
  };
  const created = ShardedMap.create<User>(options);
  expectTypeOf(created).toEqualTypeOf<Promise<ShardedMap<User>>>();
  const map = await created;
  await ShardedMap.create(); // every option is optional

  const handle = map.handle;
  expectTypeOf(handle).toEqualTypeOf<ShardedMapHandle>();
  // A WebAssembly.Memory, declared structurally (no DOM lib needed; page.ts
  // checks that a real one fits).
  expectTypeOf(handle.memory.buffer).toEqualTypeOf<ArrayBuffer | SharedArrayBuffer>();
  expectTypeOf(handle.memory.grow).toEqualTypeOf<(delta: number) => number>();
  expectTypeOf(handle.mapId).toEqualTypeOf<readonly [number, number]>();
  expectTypeOf(handle.layoutVersion).toEqualTypeOf<number>();

  const attachOptions: AttachOptions = { lockTimeout: 5000 };
  const other = await ShardedMap.attach<User>(handle, attachOptions);
  expectTypeOf(other).toEqualTypeOf<ShardedMap<User>>();
  other.close();
}

// ---- API: reads and writes -------------------------------------------------------
{
  const users = await ShardedMap.create<User>();
  const counts = await ShardedMap.create<number>();

  // Keys: strings, numbers, bigints, Uint8Arrays.
  expectTypeOf<Key>().toEqualTypeOf<string | number | bigint | Uint8Array>();
  users.store('user:1', { name: 'Alice' });
  users.store(2, { name: 'Bob' });
  users.store(3n, { name: 'Carol' });
  users.store(new Uint8Array([1, 2, 3]), { name: 'Dave' });
  users.store(Buffer.from('user:5'), { name: 'Erin' });

  // load / get
  expectTypeOf(users.load('user:1')).toEqualTypeOf<User | undefined>();
  expectTypeOf(users.get('user:1')).toEqualTypeOf<User | undefined>();
  expectTypeOf(users.load).parameter(0).toEqualTypeOf<Key>();
  const name: string | undefined = users.load('user:1')?.name;
  void name;

  // loadNumber (fallback NaN) / storeNumber
  expectTypeOf(counts.loadNumber('hits')).toEqualTypeOf<number>();
  expectTypeOf(counts.loadNumber('hits', 0)).toEqualTypeOf<number>();
  counts.storeNumber('hits', 1);
  counts.storeNumber('hits', 2, { timeout: 0 });

  // store (with WaitOptions), set (returns the map)
  const controller = new AbortController();
  const wait: WaitOptions = { timeout: 100, signal: controller.signal };
  expectTypeOf(users.store('user:1', { name: 'Alice' })).toEqualTypeOf<void>();
  users.store('user:1', { name: 'Alice' }, wait);
  users.store('user:1', { name: 'Alice' }, { signal: AbortSignal.abort() });
  expectTypeOf(users.set('user:1', { name: 'Alice' })).toEqualTypeOf<ShardedMap<User>>();
  users.set('a', { name: 'A' }).set('b', { name: 'B' });

  // tryStore, has, delete
  expectTypeOf(users.tryStore('user:1', { name: 'Alice' })).toEqualTypeOf<boolean>();
  expectTypeOf(users.has('user:1')).toEqualTypeOf<boolean>();
  expectTypeOf(users.delete('user:1')).toEqualTypeOf<boolean>();
  expectTypeOf(users.delete('user:1', { timeout: 10 })).toEqualTypeOf<boolean>();

  // loadOrStore, loadAndDelete → { value, loaded }
  const los = users.loadOrStore('user:1', { name: 'Alice' });
  expectTypeOf(los).toEqualTypeOf<LoadOrStoreResult<User>>();
  expectTypeOf(los.value).toEqualTypeOf<User>(); // found or just stored: always there
  expectTypeOf(los.loaded).toEqualTypeOf<boolean>();
  const { value, loaded } = users.loadOrStore('user:1', { name: 'Alice' }, { timeout: 50 });
  if (loaded) console.log('already there:', value.name);
  const lad = users.loadAndDelete('user:1');
  expectTypeOf(lad).toEqualTypeOf<LoadResult<User>>();
  if (lad.loaded) expectTypeOf(lad.value).toEqualTypeOf<User>(); // narrowed by loaded
  else expectTypeOf(lad.value).toEqualTypeOf<undefined>();
  users.loadAndDelete('user:1', wait);

  // swap → { previous, loaded }
  const swapped = users.swap('user:1', { name: 'Alicia' });
  expectTypeOf(swapped).toEqualTypeOf<SwapResult<User>>();
  expectTypeOf(swapped.previous).toEqualTypeOf<User | undefined>();
  if (swapped.loaded) expectTypeOf(swapped.previous).toEqualTypeOf<User>();
  expectTypeOf(swapped.loaded).toEqualTypeOf<boolean>();
  users.swap('user:1', { name: 'Alicia' }, { timeout: 5 });

  // compareAndSwap, compareAndDelete → boolean
  expectTypeOf(users.compareAndSwap('user:1', { name: 'Alicia' }, { name: 'Alice' })).toEqualTypeOf<boolean>();
  users.compareAndSwap('user:1', { name: 'Alice' }, { name: 'Alicia' }, wait);
  // A compareAndSwap loop on a counter (README, Browsers example).
  for (;;) {
    const n = counts.loadNumber('views', 0);
    if (counts.compareAndSwap('views', n, n + 1)) break;
  }
  expectTypeOf(users.compareAndDelete('user:1', { name: 'Alicia' })).toEqualTypeOf<boolean>();
  users.compareAndDelete('user:1', { name: 'Alicia' }, { timeout: 0 });

  // clear, size, memoryBytes, usedBytes, owner
  expectTypeOf(users.clear()).toEqualTypeOf<void>();
  users.clear({ timeout: 1000 });
  expectTypeOf(users.size).toEqualTypeOf<number>();
  expectTypeOf(users.memoryBytes).toEqualTypeOf<number>();
  expectTypeOf(users.usedBytes).toEqualTypeOf<number>();
  expectTypeOf(users.owner).toEqualTypeOf<number>();
  expectTypeOf(users.shardCount).toEqualTypeOf<number>();
}

// ---- API: iteration ---------------------------------------------------------------
{
  const users = await ShardedMap.create<User>();

  // range: (key, value) => boolean | void; false stops.
  users.range((key, value) => {
    expectTypeOf(key).toEqualTypeOf<Key>();
    expectTypeOf(value).toEqualTypeOf<User>();
    return value.name !== 'stop';
  });
  users.range((key, value) => { console.log(key, value.name); });

  // rangeShard, shardCount: iterate in chunks.
  for (let s = 0; s < users.shardCount; s++) {
    users.rangeShard(s, (key, value) => {
      expectTypeOf(key).toEqualTypeOf<Key>();
      expectTypeOf(value).toEqualTypeOf<User>();
    });
  }

  // forEach as on Map: (value, key, map), thisArg.
  users.forEach((value, key, map) => {
    expectTypeOf(value).toEqualTypeOf<User>();
    expectTypeOf(key).toEqualTypeOf<Key>();
    expectTypeOf(map).toEqualTypeOf<ShardedMap<User>>();
  });
  users.forEach(function (this: { seen: number }) { this.seen++; }, { seen: 0 });

  // keys, values, entries, [Symbol.iterator]
  expectTypeOf(users.keys()).toExtend<Iterable<Key>>();
  expectTypeOf(users.values()).toExtend<Iterable<User>>();
  expectTypeOf(users.entries()).toExtend<Iterable<[Key, User]>>();
  expectTypeOf(users.entries().next()).toEqualTypeOf<IteratorResult<[Key, User]>>();
  for (const [key, user] of users.entries()) {
    expectTypeOf(key).toEqualTypeOf<Key>();
    expectTypeOf(user).toEqualTypeOf<User>();
  }
  for (const [key, user] of users) {
    expectTypeOf(key).toEqualTypeOf<Key>();
    expectTypeOf(user).toEqualTypeOf<User>();
  }
  for (const key of users.keys()) expectTypeOf(key).toEqualTypeOf<Key>();
  for (const user of users.values()) expectTypeOf(user).toEqualTypeOf<User>();
  expectTypeOf([...users]).toEqualTypeOf<[Key, User][]>();
  expectTypeOf(new Map(users)).toEqualTypeOf<Map<Key, User>>();
  expectTypeOf(Object.prototype.toString.call(users)).toEqualTypeOf<string>();
  expectTypeOf(users[Symbol.toStringTag]).toEqualTypeOf<string>();

  // "it can stand in for a Map"
  const asMap: Map<Key, User> = users;
  const readOnly: ReadonlyMap<Key, User> = users;
  const byName = (m: ReadonlyMap<Key, User>) => [...m.values()].map((u) => u.name);
  expectTypeOf(byName(users)).toEqualTypeOf<string[]>();
  void asMap;
  void readOnly;
}

// ---- API: faults, health, statistics, debug, close ----------------------------
{
  const map = await ShardedMap.create<User>({ debugRing: 64 });

  // release(...owners), watch(worker) → unwatch, releaseThread(threadId) → owner ids
  expectTypeOf(map.release(2)).toEqualTypeOf<void>();
  map.release(2, 3, 4);
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: map.handle });
  const threadId = worker.threadId;
  const unwatch = map.watch(worker);
  unwatch();
  worker.once('exit', () => {
    const released = map.releaseThread(threadId);
    expectTypeOf(released).toEqualTypeOf<number[]>();
  });

  // stats(options?) → MapStats
  const stats = map.stats();
  expectTypeOf(stats).toEqualTypeOf<MapStats>();
  expectTypeOf(stats.counters.hits).toEqualTypeOf<number>();
  expectTypeOf(stats.instance.lockWaits).toEqualTypeOf<number>();
  expectTypeOf(stats.counters).toEqualTypeOf<Counters>();
  expectTypeOf(stats.entries).toEqualTypeOf<number>();
  expectTypeOf(stats.loadFactor).toEqualTypeOf<number>();
  expectTypeOf(stats.perShard).toEqualTypeOf<ShardStats[] | undefined>();
  expectTypeOf<keyof Counters>().toEqualTypeOf<
    | 'hits' | 'misses' | 'stores' | 'deletes' | 'readRetries' | 'lockWaits' | 'lockTimeouts' | 'resizes'
    | 'releasedOwners' | 'evictions' | 'expirations' | 'fetchLoads' | 'fetchWaits' | 'fetchErrors' | 'staleHits'
    | 'staleRefreshes'
  >();
  expectTypeOf<keyof MapStats>().toEqualTypeOf<
    | 'entries' | 'shards' | 'attached' | 'memoryBytes' | 'usedBytes' | 'tableBytes' | 'slots' | 'loadFactor'
    | 'tombstones' | 'heapLiveBytes' | 'heapDeadBytes' | 'maxProbe' | 'faults' | 'counters' | 'instance' | 'perShard'
    | 'cache'
  >();
  const detailed = map.stats({ perShard: true, timeout: 100 });
  for (const shard of detailed.perShard ?? []) expectTypeOf(shard.maxProbe).toEqualTypeOf<number>();

  // check(options?) → { ok, problems, faults, leakedBytes }
  const report = map.check({ timeout: 1000 });
  expectTypeOf(report).toEqualTypeOf<CheckReport>();
  expectTypeOf(report.ok).toEqualTypeOf<boolean>();
  expectTypeOf(report.problems).toEqualTypeOf<CheckProblem[]>();
  expectTypeOf(report.faults).toEqualTypeOf<number>();
  expectTypeOf(report.leakedBytes).toEqualTypeOf<number>();
  for (const { shard, rule, message } of map.check().problems) {
    expectTypeOf(shard).toEqualTypeOf<number>();
    expectTypeOf(rule).toExtend<string>();
    expectTypeOf(message).toEqualTypeOf<string>();
  }

  // debug() → { shard, entries: { seq, op, owner, keyHash, result }[] }[]
  const rings = map.debug();
  expectTypeOf(rings).toEqualTypeOf<DebugShard[]>();
  expectTypeOf(rings[0]!.entries).toEqualTypeOf<DebugEntry[]>();
  expectTypeOf<keyof DebugEntry>().toEqualTypeOf<'seq' | 'op' | 'owner' | 'keyHash' | 'result'>();

  // close()
  expectTypeOf(map.close()).toEqualTypeOf<void>();
}

// ---- Quick start / Cache: a cache ------------------------------------------------------
{
  interface Profile {
    name: string;
  }
  const db = { load: async (key: unknown): Promise<Profile> => ({ name: String(key) }) };
  const profile: Profile = { name: 'Ada' };
  const s = { token: 'x' };
  const cache = await ShardedMap.create<Profile | { token: string }>({ maxEntries: 100_000, maxBytes: 64 << 20, ttl: 60_000 });
  cache.set('user:1', profile); // expires after the default ttl
  cache.store('session:9', s, { ttl: 5_000 }); // per-entry ttl (0 = never)
  const v = await cache.fetch('user:2', async (key, { signal }) => {
    expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
    return db.load(key);
  }, { ttl: 30_000 });
  expectTypeOf(v).toEqualTypeOf<Profile | { token: string } | undefined>();
  expectTypeOf(cache.stats().counters.evictions).toEqualTypeOf<number>();
  expectTypeOf(cache.stats().cache).toEqualTypeOf<{ maxEntries: number; maxBytes: number; ttl: number; bytes: number } | null>();
  expectTypeOf(cache.purgeStale()).toEqualTypeOf<number>();
  expectTypeOf(cache.isCache).toEqualTypeOf<boolean>();
  const wo: WriteOptions = { ttl: 10, timeout: 100 };
  cache.storeNumber('n', 1, wo);
  expectTypeOf(cache.tryStore('t', profile, { ttl: 0 })).toEqualTypeOf<boolean>();
  const fo: FetchOptions = { ttl: 1, loadTimeout: 1000, signal: AbortSignal.timeout(10) };
  const loader: Loader<Profile> = async () => undefined;
  expectTypeOf(loader).toBeFunction();
  expectTypeOf(fo.loadTimeout).toEqualTypeOf<number | undefined>();
  const clocked = await ShardedMap.create({ ttl: 10, clock: () => Date.now() });
  await ShardedMap.attach(clocked.handle, { clock: Date.now });
  // Stale windows and negative caching: per call, or as an instance's defaults.
  const status: FetchStatus = {};
  const stale = await cache.fetch('user:3', async (key) => db.load(key), {
    ttl: 60_000, staleWhileRevalidate: 30_000, staleIfError: 600_000, negativeTtl: 5_000, status,
  });
  expectTypeOf(stale).toEqualTypeOf<Profile | { token: string } | undefined>();
  expectTypeOf(status.stale).toEqualTypeOf<boolean | undefined>();
  expectTypeOf(status.error).toEqualTypeOf<unknown>();
  await ShardedMap.attach(cache.handle, { staleWhileRevalidate: 30_000, staleIfError: 600_000, negativeTtl: 5_000 });
  expectTypeOf(cache.stats().counters.staleHits).toEqualTypeOf<number>();
}

// ---- Errors: typed codes -------------------------------------------------------------
{
  expectTypeOf<ErrorCodeValue>().not.toBeAny();
  expectTypeOf<ErrorCodeValue>().toExtend<`ERR_SHARDEDMAP_${string}`>();
  expectTypeOf<string>().not.toExtend<ErrorCodeValue>();
  expectTypeOf(ErrorCode.CLOSED).toEqualTypeOf<'ERR_SHARDEDMAP_CLOSED'>();
  expectTypeOf<'ERR_SHARDEDMAP_INVALID_OPTION'>().toExtend<ErrorCodeValue>();
  expectTypeOf<'ERR_SHARDEDMAP_LOCK_TIMEOUT'>().toExtend<ErrorCodeValue>();
  expectTypeOf<typeof ErrorCode[keyof typeof ErrorCode]>().toEqualTypeOf<ErrorCodeValue>();

  const map = await ShardedMap.create<number>();
  try {
    map.store('hits', 1, { timeout: 10 });
  } catch (e) {
    if (e instanceof LockTimeoutError) {
      expectTypeOf(e.shard).toEqualTypeOf<number>();
      expectTypeOf(e.owner).toEqualTypeOf<number>();
      expectTypeOf(e.code).toEqualTypeOf<ErrorCodeValue>();
      map.release(e.owner);
    } else if (e instanceof ShardedMapError) {
      expectTypeOf(e.code).toEqualTypeOf<ErrorCodeValue>();
      if (e.code === ErrorCode.CLOSED || e.code === 'ERR_SHARDEDMAP_BAD_HANDLE') console.error(e.message);
    } else if (e instanceof ShardedMapTypeError) {
      expectTypeOf(e).toExtend<TypeError>();
      expectTypeOf(e.code).toEqualTypeOf<ErrorCodeValue>();
    } else if (e instanceof ShardedMapRangeError) {
      expectTypeOf(e).toExtend<RangeError>();
      expectTypeOf(e.code).toEqualTypeOf<ErrorCodeValue>();
      if (e.code === ErrorCode.MEMORY_FULL) map.clear();
    }
  }
  expectTypeOf<LockTimeoutError>().toExtend<ShardedMapError>();
}

// ---- Cache: Warm restart ---------------------------------------------------------
{
  const map = await ShardedMap.create<User>({ maxEntries: 100_000, ttl: 60_000 });
  const info = await map.snapshot('/var/cache/app/users.snap');
  expectTypeOf(info).toEqualTypeOf<SnapshotInfo>();
  expectTypeOf(info.entries).toEqualTypeOf<number>();
  try {
    const back = await ShardedMap.restore<User>('/var/cache/app/users.snap', { maxEntries: 50_000 });
    expectTypeOf(back).toEqualTypeOf<ShardedMap<User>>();
  } catch (e) {
    if (e instanceof SnapshotError) {
      expectTypeOf(e.path).toEqualTypeOf<string>();
      expectTypeOf(e).toExtend<ShardedMapError>();
    }
  }
}

// ---- Cache: Keyv ---------------------------------------------------------------------
{
  const map = await ShardedMap.create({ maxEntries: 100_000 });
  const keyv = new Keyv({ store: new KeyvShardedMap(map) });
  await keyv.set('user:1', { name: 'Ada' }, 60_000);
  const plain = new Keyv<User>({ store: new KeyvShardedMap(map), serialize: undefined, deserialize: undefined });
  expectTypeOf(await plain.get('user:1')).toEqualTypeOf<User | undefined>();
}

export {};
