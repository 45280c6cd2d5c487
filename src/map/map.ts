/**
 * ShardedMap: the public class, and only its API. One instance per agent
 * (the main thread or a worker); every instance attached to the same handle
 * sees the same table, with no copying and no messages. Each method
 * validates its arguments and works through the instance's session
 * (core/session.ts); the protocols behind the API live beside it (core/,
 * cache/, watch.ts), each in its own module.
 */
import {
  LAYOUT_VERSION, ST_OK, ST_NOT_FOUND, ST_BUSY, ST_FULL, ST_BAD_ARG, ST_BAD_LAYOUT, ST_NO_OWNER,
  T_F64, OP_STORE, OP_LOAD_OR_STORE, OP_SWAP, OP_CAS, OP_DELETE, OP_LOAD_AND_DELETE, OP_CAD, SCRATCH_WORD, SCRATCH_TEST,
  TEST_FAULT_ABORT, TEST_FAULT_TRAP, TEST_FAULT_STAGED, CNT_HITS, CNT_MISSES, CACHE_ON,
} from '../../assembly/shared.js';
import { coreModule, instantiate, type CoreExports, type TestDoors } from '../core/core.js';
import { Session, MISS, type WriteOptions } from '../core/session.js';
import { getMany, loadNumbers } from '../core/batch.js';
import { shardEntries } from '../core/iterate.js';
import { writeSnapshot, readSnapshot, fillFromSnapshot, restoreOptions, type SnapshotInfo } from '../core/snapshot.js';
import { releaseOwners, ownersOf, faultError } from '../core/recovery.js';
import { checkMap, type CheckReport, type CheckProblem } from '../core/check.js';
import { mapStats, type MapStats } from '../core/stats.js';
import { readRings, type DebugShard } from '../core/debug.js';
import { Fetcher, type FetchOptions, type FetchStatus, type Loader } from '../cache/fetch.js';
import { encodeValue, decodeValue, type Key } from '../codec/codec.js';
import { vtypeOf, hasExpiry } from '../codec/words.js';
import {
  ErrorCode, LockTimeoutError, ShardedMapError, ShardedMapRangeError, ShardedMapTypeError, internalError, memoryFull,
} from '../base/errors.js';
import {
  resolveCreateOptions, resolveAttachOptions, type CreateOptions, type AttachOptions, type InstanceOptions,
} from '../base/options.js';
import { randomU32, now, isolationProblem, currentThread, type WasmMemory } from '../base/platform.js';
import { checkWaitOptions, waitWord, type WaitOptions } from '../base/wait.js';
import { ShardedMapIterator, ITER_KEYS, ITER_VALUES, ITER_ENTRIES } from './iterator.js';
import { Watcher, type WatchableWorker } from './watch.js';
import { checkHandle, badHandle, type ShardedMapHandle } from './handle.js';
import { checkKeyList, checkCallback } from './args.js';
import type { Internals } from './door.js';

/** Result of `loadAndDelete`: the value it had, if there was one. */
export type LoadResult<V> = { value: V; loaded: true } | { value: undefined; loaded: false };

/** Result of `loadOrStore`: the value there is now (the one found, or the
 *  one just stored). */
export interface LoadOrStoreResult<V> {
  value: V;
  loaded: boolean;
}

/** Result of `swap`: the previous value, if there was one. */
export type SwapResult<V> = { previous: V; loaded: true } | { previous: undefined; loaded: false };

const token = Symbol('ShardedMap.internal');

/** TEST ONLY: set by ShardedMap's static block in the test bundle. */
export let internalsOf: (map: ShardedMap<unknown>) => Internals;

/**
 * A hash map in shared WebAssembly memory, used at once by many workers.
 *
 * Keys: strings (any, lone surrogates included), numbers (SameValueZero:
 * NaN equals NaN, -0 equals 0; 1 and '1' are different keys), bigints and
 * Uint8Arrays (by bytes). Values: numbers, strings, booleans, null,
 * undefined, bigints, Uint8Arrays and msgpack-encodable objects and arrays;
 * every read returns a fresh copy, compared by content, never by identity.
 *
 * Concurrency: every single-key operation is atomic (linearizable): a read
 * sees a value some store wrote, never a mix. Reads take no lock. `range`
 * and the iterators are consistent per shard (each shard is copied under
 * its lock) but not across shards, and visit each key at most once.
 * Iteration order is hash order, not insertion order.
 */
