/**
 * ShardedMap: the facade over the Wasm core. One instance per agent (the main
 * thread or a worker); every instance attached to the same handle sees the
 * same table, with no copying and no messages. This file is the class and
 * its contract; waiting (wait.ts), debug decoding (debug.ts), check reports
 * (check.ts), options (options.ts), encodings (codec.ts) and errors
 * (errors.ts) live beside it.
 */
import {
  LAYOUT_VERSION, T_UNDEFINED, ST_OK, ST_NOT_FOUND, ST_BUSY, ST_FULL, ST_MISMATCH, ST_BAD_ARG, ST_BAD_LAYOUT,
  ST_NO_OWNER, T_F64, OP_STORE, OP_LOAD_OR_STORE, OP_SWAP, OP_CAS, OP_DELETE, OP_LOAD_AND_DELETE, OP_CAD,
  SCRATCH_BUSY, SCRATCH_KLEN, SCRATCH_WORD, SCRATCH_KEY, SCRATCH_TEST, TEST_FAULT_ABORT, TEST_FAULT_TRAP,
  TEST_FAULT_STAGED, OWNER_ID_MASK, SCRATCH_COUNTERS, SCRATCH_TAG_ADDR, SCRATCH_TAG_EPOCH, SCRATCH_TAG_SHARD, ST_STALE,
  BATCH_RECORD_SHIFT, BATCH_WHERE, BATCH_TAG_EPOCH, BATCH_F64, BATCH_BUSY, BATCH_NOT_COPIED, CNT_HITS, CNT_MISSES, CNT_STORES, CNT_DELETES, CNT_LOCK_WAITS,
  CNT_LOCK_TIMEOUTS, CNT_RELEASED, ST_TOO_LARGE, CACHE_ON, CACHE_TTL_SEEN, SCRATCH_EXPIRY, SCRATCH_NOW, BATCH_EXPIRY, PAGE_BYTES,
} from '../assembly/shared.js';
import { coreModule, instantiate, guardedCore, type CoreExports, type TestDoors } from './core.js';
import { encodeKey, decodeKey, encodeValue, decodeValue, describe, memIO, type Key, type MemIO } from './codec.js';
import { DecodedCache, MISS } from './decoded.js';
import {
  ErrorCode, LockTimeoutError, ShardedMapError, ShardedMapRangeError, ShardedMapTypeError, closedError,
  releasedError, internalError, memoryFull, entryTooLarge,
} from './errors.js';
import {
  resolveCreateOptions, resolveAttachOptions, ttlValue, type CreateOptions, type AttachOptions, type InstanceOptions,
} from './options.js';
import { randomU32, now, isolationProblem, currentThread } from './platform.js';
import { checkWaitOptions, waitWord, type WaitOptions } from './wait.js';
import { readRings, type DebugShard } from './debug.js';
import { checkProblem, type CheckReport, type CheckProblem } from './check.js';
import { tokenId, vtypeOf, vlenOf, hasExpiry } from './words.js';
import { Fetcher, type FetchOptions, type Loader } from './fetch.js';
import { readShardStats, readCounters, sumStats, type MapStats, type ShardStats } from './stats.js';

/**
 * What `attach` needs: a plain, structured-cloneable object. Post it to a
 * worker (`workerData`, `postMessage`) and call `ShardedMap.attach` there.
 */
export interface ShardedMapHandle {
  /** The shared memory holding the whole map. */
  readonly memory: WebAssembly.Memory;
  /** The map's random id, as two uint32 (low, high). */
  readonly mapId: readonly [number, number];
  /** Memory layout version of the build that created the map. */
  readonly layoutVersion: number;
}

/** Result of `loadAndDelete`: the value it had, if there was one. */
export type LoadResult<V> = { value: V; loaded: true } | { value: undefined; loaded: false };

/** Result of `loadOrStore`: the value there is now (the one found, or the
 *  one just stored). */
export interface LoadOrStoreResult<V> {
  value: V;
  loaded: boolean;
}

/** What `watch` needs of a worker: Node's `Worker` has all of it. */
export interface WatchableWorker {
  readonly threadId: number;
  once(event: 'exit', listener: (code: number) => void): unknown;
  off?(event: 'exit', listener: (code: number) => void): unknown;
}

/** Options of the calls that store a value: those of every call that may
 *  wait for a lock, plus a cache map's per-write time to live. */
export interface WriteOptions extends WaitOptions {
  /** Cache maps: milliseconds this value lives (0 or Infinity: forever).
   *  Defaults to the map's `ttl` option. */
  ttl?: number;
}

/** Result of `swap`: the previous value, if there was one. */
export type SwapResult<V> = { previous: V; loaded: true } | { previous: undefined; loaded: false };

const token = Symbol('ShardedMap.internal');
/** watch(): tries at releasing exited workers, this far apart, before it
 *  gives up with a warning (a failure means another dead worker's lock is
 *  in the way until its own exit is seen, or a live instance holds shard
 *  locks for long, e.g. a check() waiting for the dead one). */
const WATCH_RETRIES = 20;
const WATCH_RETRY_MS = 50;