export class ShardedMap<V = unknown> {
  /** This instance's per-call state on the core. */
  readonly #s: Session;
  readonly #mapId: readonly [number, number];
  /** fetch()'s single-flight machinery (cache maps), made on first use. */
  #fetcher: Fetcher<V> | undefined;
  /** watch()'s exit listeners, made on first use. */
  #watcher: Watcher | undefined;

  static {
    // Removed from the release bundles (esbuild's dropLabels, see
    // scripts/build.mjs): the door exists in the test bundle only.
    TEST_ONLY: {
      const kinds = { abort: TEST_FAULT_ABORT, trap: TEST_FAULT_TRAP, staged: TEST_FAULT_STAGED };
      internalsOf = (m) => ({
        core: m.#s.raw as CoreExports & TestDoors,
        token: m.#s.token,
        encodeKey: (key: Key) => m.#s.encodeKey(key),
        failNextWrite: (kind) => {
          m.#s.i32[(m.#s.scratch + SCRATCH_TEST) >>> 2] = kinds[kind];
        },
        records: m.#s.io.records!,
        memoHits: () => m.#s.memo?.hits ?? 0,
        memoKeys: () => m.#s.memo?.size ?? 0,
      });
    }
  }

  /** Use `ShardedMap.create` or `ShardedMap.attach`. */
  private constructor(
    t: typeof token, x: CoreExports, memory: WasmMemory, mapId: readonly [number, number], tok: number,
    options: InstanceOptions,
  ) {
    if (t !== token) throw new TypeError('use ShardedMap.create() or ShardedMap.attach(handle)');
    this.#s = new Session(x, memory, tok, options, faultError);
    this.#mapId = mapId;
  }

  /**
   * Create a new map in a new shared memory and attach to it.
   * @throws ShardedMapTypeError / ShardedMapRangeError (code
   *   `ERR_SHARDEDMAP_INVALID_OPTION`) naming a bad option.
   */
  static async create<V = unknown>(options?: CreateOptions): Promise<ShardedMap<V>> {
    const o = resolveCreateOptions(options);
    const problem = isolationProblem();
    if (problem) throw new ShardedMapError(ErrorCode.NOT_ISOLATED, problem);
    const module = await coreModule();
    // One page to start: init grows the memory to hold its own layout.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: o.maxPages, shared: true });
    const x = await instantiate(module, memory);
    const seedLo = o.seed === undefined ? randomU32() : Number(BigInt.asUintN(32, o.seed));
    const seedHi = o.seed === undefined ? randomU32() : Number(BigInt.asUintN(32, o.seed >> 32n));
    const mapId: [number, number] = [randomU32(), randomU32()];
    const st = x.init(
      Math.log2(o.shards), o.maxWorkers, seedLo, seedHi, mapId[0], mapId[1], o.maxKeyBytes, o.maxValueBytes,
      o.perShard, o.maxPages, o.debugRing, o.cache ? CACHE_ON : 0, o.maxEntries, o.maxBytes, o.ttl,
    );
    if (st === ST_FULL) throw memoryFull();
    if (st !== ST_OK) throw internalError(`init (status ${st})`);
    return ShardedMap.#open<V>(x, memory, mapId, o);
  }

  /**
   * Attach to a map created elsewhere (usually in another worker) from its
   * `handle`.
   * @throws ShardedMapError with code `ERR_SHARDEDMAP_BAD_HANDLE` if `handle`
   *   is not a live map's handle, `ERR_SHARDEDMAP_LAYOUT_VERSION` if it was
   *   made by a build with another memory layout.
   */
  static async attach<V = unknown>(handle: ShardedMapHandle, options?: AttachOptions): Promise<ShardedMap<V>> {
    const o = resolveAttachOptions(options);
    const id = checkHandle(handle);
    const x = await instantiate(await coreModule(), handle.memory);
    const st = x.checkLayout(id[0], id[1]);
    if (st === ST_BAD_LAYOUT) badHandle(`its memory holds no map of layout ${LAYOUT_VERSION}`);
    if (st !== ST_OK) badHandle('its memory belongs to another map (mapId differs)');
    return ShardedMap.#open<V>(x, handle.memory, id, o);
  }

  static #open<V>(x: CoreExports, memory: WasmMemory, mapId: readonly [number, number], o: InstanceOptions): ShardedMap<V> {
    const { lockTimeout } = o;
    const deadline = now() + lockTimeout;
    const thread = currentThread();
    for (;;) {
      const tok = x.attach(thread === undefined ? 0 : thread + 1);
      if (tok > 0) return new ShardedMap<V>(token, x, memory, mapId, tok, o);
      if (tok === ST_NO_OWNER) {
        throw new ShardedMapRangeError(
          ErrorCode.TOO_MANY_WORKERS,
          'maxWorkers instances are attached already; close() unused ones or create the map with a larger maxWorkers',
        );
      }
      if (tok === ST_FULL) throw memoryFull();
      if (tok !== ST_BUSY) throw internalError(`attach (status ${tok})`);
      // The allocator is busy: wait on its lock word.
      waitWord(new Int32Array(memory.buffer), x.allocLockAddress() >>> 2, deadline, (owner) => new LockTimeoutError(-1, owner, lockTimeout));
    }
  }

  /** A plain object to pass to workers, for `ShardedMap.attach`. */
  get handle(): ShardedMapHandle {
    return { memory: this.#s.memory, mapId: this.#mapId, layoutVersion: LAYOUT_VERSION };
  }

  /** This instance's owner id, 1..maxWorkers: what a shard's lock word
   *  holds while this instance writes, and what `release` takes. */
  get owner(): number {
    return this.#s.owner;
  }

  /** Number of entries in the whole map, O(1). */
  get size(): number {
    this.#s.ownSlot();
    return this.#s.core.size();
  }

  /** Bytes of shared memory the map holds now (header, tables, scratch). */
  get memoryBytes(): number {
    this.#s.ownSlot();
    return this.#s.core.committedBytes();
  }

  /** Bytes of that memory in use (the rest is free for reuse). */
  get usedBytes(): number {
    this.#s.ownSlot();
    return this.#s.core.usedBytes();
  }

  // ---- reads -------------------------------------------------------------------

  /** The value stored for `key`, or undefined. */
  load(key: Key): V | undefined {
    const s = this.#s;
    s.alive();
    const kept = s.recall(key); // the read memo (core/memo.ts)
    if (kept !== MISS) return kept as V;
    const klen = s.encodeKey(key);
    let w = s.core.loadValue(s.token, klen); // hot path: a hit on the first try (the rest: readWord)
    if (w > 0 && !(hasExpiry(w) && s.expired(s.expIdx))) s.count(CNT_HITS);
    else if ((w = s.readWord(klen, w)) === ST_NOT_FOUND) return undefined;
    return s.loadedFor(w, klen, key) as V;
  }

  /**
   * The number stored for `key`; `fallback` if the key is absent. Allocates
   * nothing (unlike `load`, whose number | undefined result V8 boxes).
   * @throws ShardedMapTypeError (`ERR_SHARDEDMAP_NOT_A_NUMBER`) if the
   *   stored value is not a number.
   */
  loadNumber(key: Key, fallback = NaN): number {
    const s = this.#s;
    s.alive();
    const klen = s.encodeKey(key);
    const v = s.core.loadNumber(s.token, klen);
    if (v === v) {
      s.count(CNT_HITS);
      return v;
    }
    // NaN: a stored NaN, a miss, another type, busy (the status is in the
    // scratch word, see loadNumber), or this instance was released.
    if (!s.core.scratchOf(s.token)) throw s.refused('loadNumber', ST_BAD_ARG);
    let w = s.i32[(s.scratch + SCRATCH_WORD) >>> 2]!;
    if (w < 0 && w !== ST_NOT_FOUND) w = s.readSlow(w, klen, true);
    if (s.missed(w, s.expIdx)) {
      s.count(CNT_MISSES);
      return fallback;
    }
    s.count(CNT_HITS);
    // (A number fetch stored with a stale window is stamped: codec.ts.)
    const x = vtypeOf(w) === T_F64 ? s.f64[s.aux >>> 3]! : s.valueOf(w, klen);
    if (typeof x === 'number') return x;
    throw new ShardedMapTypeError(ErrorCode.NOT_A_NUMBER, 'loadNumber: the value stored for this key is not a number; use load()');
  }

  /** Is `key` present? */
  has(key: Key): boolean {
    const s = this.#s;
    s.alive();
    const klen = s.encodeKey(key);
    let w = s.core.has(s.token, klen);
    if (w === ST_BUSY || w === ST_BAD_ARG) w = s.readSlow(w, klen, false);
    const found = w > 0 && !s.missed(w, s.expIdx);
    s.count(found ? CNT_HITS : CNT_MISSES);
    return found;
  }

  /**
   * Load many keys at once: their values in order (undefined where a key is
   * absent), as `load` would return them. The lookups of a chunk of keys run
   * in one call into the core, which first touches every key's table line
   * and then reads them, so independent cache misses overlap: on a table
   * larger than the CPU caches this costs less per key than single loads.
   * Each key is read atomically; the batch as a whole is not a snapshot.
   */
  getMany(keys: readonly Key[]): (V | undefined)[] {
    this.#s.alive();
    checkKeyList(keys, 'getMany');
    return getMany<V>(this.#s, keys, (k) => this.load(k));
  }

  /**
   * `loadNumber` for many keys at once (see `getMany`): into `out` (a new
   * Float64Array if not given), `fallback` where a key is absent. Allocates
   * nothing when `out` is given.
   * @throws ShardedMapTypeError (`ERR_SHARDEDMAP_NOT_A_NUMBER`) if a stored
   *   value is not a number (entries before it are filled in).
   */
  loadNumbers(keys: readonly Key[], out?: Float64Array, fallback = NaN): Float64Array {
    this.#s.alive();
    checkKeyList(keys, 'loadNumbers');
    const result = out ?? new Float64Array(keys.length);
    if (!(result instanceof Float64Array) || result.length < keys.length) {
      throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, 'loadNumbers: out must be a Float64Array at least as long as keys');
    }
    loadNumbers(this.#s, keys, result, fallback, (k) => this.loadNumber(k, fallback));
    return result;
  }

  /** `Map#get`: the same as `load`. */
  get(key: Key): V | undefined {
    this.#s.alive(); // a receiver that is not a ShardedMap: TypeError, as on Map
    return this.load(key);
  }

  // ---- writes ------------------------------------------------------------------
  // Values are encoded before the key: packing an object runs its getters,
  // and a getter that reads this map encodes its own key into the same
  // scratch area (a load also fills the aux area, hence next before
  // expected in compareAndSwap).

  /** Store `value` for `key` (in a cache map, living `options.ttl` ms or
   *  the map's default ttl). */
  store(key: Key, value: V, options?: WriteOptions): void {
    const s = this.#s;
    s.alive();
    const word = encodeValue(value, s.io, s.val, s.maxValue);
    s.write(OP_STORE, s.encodeKey(key), word, 0, options);
  }

  /**
   * Store `value` for `key` only if its shard is free right now: true if
   * stored, false (map unchanged) if another instance holds the shard.
   * Never waits.
   */
  tryStore(key: Key, value: V, options?: { ttl?: number }): boolean {
    const s = this.#s;
    s.alive();
    const word = encodeValue(value, s.io, s.val, s.maxValue);
    return s.write(OP_STORE, s.encodeKey(key), word, 0, options, true) !== ST_BUSY;
  }

  /** Store a number for `key`; allocates nothing. */
  storeNumber(key: Key, value: number, options?: WriteOptions): void {
    if (typeof value !== 'number') {
      throw new ShardedMapTypeError(ErrorCode.VALUE_TYPE, `storeNumber: the value must be a number, not a ${typeof value}`);
    }
    this.store(key, value as V, options);
  }

  /** `Map#set`: the same as `store`; returns the map. */
  set(key: Key, value: V): this {
    this.#s.alive();
    this.store(key, value);
    return this;
  }

  /**
   * If `key` is present, its value (`loaded: true`); otherwise stores
   * `value` and returns it (`loaded: false`). Atomic.
   */
  loadOrStore(key: Key, value: V, options?: WriteOptions): LoadOrStoreResult<V> {
    const s = this.#s;
    s.alive();
    const word = encodeValue(value, s.io, s.val, s.maxValue);
    const st = s.write(OP_LOAD_OR_STORE, s.encodeKey(key), word, 0, options);
    if (st > 0) return { value: decodeValue(s.io, s.aux, st) as V, loaded: true };
    return { value, loaded: false };
  }

  /** Delete `key`, returning the value it had (`loaded: true`) if present. */
  loadAndDelete(key: Key, options?: WaitOptions): LoadResult<V> {
    const s = this.#s;
    s.alive();
    const st = s.write(OP_LOAD_AND_DELETE, s.encodeKey(key), 0, 0, options);
    if (st > 0) return { value: decodeValue(s.io, s.aux, st) as V, loaded: true };
    return { value: undefined, loaded: false };
  }

  /** Store `value` for `key`, returning the previous value if there was one. */
  swap(key: Key, value: V, options?: WriteOptions): SwapResult<V> {
    const s = this.#s;
    s.alive();
    const word = encodeValue(value, s.io, s.val, s.maxValue);
    const st = s.write(OP_SWAP, s.encodeKey(key), word, 0, options);
    if (st > 0) return { previous: decodeValue(s.io, s.aux, st) as V, loaded: true };
    return { previous: undefined, loaded: false };
  }

  /**
   * Store `next` for `key` if its value equals `expected` by content (same
   * type and encoded bytes: numbers by bits, so NaN equals NaN and -0 differs
   * from 0; objects by their msgpack encoding, so key order matters).
   * False if the key is absent or the value differs. Atomic.
   */
  compareAndSwap(key: Key, expected: V, next: V, options?: WriteOptions): boolean {
    const s = this.#s;
    s.alive();
    const word = s.encodeSwap(next, expected);
    return s.write(OP_CAS, s.encodeKey(key), word, s.expectedWord, options) === ST_OK;
  }

  /** Delete `key` if its value equals `expected` (as in compareAndSwap). */
  compareAndDelete(key: Key, expected: V, options?: WaitOptions): boolean {
    const s = this.#s;
    s.alive();
    const eword = encodeValue(expected, s.io, s.aux, s.maxValue);
    return s.write(OP_CAD, s.encodeKey(key), 0, eword, options) === ST_OK;
  }

  /** Delete `key`; true if it was present. */
  // (Default values rather than `?`: a parameter with a default does not
  // count in `length`, so delete.length is 1 as on Map; likewise below.)
  delete(key: Key, options: WaitOptions | undefined = undefined): boolean {
    const s = this.#s;
    s.alive();
    return s.write(OP_DELETE, s.encodeKey(key), 0, 0, options) === ST_OK;
  }

  /** Delete every entry, shard by shard (each shard atomically), and give
   *  the shards' memory back for reuse. */
  clear(options: WaitOptions | undefined = undefined): void {
    const s = this.#s;
    s.alive();
    if (options !== undefined) checkWaitOptions(options);
    const n = s.core.shardCount();
    for (let i = 0; i < n; i++) {
      const st = s.retry(() => s.core.clearShard(s.token, i), options);
      if (st !== ST_OK) throw s.refused('clearShard', st);
    }
  }

  // ---- owner death -------------------------------------------------------------

  /**
   * Recover from the death of another instance (a worker terminated or
   * crashed while attached): release the locks it held, repair the shards
   * it was writing (every committed entry stays; the one being written is
   * old or new), free its scratch area and its owner slot. Call it from any
   * live instance with the dead one's `owner` id, e.g. in Node:
   * `worker.once('exit', () => map.release(ownerIdTheWorkerSent))`.
   * Several instances that died together must be released in one call
   * (`release(a, b)`): recovery takes every shard's lock, and a lock held by
   * a dead owner not named would make it time out. Releasing a live
   * instance makes its next call throw `ERR_SHARDEDMAP_CLOSED`.
   */
  release(...owners: number[]): void {
    this.#s.alive();
    releaseOwners(this.#s, owners);
  }

  /**
   * Node: release, when `worker` exits, whatever the instances it attached
   * still hold (see `release`), so that a crashed or terminated worker
   * stalls the others for milliseconds, not `lockTimeout`. Call it once per
   * worker, from any live instance (usually the main thread's) right after
   * creating the worker; the instances the worker attaches are recorded
   * with its `threadId`, so nothing has to be posted back. A worker that
   * closed its instances cleanly releases nothing. Idempotent per worker.
   * Returns a function that stops watching.
   * @throws ShardedMapTypeError (`ERR_SHARDEDMAP_INVALID_ARGUMENT`) if
   *   `worker` is not a running `node:worker_threads` Worker.
   */
  watch(worker: WatchableWorker): () => void {
    const s = this.#s;
    s.alive();
    const tid = (worker as { threadId?: unknown } | null)?.threadId;
    if (typeof tid !== 'number' || !Number.isInteger(tid) || tid < 0 || typeof worker.once !== 'function') {
      throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, 'watch: expected a running node:worker_threads Worker (with a threadId)');
    }
    this.#watcher ??= new Watcher({
      get closed() {
        return s.closed;
      },
      releaseThreads: (tids) => this.release(...tids.flatMap((t) => ownersOf(s, t))),
    });
    return this.#watcher.watch(worker, tid);
  }

  /**
   * Release (see `release`) every instance attached from the thread whose
   * `threadId` is given that is still attached or holds a lock: what
   * `watch` does when a worker exits, for callers that learn of a thread's
   * end another way (a pool's own events). Only for threads that have
   * exited. Returns the owner ids released.
   */
  releaseThread(threadId: number): number[] {
    this.#s.alive();
    if (!Number.isInteger(threadId) || threadId < 0) {
      throw new ShardedMapRangeError(ErrorCode.INVALID_ARGUMENT, `releaseThread: threadId must be an integer >= 0, got ${String(threadId)}`);
    }
    const owners = ownersOf(this.#s, threadId);
    this.release(...owners);
    return owners;
  }

  // ---- health --------------------------------------------------------------------

  /**
   * Check the map's consistency: every shard's bookkeeping (its heap parses,
   * its counters are right, every key is where a lookup finds it) and the
   * shared allocator (free list sound, no region handed out twice). Takes
   * every shard's lock in turn, so writers wait while it runs (about a
   * millisecond per 10,000 entries). For health checks after a fault or a
   * `release`: a healthy map reports `ok: true` and `faults: 0`.
   */
  check(options?: WaitOptions): CheckReport {
    this.#s.alive();
    return checkMap(this.#s, options);
  }

  /**
   * Figures about the map (entries, memory, load factor, tombstones, probe
   * lengths, heap bytes, faults) and what its instances counted (hits,
   * misses, stores, deletes, read retries, lock waits and timeouts,
   * resizes, released owners...): `counters` for all instances together,
   * `instance` for this one. Reads each shard's table under its lock,
   * briefly (writers to that shard wait that long). With
   * `{ perShard: true }`, each shard's figures too.
   */
  stats(options?: { perShard?: boolean } & WaitOptions): MapStats {
    this.#s.alive();
    return mapStats(this.#s, options);
  }

  // ---- cache ----------------------------------------------------------------

  /** Is this map a cache (created with maxEntries, maxBytes or ttl)? */
  get isCache(): boolean {
    this.#s.alive();
    return this.#s.cacheFlags >= 0;
  }

  /**
   * Cache maps: drop every expired entry now, shard by shard (each under
   * its lock); returns how many. Not needed for correctness (an expired
   * entry reads as absent at once, and writes sweep them a few slots at a
   * time): for callers that want `size` and memory to drop right away.
   */
  purgeStale(options?: WaitOptions): number {
    const s = this.#s;
    s.ownSlot();
    if (options !== undefined) checkWaitOptions(options);
    if (s.cacheFlags < 0) return 0;
    let n = 0;
    const t = s.now();
    for (let i = 0; i < s.core.shardCount(); i++) {
      const st = s.retry(() => s.core.purgeShardExpired(s.token, i, t), options);
      if (st < 0) throw s.refused('purgeShardExpired', st);
      n += st;
    }
    return n;
  }

  /**
   * Cache maps: the value of `key`; on a miss, exactly one caller across
   * every instance of the map runs `loader(key, { signal })` and stores
   * what it resolves to (with `options.ttl`), while the others wait for it
   * without blocking their event loop. A loader that resolves to
   * `undefined` stores nothing (every waiter gets `undefined`); one that
   * rejects stores nothing and rejects every waiter (in other workers with
   * `ERR_SHARDEDMAP_FETCH_FAILED` and its message). A leader that is gone
   * (its worker released: see `watch`) or late (`options.loadTimeout`, its
   * `signal` then aborts) is taken over by a waiter. `options.signal`
   * aborts this call's wait (a leader that aborts abandons the load: a
   * waiter takes it over).
   */
  async fetch(key: Key, loader: Loader<V>, options?: FetchOptions): Promise<V | undefined> {
    this.#s.alive();
    if (this.#s.cacheFlags < 0) {
      throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, 'fetch: this map is not a cache; create it with a ttl, maxEntries or maxBytes option');
    }
    this.#fetcher ??= new Fetcher<V>(this.#s, (k, v, ttl) => this.store(k, v as V, ttl === undefined ? undefined : { ttl }));
    return this.#fetcher.fetch(key, loader, options);
  }

  // ---- warm restart (Node) -------------------------------------------------------

  /** Write every live entry with its expiry to the file `path` (Node): each
   *  shard copied under its lock while other workers go on, into a
   *  temporary file fsynced and renamed over `path` (core/snapshot.ts). */
  snapshot(path: string): Promise<SnapshotInfo> {
    this.#s.ownSlot();
    return writeSnapshot(this.#s, path);
  }

  /** A new map (`create`'s options; by default the settings of the map the
   *  snapshot was taken of) holding the entries of snapshot `path` that
   *  have not expired, within its bounds. @throws SnapshotError
   *  (`ERR_SHARDEDMAP_SNAPSHOT_*`) for a bad file, and makes no map. */
  static async restore<V = unknown>(path: string, options?: CreateOptions): Promise<ShardedMap<V>> {
    const file = await readSnapshot(path);
    const map = await ShardedMap.create<V>(restoreOptions(file, options));
    try {
      fillFromSnapshot(map.#s, file);
    } catch (e) {
      map.close();
      throw e;
    }
    return map;
  }

  // ---- iteration -------------------------------------------------------------

  /**
   * Call `fn(key, value)` for each entry until it returns `false` (Go's
   * `sync.Map.Range`). Each shard is copied under its lock, so what `fn`
   * sees of one shard is a consistent snapshot; other shards may change
   * meanwhile. `fn` may read and write the map.
   */
  range(fn: (key: Key, value: V) => boolean | void): void {
    this.#s.alive();
    checkCallback(fn, 'range');
    for (const [k, v] of this.#entriesOf(0, this.#s.core.shardCount())) if (fn(k, v) === false) return;
  }

  /** Number of shards (for `rangeShard`). */
  get shardCount(): number {
    this.#s.ownSlot();
    return this.#s.core.shardCount();
  }

  /** `range` over one shard (0..shardCount-1): a consistent snapshot of it.
   *  For iterating in chunks. */
  rangeShard(shard: number, fn: (key: Key, value: V) => boolean | void): void {
    this.#s.alive();
    checkCallback(fn, 'rangeShard');
    const n = this.#s.core.shardCount();
    if (!Number.isInteger(shard) || shard < 0 || shard >= n) {
      throw new ShardedMapRangeError(ErrorCode.INVALID_ARGUMENT, `rangeShard: shard must be an integer from 0 to ${n - 1}`);
    }
    for (const [k, v] of this.#entriesOf(shard, shard + 1)) if (fn(k, v) === false) return;
  }

  /** `Map#forEach`: `fn(value, key, map)` for each entry (see `range`). */
  forEach(fn: (value: V, key: Key, map: this) => void, thisArg: unknown = undefined): void {
    this.#s.alive();
    checkCallback(fn, 'forEach');
    this.range((k, v) => {
      fn.call(thisArg, v, k, this);
    });
  }

  /** Entries, shard by shard (see `range`); hash order. Also the map's
   *  `[Symbol.iterator]` (the same function, as on Map). */
  entries(): IterableIterator<[Key, V]> {
    this.#s.alive();
    return new ShardedMapIterator<[Key, V]>(this.#entriesOf(0, this.#s.core.shardCount()), ITER_ENTRIES);
  }

  /** Keys, as `entries`. */
  keys(): IterableIterator<Key> {
    this.#s.alive();
    return new ShardedMapIterator<Key>(this.#entriesOf(0, this.#s.core.shardCount()), ITER_KEYS);
  }

  /** Values, as `entries`. */
  values(): IterableIterator<V> {
    this.#s.alive();
    return new ShardedMapIterator<V>(this.#entriesOf(0, this.#s.core.shardCount()), ITER_VALUES);
  }

  #entriesOf(from: number, to: number): IterableIterator<[Key, V]> {
    return shardEntries<V>(this.#s, from, to);
  }

  static {
    // As on Map: [Symbol.iterator] is entries itself, and the tag is a data
    // property.
    Object.defineProperty(this.prototype, Symbol.iterator, {
      value: this.prototype.entries, writable: true, enumerable: false, configurable: true,
    });
    Object.defineProperty(this.prototype, Symbol.toStringTag, {
      value: 'ShardedMap', writable: false, enumerable: false, configurable: true,
    });
  }

  /**
   * Debug mode (`debugRing` option): the operations each shard's ring still
   * holds, oldest first, as recorded by every instance. Empty when debug
   * mode is off. Entries written while this runs may be missing or torn.
   */
  debug(): DebugShard[] {
    const s = this.#s;
    s.ownSlot();
    return readRings(s.core, s.token, s.i32, s.scratch);
  }

  // ---- lifecycle ---------------------------------------------------------------

  /**
   * Detach this instance: its owner slot and scratch area are freed. The map
   * lives on for other instances. Every later call on this instance throws
   * `ERR_SHARDEDMAP_CLOSED`. Idempotent.
   */
  close(): void {
    const s = this.#s;
    if (s.closed) return;
    const deadline = now() + s.lockTimeout;
    for (;;) {
      const st = s.core.detach(s.token);
      if (st === ST_OK) break;
      if (st !== ST_BUSY) throw s.refused('detach', st);
      s.waitAllocator(deadline);
    }
    s.closed = true;
  }
}

// The two prototype properties defined in the static block above.
export interface ShardedMap<V> {
  [Symbol.iterator](): IterableIterator<[Key, V]>;
  readonly [Symbol.toStringTag]: string;
}

export type { ShardedMapHandle, Key, WaitOptions, WriteOptions, WatchableWorker, CheckReport, CheckProblem, FetchOptions, FetchStatus, Loader, CreateOptions, AttachOptions };
export type { DebugEntry, DebugShard } from '../core/debug.js';
export type { SnapshotInfo } from '../core/snapshot.js';
export type { Internals } from './door.js';
export type { MapStats, ShardStats, Counters } from '../core/stats.js';