/** TEST ONLY (the test bundle): what `internalsOf` exposes (src/internals.ts). */
export interface Internals {
  /** The test build of the core, as instantiated (unguarded): every export
   *  plus its test doors. */
  core: CoreExports & TestDoors;
  /** This instance's owner token (what the core's exports take). */
  token: number;
  /** Encode a key into the scratch area; returns its length. */
  encodeKey(key: Key): number;
  /** Make this instance's next write fail inside the core while it holds
   *  the shard lock: an AS abort or a Wasm trap on taking it, or ('staged')
   *  a trap in the middle of rewriting an inline entry, after the switch to
   *  the staging cell. */
  failNextWrite(kind: 'abort' | 'trap' | 'staged'): void;
}

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
  readonly #x: CoreExports;
  /** The core's exports as instantiated (no fault guard, no ring swap). */
  readonly #raw: CoreExports;
  readonly #memory: WebAssembly.Memory;
  readonly #mapId: readonly [number, number];
  readonly #token: number;
  readonly #io: MemIO;
  readonly #u8: Uint8Array;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  /** Decoded values of this instance's loads (null: off). */
  readonly #cache: DecodedCache | null;
  readonly #scratch: number;
  readonly #key: number;
  readonly #val: number;
  readonly #aux: number;
  readonly #maxKey: number;
  readonly #maxValue: number;
  readonly #lockTimeout: number;
  /** Workers being watched (`watch`), each with its unwatch function. */
  readonly #watched = new WeakMap<WatchableWorker, () => void>();
  /** Thread ids of watched workers that exited, not released yet. */
  readonly #exited = new Set<number>();
  /** Index (in #f64) of this instance's counter 0 (CNT_*). */
  readonly #cnt: number;
  /** Cache maps: index (in #i32) of the map's HDR_CACHE word; -1 for a
   *  plain map. */
  readonly #cacheIdx: number;
  /** Cache maps: the default ttl (ms, 0 = none) and the clock. */
  readonly #ttl: number;
  readonly #clock: () => number;
  /** Indexes (in #f64) of the scratch's SCRATCH_EXPIRY and SCRATCH_NOW. */
  readonly #expIdx: number;
  readonly #nowIdx: number;
  /** fetch()'s single-flight machinery (cache maps), made on first use. */
  #fetcher: Fetcher<V> | undefined;
  #closed = false;

  static {
    // Removed from the release bundles (esbuild's dropLabels, see
    // scripts/build.mjs): the door exists in the test bundle only.
    TEST_ONLY: {
      const kinds = { abort: TEST_FAULT_ABORT, trap: TEST_FAULT_TRAP, staged: TEST_FAULT_STAGED };
      internalsOf = (m) => ({
        core: m.#raw as CoreExports & TestDoors,
        token: m.#token,
        encodeKey: (key: Key) => encodeKey(key, m.#u8, m.#key, m.#maxKey),
        failNextWrite: (kind) => {
          m.#i32[(m.#scratch + SCRATCH_TEST) >>> 2] = kinds[kind];
        },
      });
    }
  }

  /** Use `ShardedMap.create` or `ShardedMap.attach`. */
  private constructor(
    t: typeof token, x: CoreExports, memory: WebAssembly.Memory, mapId: readonly [number, number], tok: number,
    { lockTimeout, decodedCache, clock }: InstanceOptions,
  ) {
    if (t !== token) throw new TypeError('use ShardedMap.create() or ShardedMap.attach(handle)');
    // Swapped in once: the debug ring's logging exports when it is on, and
    // the fault handler around every export that runs table code.
    this.#raw = x;
    this.#x = guardedCore(x, x.debugEntries() > 0, (e) => this.#fault(e));
    this.#memory = memory;
    this.#mapId = mapId;
    this.#token = tok;
    // The scratch area and every lock word were allocated before this view
    // was taken, so it never needs refreshing when the memory grows.
    this.#io = memIO(memory.buffer);
    this.#u8 = this.#io.u8;
    this.#i32 = this.#io.i32;
    this.#f64 = this.#io.f64;
    this.#cache = decodedCache > 0 ? new DecodedCache(this.#io, decodedCache) : null;
    this.#scratch = x.scratchOf(tok);
    this.#key = this.#scratch + SCRATCH_KEY;
    this.#val = this.#scratch + x.valueOffset();
    this.#aux = this.#scratch + x.auxOffset();
    this.#maxKey = x.maxKeyBytes();
    this.#maxValue = x.maxValueBytes();
    this.#lockTimeout = lockTimeout;
    this.#cnt = (this.#scratch + SCRATCH_COUNTERS) >>> 3;
    const flags = this.#i32[x.cacheFlagsAddress() >>> 2]!;
    this.#cacheIdx = (flags & CACHE_ON) !== 0 ? x.cacheFlagsAddress() >>> 2 : -1;
    this.#ttl = x.cacheTtl();
    this.#clock = clock;
    this.#expIdx = (this.#scratch + SCRATCH_EXPIRY) >>> 3;
    this.#nowIdx = (this.#scratch + SCRATCH_NOW) >>> 3;
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
    const bad = (why: string): never => {
      throw new ShardedMapError(ErrorCode.BAD_HANDLE, `not a ShardedMap handle: ${why}; pass map.handle from ShardedMap.create`);
    };
    if (typeof handle !== 'object' || handle === null) bad('expected an object');
    if (!(handle.memory instanceof WebAssembly.Memory)) bad('memory is not a WebAssembly.Memory');
    // Not `instanceof SharedArrayBuffer`: a SharedWorker has no such global.
    if (Object.prototype.toString.call(handle.memory.buffer) !== '[object SharedArrayBuffer]') bad('memory is not shared');
    // The core imports at least one page (instantiating with less is a LinkError).
    if (handle.memory.buffer.byteLength < PAGE_BYTES) bad('its memory is too small to hold a map');
    const id = handle.mapId;
    if (!Array.isArray(id) || id.length !== 2 || !id.every((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32)) {
      bad('mapId is not two uint32');
    }
    if (handle.layoutVersion !== LAYOUT_VERSION) {
      throw new ShardedMapError(
        ErrorCode.LAYOUT_VERSION,
        `the map was created with memory layout ${String(handle.layoutVersion)}, this build reads layout ${LAYOUT_VERSION}; use the same shardedmap version in every worker`,
      );
    }
    const x = await instantiate(await coreModule(), handle.memory);
    const st = x.checkLayout(id[0], id[1]);
    if (st === ST_BAD_LAYOUT) bad(`its memory holds no map of layout ${LAYOUT_VERSION}`);
    if (st !== ST_OK) bad('its memory belongs to another map (mapId differs)');
    return ShardedMap.#open<V>(x, handle.memory, [id[0], id[1]], o);
  }

  static #open<V>(x: CoreExports, memory: WebAssembly.Memory, mapId: readonly [number, number], o: InstanceOptions): ShardedMap<V> {
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
    return { memory: this.#memory, mapId: this.#mapId, layoutVersion: LAYOUT_VERSION };
  }

  /** This instance's owner id, 1..maxWorkers: what a shard's lock word
   *  holds while this instance writes, and what `release` takes. */
  get owner(): number {
    return tokenId(this.#token);
  }

  /** Number of entries in the whole map, O(1). */
  get size(): number {
    this.#ownSlot();
    return this.#x.size();
  }

  /** Bytes of shared memory the map holds now (header, tables, scratch). */
  get memoryBytes(): number {
    this.#ownSlot();
    return this.#x.committedBytes();
  }

  /** Bytes of that memory in use (the rest is free for reuse). */
  get usedBytes(): number {
    this.#ownSlot();
    return this.#x.usedBytes();
  }

  // ---- reads -------------------------------------------------------------------

  /** The value stored for `key`, or undefined. */
  load(key: Key): V | undefined {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const w = this.#x.loadValue(this.#token, klen);
    if (w > 0 && !(hasExpiry(w) && this.#expired(this.#expIdx))) {
      this.#count(CNT_HITS);
      // Numbers straight from the aux area; the rest through the cache.
      return (vtypeOf(w) === T_F64 ? this.#f64[this.#aux >>> 3] : this.#loaded(w, klen)) as V;
    }
    return this.#loadSlow(w, klen);
  }

  /**
   * The number stored for `key`; `fallback` if the key is absent. Allocates
   * nothing (unlike `load`, whose number | undefined result V8 boxes).
   * @throws ShardedMapTypeError (`ERR_SHARDEDMAP_NOT_A_NUMBER`) if the
   *   stored value is not a number.
   */
  loadNumber(key: Key, fallback = NaN): number {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const v = this.#x.loadNumber(this.#token, klen);
    if (v === v) {
      this.#count(CNT_HITS);
      return v;
    }
    // NaN: a stored NaN, a miss, another type, busy (the status is in the
    // scratch word, see loadNumber), or this instance was released.
    if (!this.#x.scratchOf(this.#token)) throw this.#refused('loadNumber', ST_BAD_ARG);
    let w = this.#i32[(this.#scratch + SCRATCH_WORD) >>> 2]!;
    if (w < 0 && w !== ST_NOT_FOUND) w = this.#readSlow(w, klen, true);
    if (w === ST_NOT_FOUND || (hasExpiry(w) && this.#expired(this.#expIdx))) {
      this.#count(CNT_MISSES);
      return fallback;
    }
    this.#count(CNT_HITS);
    if (vtypeOf(w) !== T_F64) {
      throw new ShardedMapTypeError(ErrorCode.NOT_A_NUMBER, 'loadNumber: the value stored for this key is not a number; use load()');
    }
    return this.#f64[this.#aux >>> 3]!;
  }

  /** Is `key` present? */
  has(key: Key): boolean {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    let w = this.#x.has(this.#token, klen);
    if (w === ST_BUSY || w === ST_BAD_ARG) w = this.#readSlow(w, klen, false);
    const found = w > 0 && !(hasExpiry(w) && this.#expired(this.#expIdx));
    this.#count(found ? CNT_HITS : CNT_MISSES);
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
    this.#alive();
    checkKeyList(keys, 'getMany');
    const out = new Array<V | undefined>(keys.length);
    // Values the batch could not hand over (long ones whose decoded copy this
    // instance does not have): read alone once the batch is done.
    const later: number[] = [];
    this.#batch(keys, false, (i, rec) => {
      const v = this.#batchValue(rec);
      if (v === MISS) later.push(i);
      else out[i] = v as V | undefined;
    }, (i) => later.push(i));
    for (const i of later) out[i] = this.load(keys[i]!);
    return out;
  }

  /**
   * `loadNumber` for many keys at once (see `getMany`): into `out` (a new
   * Float64Array if not given), `fallback` where a key is absent. Allocates
   * nothing when `out` is given.
   * @throws ShardedMapTypeError (`ERR_SHARDEDMAP_NOT_A_NUMBER`) if a stored
   *   value is not a number (entries before it are filled in).
   */
  loadNumbers(keys: readonly Key[], out?: Float64Array, fallback = NaN): Float64Array {
    this.#alive();
    checkKeyList(keys, 'loadNumbers');
    const result = out ?? new Float64Array(keys.length);
    if (!(result instanceof Float64Array) || result.length < keys.length) {
      throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, 'loadNumbers: out must be a Float64Array at least as long as keys');
    }
    this.#batch(keys, true, (i, rec) => {
      const w = this.#i32[rec >>> 2]!;
      if (w === ST_NOT_FOUND || (hasExpiry(w) && this.#expired((rec + BATCH_EXPIRY) >>> 3))) {
        this.#count(CNT_MISSES);
        result[i] = fallback;
        return;
      }
      this.#count(CNT_HITS);
      if (vtypeOf(w) !== T_F64) {
        throw new ShardedMapTypeError(ErrorCode.NOT_A_NUMBER, `loadNumbers: the value stored for keys[${i}] is not a number; use getMany()`);
      }
      result[i] = this.#f64[(rec + BATCH_F64) >>> 3]!;
    }, (i) => {
      result[i] = this.loadNumber(keys[i]!, fallback);
    });
    return result;
  }

  /** `Map#get`: the same as `load`. */
  get(key: Key): V | undefined {
    this.#alive(); // a receiver that is not a ShardedMap: TypeError, as on Map
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
    this.#alive();
    const word = encodeValue(value, this.#io, this.#val, this.#maxValue);
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    this.#write(OP_STORE, klen, word, 0, options);
  }

  /**
   * Store `value` for `key` only if its shard is free right now: true if
   * stored, false (map unchanged) if another instance holds the shard.
   * Never waits.
   */
  tryStore(key: Key, value: V, options?: { ttl?: number }): boolean {
    this.#alive();
    const word = encodeValue(value, this.#io, this.#val, this.#maxValue);
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    return this.#write(OP_STORE, klen, word, 0, options, true) !== ST_BUSY;
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
    this.#alive();
    this.store(key, value);
    return this;
  }

  /**
   * If `key` is present, its value (`loaded: true`); otherwise stores
   * `value` and returns it (`loaded: false`). Atomic.
   */
  loadOrStore(key: Key, value: V, options?: WriteOptions): LoadOrStoreResult<V> {
    this.#alive();
    const word = encodeValue(value, this.#io, this.#val, this.#maxValue);
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const st = this.#write(OP_LOAD_OR_STORE, klen, word, 0, options);
    if (st > 0) return { value: decodeValue(this.#io, this.#aux, st) as V, loaded: true };
    return { value, loaded: false };
  }

  /** Delete `key`, returning the value it had (`loaded: true`) if present. */
  loadAndDelete(key: Key, options?: WaitOptions): LoadResult<V> {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const st = this.#write(OP_LOAD_AND_DELETE, klen, 0, 0, options);
    if (st > 0) return { value: decodeValue(this.#io, this.#aux, st) as V, loaded: true };
    return { value: undefined, loaded: false };
  }

  /** Store `value` for `key`, returning the previous value if there was one. */
  swap(key: Key, value: V, options?: WriteOptions): SwapResult<V> {
    this.#alive();
    const word = encodeValue(value, this.#io, this.#val, this.#maxValue);
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const st = this.#write(OP_SWAP, klen, word, 0, options);
    if (st > 0) return { previous: decodeValue(this.#io, this.#aux, st) as V, loaded: true };
    return { previous: undefined, loaded: false };
  }

  /**
   * Store `next` for `key` if its value equals `expected` by content (same
   * type and encoded bytes: numbers by bits, so NaN equals NaN and -0 differs
   * from 0; objects by their msgpack encoding, so key order matters).
   * False if the key is absent or the value differs. Atomic.
   */
  compareAndSwap(key: Key, expected: V, next: V, options?: WriteOptions): boolean {
    this.#alive();
    const word = encodeValue(next, this.#io, this.#val, this.#maxValue);
    const eword = encodeValue(expected, this.#io, this.#aux, this.#maxValue);
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    return this.#write(OP_CAS, klen, word, eword, options) === ST_OK;
  }

  /** Delete `key` if its value equals `expected` (as in compareAndSwap). */
  compareAndDelete(key: Key, expected: V, options?: WaitOptions): boolean {
    this.#alive();
    const eword = encodeValue(expected, this.#io, this.#aux, this.#maxValue);
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    return this.#write(OP_CAD, klen, 0, eword, options) === ST_OK;
  }

  /** Delete `key`; true if it was present. */
  // (Default values rather than `?`: a parameter with a default does not
  // count in `length`, so delete.length is 1 as on Map; likewise below.)
  delete(key: Key, options: WaitOptions | undefined = undefined): boolean {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    return this.#write(OP_DELETE, klen, 0, 0, options) === ST_OK;
  }

  /** Delete every entry, shard by shard (each shard atomically), and give
   *  the shards' memory back for reuse. */
  clear(options: WaitOptions | undefined = undefined): void {
    this.#alive();
    if (options !== undefined) checkWaitOptions(options);
    const n = this.#x.shardCount();
    for (let s = 0; s < n; s++) {
      const st = this.#retry(() => this.#x.clearShard(this.#token, s), options);
      if (st !== ST_OK) throw this.#refused('clearShard', st);
    }
  }

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
    this.#alive();
    for (const owner of owners) {
      if (!Number.isInteger(owner) || owner < 1 || owner > Math.min(OWNER_ID_MASK, this.#x.maxOwners())) {
        throw new ShardedMapRangeError(ErrorCode.BAD_OWNER, `release: an owner must be an owner id (map.owner of the dead instance), got ${String(owner)}`);
      }
      if (owner === this.owner) {
        throw new ShardedMapRangeError(ErrorCode.BAD_OWNER, 'release: an instance cannot release itself; use close()');
      }
    }
    // An owner that closed (or died closing) may still hold a lock.
    const dead = owners.filter((o) => this.#x.ownerAlive(o) || this.#x.locksHeldBy(o) > 0);
    if (!dead.length) return;
    this.#recover(dead, true);
    this.#count(CNT_RELEASED, dead.length);
    // fetch() waiters of a flight a released owner led take it over.
    if (this.#cacheIdx >= 0) Atomics.notify(this.#i32, this.#x.flightEpochAddress() >>> 2);
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
    this.#alive();
    const tid = (worker as { threadId?: unknown } | null)?.threadId;
    if (typeof tid !== 'number' || !Number.isInteger(tid) || tid < 0 || typeof worker.once !== 'function') {
      throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, 'watch: expected a running node:worker_threads Worker (with a threadId)');
    }
    let watched = this.#watched.get(worker);
    if (!watched) {
      const onExit = () => {
        this.#watched.delete(worker);
        this.#exited.add(tid);
        // After the other exits of this turn (workers terminated together).
        if (this.#exited.size === 1) setImmediate(() => this.#releaseExited(0));
      };
      worker.once('exit', onExit);
      watched = () => {
        this.#watched.delete(worker);
        worker.off?.('exit', onExit);
      };
      this.#watched.set(worker, watched);
    }
    return watched;
  }

  /** Release the instances of every watched worker that exited, in one
   *  call: workers that died together, each holding a lock, must be
   *  released together (releasing one waits for the other's lock). Never
   *  throws (it runs in an 'exit' listener): a release that fails, say
   *  because another watched worker died holding a lock and its exit has
   *  not been seen yet, is tried again shortly, with that one. */
  #releaseExited(attempt: number): void {
    if (this.#closed || this.#exited.size === 0) return;
    const tids = [...this.#exited];
    try {
      this.release(...tids.flatMap((t) => this.#ownersOf(t)));
      for (const t of tids) this.#exited.delete(t);
    } catch (e) {
      if (this.#closed) return;
      if (attempt >= WATCH_RETRIES) {
        this.#exited.clear();
        (globalThis as { process?: { emitWarning?: (m: string) => void } }).process?.emitWarning?.(
          `shardedmap: releasing exited workers failed (${(e as Error).message}); call map.release or map.releaseThread`);
        return;
      }
      const t = setTimeout(() => this.#releaseExited(attempt + 1), WATCH_RETRY_MS);
      (t as { unref?: () => void }).unref?.();
    }
  }

  /**
   * Release (see `release`) every instance attached from the thread whose
   * `threadId` is given that is still attached or holds a lock: what
   * `watch` does when a worker exits, for callers that learn of a thread's
   * end another way (a pool's own events). Only for threads that have
   * exited. Returns the owner ids released.
   */
  releaseThread(threadId: number): number[] {
    this.#alive();
    if (!Number.isInteger(threadId) || threadId < 0) {
      throw new ShardedMapRangeError(ErrorCode.INVALID_ARGUMENT, `releaseThread: threadId must be an integer >= 0, got ${String(threadId)}`);
    }
    const owners = this.#ownersOf(threadId);
    this.release(...owners);
    return owners;
  }

  /** The owner ids (but this instance's) attached from thread `threadId`. */
  #ownersOf(threadId: number): number[] {
    const owners: number[] = [];
    const n = this.#x.maxOwners();
    for (let id = 1; id <= n; id++) {
      if (id !== this.owner && this.#x.ownerThread(id) === threadId + 1) owners.push(id);
    }
    return owners;
  }

  /**
   * Check the map's consistency: every shard's bookkeeping (its heap parses,
   * its counters are right, every key is where a lookup finds it) and the
   * shared allocator (free list sound, no region handed out twice). Takes
   * every shard's lock in turn, so writers wait while it runs (about a
   * millisecond per 10,000 entries). For health checks after a fault or a
   * `release`: a healthy map reports `ok: true` and `faults: 0`.
   */
  check(options?: WaitOptions): CheckReport {
    this.#alive();
    if (options !== undefined) checkWaitOptions(options);
    const problems: CheckProblem[] = [];
    let leakedBytes = 0;
    this.#withAllShards(options, (s) => {
      const rule = this.#x.checkShard(this.#token, s);
      if (rule < 0) throw this.#refused('checkShard', rule);
      if (rule > 0) problems.push(checkProblem(s, rule));
    }, () => {
      const rule = this.#retry(() => this.#x.checkAllocator(this.#token), options);
      if (rule < 0) throw this.#refused('checkAllocator', rule);
      if (rule > 0) problems.push(checkProblem(-1, rule));
      else leakedBytes = this.#i32[(this.#scratch + SCRATCH_WORD) >>> 2]! >>> 0;
    });
    return { ok: problems.length === 0, problems, faults: this.#x.faults(), leakedBytes };
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
    this.#alive();
    if (options !== undefined) checkWaitOptions(options);
    const shards: ShardStats[] = [];
    const n = this.#x.shardCount();
    for (let s = 0; s < n; s++) {
      const st = this.#retry(() => this.#x.lockShard(this.#token, s), options);
      if (st !== ST_OK) throw this.#refused('lockShard', st);
      try {
        const r = this.#x.shardStats(this.#token, s);
        if (r !== ST_OK) throw this.#refused('shardStats', r);
        shards.push(readShardStats(this.#i32, this.#scratch));
      } finally {
        this.#x.unlockShard(this.#token, s);
      }
    }
    const head = {
      entries: this.#x.size(), attached: this.#x.attachedCount(), memoryBytes: this.#x.committedBytes(),
      usedBytes: this.#x.usedBytes(),
      faults: this.#x.faults(), counters: readCounters((i) => this.#x.counter(i)),
      instance: readCounters((i) => this.#f64[this.#cnt + i]!),
      cache: this.#cacheIdx < 0 ? null : {
        maxEntries: this.#x.cacheMaxEntries() || Infinity, maxBytes: this.#x.cacheMaxBytes() || Infinity,
        ttl: this.#ttl || Infinity, bytes: this.#x.cacheBytes(),
      },
    };
    return sumStats(shards, head, options?.perShard === true);
  }

  // ---- cache ----------------------------------------------------------------

  /** Is this map a cache (created with maxEntries, maxBytes or ttl)? */
  get isCache(): boolean {
    this.#alive();
    return this.#cacheIdx >= 0;
  }

  /**
   * Cache maps: drop every expired entry now, shard by shard (each under
   * its lock); returns how many. Not needed for correctness (an expired
   * entry reads as absent at once, and writes sweep them a few slots at a
   * time): for callers that want `size` and memory to drop right away.
   */
  purgeStale(options?: WaitOptions): number {
    this.#ownSlot();
    if (options !== undefined) checkWaitOptions(options);
    if (this.#cacheIdx < 0) return 0;
    let n = 0;
    const t = this.#now();
    for (let s = 0; s < this.#x.shardCount(); s++) {
      const st = this.#retry(() => this.#x.purgeShardExpired(this.#token, s, t), options);
      if (st < 0) throw this.#refused('purgeShardExpired', st);
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
    this.#alive();
    if (this.#cacheIdx < 0) {
      throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, 'fetch: this map is not a cache; create it with a ttl, maxEntries or maxBytes option');
    }
    this.#fetcher ??= new Fetcher<V>({
      core: this.#x, token: this.#token, i32: this.#i32, u8: this.#u8, scratch: this.#scratch, val: this.#val,
      aux: this.#aux, maxValue: this.#maxValue, maxKey: this.#maxKey, now: () => this.#now(),
      count: (i) => this.#count(i), retry: (f) => this.#retry(f), refused: (what, st) => this.#refused(what, st),
      lookup: (k) => {
        this.#alive();
        return this.#lookup(k);
      },
      store: (k, v, ttl) => this.store(k, v as V, ttl === undefined ? undefined : { ttl }),
    });
    return this.#fetcher.fetch(key, loader, options);
  }

  /** load, telling a stored `undefined` from a miss: [found, value]. */
  #lookup(key: Key): [boolean, V | undefined] {
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    let w = this.#x.loadValue(this.#token, klen);
    if (w < 0 && w !== ST_NOT_FOUND) w = this.#readSlow(w, klen, true);
    if (w === ST_NOT_FOUND || (hasExpiry(w) && this.#expired(this.#expIdx))) {
      this.#count(CNT_MISSES);
      return [false, undefined];
    }
    this.#count(CNT_HITS);
    if (vtypeOf(w) === T_F64) return [true, this.#f64[this.#aux >>> 3] as V];
    const v = this.#loaded(w, klen) as V | undefined;
    // undefined from a value that is not: deleted meanwhile (see #loaded).
    return [v !== undefined || vtypeOf(w) === T_UNDEFINED, v];
  }

  // ---- iteration -------------------------------------------------------------

  /**
   * Call `fn(key, value)` for each entry until it returns `false` (Go's
   * `sync.Map.Range`). Each shard is copied under its lock, so what `fn`
   * sees of one shard is a consistent snapshot; other shards may change
   * meanwhile. `fn` may read and write the map.
   */
  range(fn: (key: Key, value: V) => boolean | void): void {
    this.#alive();
    checkCallback(fn, 'range');
    for (const [k, v] of this.#shardEntries(0, this.#x.shardCount())) if (fn(k, v) === false) return;
  }

  /** Number of shards (for `rangeShard`). */
  get shardCount(): number {
    this.#ownSlot();
    return this.#x.shardCount();
  }

  /** `range` over one shard (0..shardCount-1): a consistent snapshot of it.
   *  For iterating in chunks. */
  rangeShard(shard: number, fn: (key: Key, value: V) => boolean | void): void {
    this.#alive();
    checkCallback(fn, 'rangeShard');
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.#x.shardCount()) {
      throw new ShardedMapRangeError(ErrorCode.INVALID_ARGUMENT, `rangeShard: shard must be an integer from 0 to ${this.#x.shardCount() - 1}`);
    }
    for (const [k, v] of this.#shardEntries(shard, shard + 1)) if (fn(k, v) === false) return;
  }

  /** `Map#forEach`: `fn(value, key, map)` for each entry (see `range`). */
  forEach(fn: (value: V, key: Key, map: this) => void, thisArg: unknown = undefined): void {
    this.#alive();
    checkCallback(fn, 'forEach');
    this.range((k, v) => {
      fn.call(thisArg, v, k, this);
    });
  }

  /** Entries, shard by shard (see `range`); hash order. Also the map's
   *  `[Symbol.iterator]` (the same function, as on Map). */
  entries(): IterableIterator<[Key, V]> {
    this.#alive();
    return new ShardedMapIterator<[Key, V]>(this.#shardEntries(0, this.#x.shardCount()), ITER_ENTRIES);
  }

  /** Keys, as `entries`. */
  keys(): IterableIterator<Key> {
    this.#alive();
    return new ShardedMapIterator<Key>(this.#shardEntries(0, this.#x.shardCount()), ITER_KEYS);
  }

  /** Values, as `entries`. */
  values(): IterableIterator<V> {
    this.#alive();
    return new ShardedMapIterator<V>(this.#shardEntries(0, this.#x.shardCount()), ITER_VALUES);
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
    this.#ownSlot();
    return readRings(this.#x, this.#token, this.#i32, this.#scratch);
  }

  // ---- lifecycle ---------------------------------------------------------------

  /**
   * Detach this instance: its owner slot and scratch area are freed. The map
   * lives on for other instances. Every later call on this instance throws
   * `ERR_SHARDEDMAP_CLOSED`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    const deadline = now() + this.#lockTimeout;
    for (;;) {
      const st = this.#x.detach(this.#token);
      if (st === ST_OK) break;
      if (st !== ST_BUSY) throw this.#refused('detach', st);
      waitWord(this.#i32, this.#x.allocLockAddress() >>> 2, deadline, (owner) => new LockTimeoutError(-1, owner, this.#lockTimeout));
    }
    this.#closed = true;
  }

  // ---- internals -------------------------------------------------------------

  #alive(): void {
    if (this.#closed) throw closedError();
  }

  /** #alive, and the instance was not released: for calls that read only
   *  shared state, which the core answers without checking the token. */
  #ownSlot(): void {
    this.#alive();
    if (!this.#x.scratchOf(this.#token)) throw this.#refused('scratchOf', ST_BAD_ARG);
  }

  /** Add `n` to this instance's counter `i` (CNT_*, in its own scratch). */
  #count(i: number, n = 1): void {
    this.#f64[this.#cnt + i] = this.#f64[this.#cnt + i]! + n;
  }

  /** The error for a status the core should not have returned here: this
   *  instance was released (its token no longer works), or a bug. */
  #refused(what: string, st: number): ShardedMapError {
    if (st !== ST_BAD_ARG || this.#x.scratchOf(this.#token)) return internalError(`${what} (status ${st})`);
    // Released: from now on this instance touches nothing (its scratch
    // area is no longer its own).
    this.#closed = true;
    return releasedError();
  }

  /** A write op, waiting while busy (unless `once`: then ST_BUSY is
   *  returned); maps FULL and BAD_ARG to errors. */
  #write(op: number, klen: number, word: number, eword: number, options?: WriteOptions, once = false): number {
    if (options !== undefined) {
      checkWaitOptions(options);
      if (options.signal?.aborted) throw options.signal.reason;
    }
    if (this.#cacheIdx >= 0) this.#passTime(options?.ttl);
    else if (options?.ttl !== undefined) {
      throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'ttl: this map is not a cache; create it with a ttl, maxEntries or maxBytes option');
    }
    const vtype = vtypeOf(word);
    const vlen = vlenOf(word);
    let st = this.#x.write(this.#token, op, klen, vtype, vlen, eword);
    if (st === ST_BUSY && !once) {
      st = this.#retry(() => this.#x.write(this.#token, op, klen, vtype, vlen, eword), options, st);
    }
    if (st >= 0) {
      // Stored: every op that takes a value but loadOrStore finding one;
      // deleted: the delete ops that found their key (and value).
      if (op === OP_DELETE || op === OP_LOAD_AND_DELETE || op === OP_CAD) this.#count(CNT_DELETES);
      else if (op !== OP_LOAD_OR_STORE || st === ST_OK) this.#count(CNT_STORES);
      return st;
    }
    if (st === ST_NOT_FOUND || st === ST_MISMATCH || st === ST_BUSY) return st;
    if (st === ST_FULL) throw memoryFull();
    if (st === ST_TOO_LARGE) throw entryTooLarge(this.#x.cacheMaxBytes(), this.#x.shardCount());
    throw this.#refused(`write op ${op}`, st);
  }

  /** Cache maps, before a write: the new value's expiry (from `ttl`, else
   *  the map's default) and the time, for the core (SCRATCH_EXPIRY,
   *  SCRATCH_NOW). The time only when some entry may expire. */
  #passTime(ttl: unknown): void {
    const t = ttl === undefined ? this.#ttl : ttlValue(ttl, 'ttl option');
    const now = t > 0 || (this.#i32[this.#cacheIdx]! & CACHE_TTL_SEEN) !== 0 ? this.#now() : 0;
    this.#f64[this.#nowIdx] = now;
    this.#f64[this.#expIdx] = t > 0 ? Math.ceil(now + t) : 0;
  }

  /** The clock, checked: ms since the Unix epoch. */
  #now(): number {
    const t = this.#clock();
    if (!(typeof t === 'number' && t > 0 && t < 2 ** 47)) {
      throw new ShardedMapRangeError(ErrorCode.INVALID_OPTION, `clock() must return milliseconds since the Unix epoch, got ${String(t)}`);
    }
    return t;
  }

  /** Has the expiry at #f64[idx] (a read's, 0 = never) passed? */
  #expired(idx: number): boolean {
    const x = this.#f64[idx]!;
    return x !== 0 && x <= this.#now();
  }

  /** `f()` (or its `first` result) until it is not ST_BUSY, waiting on the
   *  lock it names, up to the deadline of `options.timeout` (or
   *  lockTimeout) and `options.signal` (both checked by the caller). */
  #retry(f: () => number, options?: WaitOptions, first?: number): number {
    const signal = options?.signal;
    if (first === undefined && signal?.aborted) throw signal.reason;
    let st = first ?? f();
    if (st !== ST_BUSY) return st;
    const limit = options?.timeout ?? this.#lockTimeout;
    const deadline = now() + limit;
    this.#count(CNT_LOCK_WAITS);
    while (st === ST_BUSY) {
      if (signal?.aborted) throw signal.reason;
      const addr = this.#i32[(this.#scratch + SCRATCH_BUSY) >>> 2]!;
      waitWord(this.#i32, addr >>> 2, deadline, (owner) => {
        this.#count(CNT_LOCK_TIMEOUTS);
        return new LockTimeoutError(this.#x.lockShardIndex(addr), owner, limit);
      });
      st = f();
    }
    return st;
  }

  /**
   * A trap or an abort inside the core: repair what this instance may have
   * left locked (as if it had died), note the fault in the map (see
   * `check`), and turn it into a typed error.
   */
  #fault(e: unknown): Error {
    const internal = e instanceof ShardedMapError && e.code === ErrorCode.INTERNAL;
    if (!(e instanceof WebAssembly.RuntimeError) && !internal) return e as Error;
    let repaired = 'repaired';
    this.#x.noteFault();
    try {
      this.#recover([this.owner], false);
    } catch (r) {
      repaired = `not repaired (${(r as Error).message})`;
    }
    const err = new ShardedMapError(
      ErrorCode.INTERNAL,
      `the core failed: ${(e as Error).message}; the locks this instance held were ${repaired}. This is a shardedmap bug; please report it (map.check() tells whether the map is sound)`,
    );
    (err as { cause?: unknown }).cause = e;
    return err;
  }

  /** Hold every shard's lock, in order (each taken by `lock(s)`, which
   *  returns a status), run `each(s)` as each is taken and `then()` once all
   *  are held; release the locks taken if anything throws. */
  #holdingAllShards(lock: (s: number) => number, each: (s: number) => void, then: () => void, release: boolean): void {
    const n = this.#x.shardCount();
    let held = 0;
    try {
      for (; held < n; held++) {
        const st = lock(held);
        if (st !== ST_OK) throw this.#refused('a shard lock', st);
        each(held);
      }
      then();
    } catch (e) {
      for (let s = 0; s < held; s++) this.#x.unlockShard(this.#token, s);
      throw e;
    }
    if (release) for (let s = 0; s < n; s++) this.#x.unlockShard(this.#token, s);
  }

  /** `#holdingAllShards` with the plain lock (check, statistics). */
  #withAllShards(options: WaitOptions | undefined, each: (s: number) => void, then: () => void): void {
    this.#holdingAllShards((s) => this.#retry(() => this.#x.lockShard(this.#token, s), options), each, then, true);
  }

  /** Take over and repair what the owner ids `victims` hold (see release):
   *  take every shard's lock in order (over from a victim, repairing the
   *  shard, or the normal way), free the victims if asked, recount, unlock. */
  #recover(victims: number[], freeVictims: boolean): void {
    for (const v of victims) {
      const st = this.#x.recoverBegin(this.#token, v);
      if (st !== ST_OK) throw this.#refused('recoverBegin', st);
    }
    const take = (s: number) => this.#retry(() => {
      const holder = this.#x.shardLockOwner(s);
      return this.#x.recoverShard(this.#token, victims.includes(holder) ? holder : victims[0]!, s);
    });
    this.#holdingAllShards(take, () => {}, () => {
      if (freeVictims) for (const v of victims) this.#x.freeOwner(this.#token, v);
      // recoverEnd recounts and releases every shard lock.
      if (this.#x.recoverEnd(this.#token) !== ST_OK) throw internalError('recoverEnd');
    }, false);
  }

  /** load's rare paths: a miss, a busy shard, a released instance. */
  #loadSlow(w: number, klen: number): V | undefined {
    if (w < 0 && w !== ST_NOT_FOUND) w = this.#readSlow(w, klen, true);
    if (w === ST_NOT_FOUND || (hasExpiry(w) && this.#expired(this.#expIdx))) {
      this.#count(CNT_MISSES);
      return undefined;
    }
    this.#count(CNT_HITS);
    return this.#loaded(w, klen) as V;
  }

  /** The value `loadValue` found (word `w`): copied to the aux area and looked up
   *  by content, or (long and out of line) tagged and looked up by tag,
   *  copied only on a miss (see decoded.ts). A tag gone stale (the shard
   *  moved its entries meanwhile) reads the key again. */
  #loaded(w: number, klen: number): unknown {
    for (;;) {
      const addr = this.#i32[(this.#scratch + SCRATCH_TAG_ADDR) >>> 2]!;
      if (addr === 0) return this.#cache ? this.#cache.byContent(this.#aux, w) : decodeValue(this.#io, this.#aux, w);
      const epoch = this.#i32[(this.#scratch + SCRATCH_TAG_EPOCH) >>> 2]!;
      if (this.#cache) {
        const v = this.#cache.byTag(addr, epoch, w);
        if (v !== MISS) return v;
      }
      const shard = this.#i32[(this.#scratch + SCRATCH_TAG_SHARD) >>> 2]!;
      const st = this.#retry(() => this.#x.copyTaggedValue(this.#token, shard, addr, epoch, vlenOf(w)));
      if (st === ST_OK) {
        return this.#cache ? this.#cache.fillTag(addr, epoch, w, this.#aux) : decodeValue(this.#io, this.#aux, w);
      }
      if (st !== ST_STALE) throw this.#refused('copyTaggedValue', st);
      w = this.#x.loadValue(this.#token, klen);
      if (w < 0) w = this.#readSlow(w, klen, true);
      // Deleted (or expired) meanwhile: a miss after all.
      if (w === ST_NOT_FOUND || (hasExpiry(w) && this.#expired(this.#expIdx))) return undefined;
      if (vtypeOf(w) === T_F64) return this.#f64[this.#aux >>> 3];
    }
  }

  /**
   * Run the batch reads of `keys`: encode a chunk into the value area, let
   * the core read it (waiting on a busy lock, resuming when it ran out of
   * room for values), and hand each record to `each(index, recordAddress)`
   * before the next call into the core overwrites it. A key that does not
   * fit the value area beside the batch goes to `alone(index)`.
   */
  #batch(keys: readonly Key[], numbers: boolean, each: (i: number, rec: number) => void, alone: (i: number) => void): void {
    const reason = (this.#scratch + SCRATCH_WORD) >>> 2;
    for (let from = 0; from < keys.length; ) {
      const n = this.#encodeBatch(keys, from, numbers);
      if (n === 0) {
        alone(from++);
        continue;
      }
      for (let start = 0; start < n; ) {
        // Busy with nothing done: wait and call again; busy after some
        // records: take those, the next call waits.
        const done = this.#retry(() => {
          const k = this.#x.getMany(this.#token, n, start, numbers ? 1 : 0);
          return k === start && this.#i32[reason] === BATCH_BUSY ? ST_BUSY : k;
        });
        if (done < 0) throw this.#refused('getMany', done);
        for (let i = start; i < done; i++) each(from + i, this.#aux + (i << BATCH_RECORD_SHIFT));
        start = done;
      }
      from += n;
    }
  }

  /** Encode keys from `from` on into the value area as the batch wants
   *  them ([u16 klen][key]); returns how many fit (at most BATCH_MAX). */
  #encodeBatch(keys: readonly Key[], from: number, numbers: boolean): number {
    const u8 = this.#u8;
    const end = this.#val + this.#maxValue;
    // Records take the aux area's start: all of it for numbers, at most half
    // for values (the rest holds the values copied).
    const records = numbers ? this.#maxValue >>> BATCH_RECORD_SHIFT : this.#maxValue >>> (BATCH_RECORD_SHIFT + 1);
    const max = Math.min(BATCH_MAX, records, keys.length - from);
    let p = this.#val;
    let n = 0;
    for (; n < max; n++) {
      if (p + 2 + this.#maxKey > end) break;
      const klen = encodeKey(keys[from + n], u8, p + 2, this.#maxKey);
      u8[p] = klen & 0xff;
      u8[p + 1] = klen >>> 8;
      p += 2 + klen;
    }
    return n;
  }

  /** The value of getMany's batch record `rec`, counted; MISS when it must
   *  be read alone (long, not copied, and not in the decoded-value cache,
   *  or too long for the room the batch had). */
  #batchValue(rec: number): unknown {
    const w = this.#i32[rec >>> 2]!;
    if (w === ST_NOT_FOUND || (hasExpiry(w) && this.#expired((rec + BATCH_EXPIRY) >>> 3))) {
      this.#count(CNT_MISSES);
      return undefined;
    }
    const where = this.#i32[(rec + BATCH_WHERE) >>> 2]! >>> 0;
    // Copied into the aux area: decode (or find) it by content.
    if (where >= this.#aux && where < this.#aux + this.#maxValue) {
      this.#count(CNT_HITS);
      if (vtypeOf(w) === T_F64) return this.#f64[where >>> 3];
      return this.#cache ? this.#cache.byContent(where, w) : decodeValue(this.#io, where, w);
    }
    if (where !== BATCH_NOT_COPIED && this.#cache) {
      const v = this.#cache.byTag(where, this.#i32[(rec + BATCH_TAG_EPOCH) >>> 2]!, w);
      if (v !== MISS) {
        this.#count(CNT_HITS);
        return v;
      }
    }
    return MISS; // read alone later: that load counts it
  }

  /** A read that fell back to the lock and found it taken: wait, retry. */
  #readSlow(st: number, klen: number, copy: boolean): number {
    st = this.#retry(() => (copy ? this.#x.loadValue(this.#token, klen) : this.#x.has(this.#token, klen)), undefined, st);
    if (st === ST_BAD_ARG) throw this.#refused('a read', st);
    return st;
  }

  /** The entries of shards [from, to), each shard copied (decoded) under
   *  its lock, then handed out: the one snapshot loop of range, rangeShard
   *  and the iterators. */
  *#shardEntries(from: number, to: number): IterableIterator<[Key, V]> {
    const buf: unknown[] = [];
    for (let s = from; s < to; s++) {
      this.#alive();
      buf.length = 0;
      const st = this.#retry(() => this.#x.lockShard(this.#token, s));
      if (st !== ST_OK) throw this.#refused('lockShard', st);
      try {
        const klenIdx = (this.#scratch + SCRATCH_KLEN) >>> 2;
        const wordIdx = (this.#scratch + SCRATCH_WORD) >>> 2;
        for (let c = this.#x.next(this.#token, s, 0); c > 0; c = this.#x.next(this.#token, s, c)) {
          const w = this.#i32[wordIdx]!;
          if (hasExpiry(w) && this.#expired(this.#expIdx)) continue;
          buf.push(decodeKey(this.#io, this.#key, this.#i32[klenIdx]!), decodeValue(this.#io, this.#aux, w));
        }
      } finally {
        this.#x.unlockShard(this.#token, s);
      }
      for (let i = 0; i < buf.length; i += 2) yield [buf[i] as Key, buf[i + 1] as V];
    }
  }
}

// The two prototype properties defined in the static block above.
export interface ShardedMap<V> {
  [Symbol.iterator](): IterableIterator<[Key, V]>;
  readonly [Symbol.toStringTag]: string;
}

const ITER_KEYS = 0;
const ITER_VALUES = 1;
const ITER_ENTRIES = 2;

/** The iterators of keys(), values() and entries(): like Map's (next() of
 *  length 0, %IteratorPrototype% as prototype, so [Symbol.iterator]()
 *  returns itself and the iterator helpers work where the engine has
 *  them), over the per-shard snapshots. A shard's lock is released before
 *  its entries are handed out, so an iterator left unfinished holds
 *  nothing. */
class ShardedMapIterator<T> {
  readonly #source: Iterator<[Key, unknown]>;
  readonly #kind: number;

  constructor(source: Iterator<[Key, unknown]>, kind: number) {
    this.#source = source;
    this.#kind = kind;
  }

  next(): IteratorResult<T, undefined> {
    const r = this.#source.next();
    if (r.done) return { value: undefined, done: true };
    const e = r.value;
    return { value: (this.#kind === ITER_KEYS ? e[0] : this.#kind === ITER_VALUES ? e[1] : e) as T, done: false };
  }

  declare [Symbol.iterator]: () => this;

  static {
    Object.setPrototypeOf(this.prototype, Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
    Object.defineProperty(this.prototype, Symbol.toStringTag, {
      value: 'ShardedMap Iterator', writable: false, enumerable: false, configurable: true,
    });
  }
}

/** Keys per call into the core of a batch read: enough to overlap many
 *  misses, few enough that the lines the first pass touches (about two per
 *  key) stay in a 512 KiB L2 for the second. */
const BATCH_MAX = 256;

function checkKeyList(keys: unknown, method: string): void {
  if (!Array.isArray(keys)) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, `${method}: keys must be an array, not ${describe(keys)}`);
  }
}

function checkCallback(fn: unknown, method: string): void {
  if (typeof fn !== 'function') {
    throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, `${method}: the callback must be a function, not ${typeof fn}`);
  }
}

export type { Key, WaitOptions, CheckReport, CheckProblem, FetchOptions, Loader };
export type { DebugEntry, DebugShard } from './debug.js';
export type { MapStats, ShardStats, Counters } from './stats.js';
