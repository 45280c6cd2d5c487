/**
 * ShardedMap: the facade over the Wasm core. One instance per agent (the main
 * thread or a worker); every instance attached to the same handle sees the
 * same table, with no copying and no messages.
 */
import {
  LAYOUT_VERSION, ST_OK, ST_NOT_FOUND, ST_BUSY, ST_FULL, ST_MISMATCH, ST_BAD_ARG, ST_BAD_LAYOUT,
  ST_NO_OWNER, T_F64, OP_STORE, OP_LOAD_OR_STORE, OP_SWAP, OP_CAS, OP_DELETE,
  OP_LOAD_AND_DELETE, OP_CAD, SCRATCH_BUSY, SCRATCH_KLEN, SCRATCH_WORD, SCRATCH_KEY,
  LOCK_CONTENDED, OWNER_ID_MASK, SCRATCH_TEST, SCRATCH_DEBUG, LOG_LOAD, LOG_HAS, LOG_LOAD_NUMBER,
} from '../assembly/shared';
import { coreModule, instantiate, type CoreExports } from './core';
import { encodeKey, decodeKey, encodeValue, decodeValue, type Key } from './codec';
import {
  ErrorCode, LockTimeoutError, ShardedMapError, ShardedMapRangeError, ShardedMapTypeError,
} from './errors';
import {
  resolveCreateOptions, resolveAttachOptions, type CreateOptions, type AttachOptions,
} from './options';
import { canBlock, randomU32, now, isolationProblem } from './platform';
import { checkProblem, type CheckReport } from './check';

const PAGE = 65536;
/** Longest single Atomics.wait while a lock is held: short enough to notice
 *  the deadline and a missed wake-up, long enough to cost nothing. */
const WAIT_SLICE_MS = 50;

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

/**
 * Options of every call that may wait for a locked shard (writes, `clear`).
 * A call that gives up leaves the map unchanged.
 */
export interface WaitOptions {
  /** Milliseconds to wait for a locked shard; then `LockTimeoutError`.
   *  Defaults to the instance's `lockTimeout`. 0: do not wait at all. */
  timeout?: number;
  /** Checked before the call and between waits: if aborted, the call throws
   *  `signal.reason`. These calls are synchronous, so a timer-based signal
   *  (`AbortSignal.timeout`) cannot fire during one: use `timeout` for that. */
  signal?: AbortSignal;
}

/** One recorded operation of the debug ring (see `debug()`). */
export interface DebugEntry {
  /** Position in the shard's history (1 = first operation ever). */
  seq: number;
  /** 'store', 'delete', 'load', ... */
  op: string;
  /** Owner id of the instance that made the call. */
  owner: number;
  /** Low 32 bits of the key's hash. */
  keyHash: number;
  /** What the core returned: a status name, 0, or a value's header word. */
  result: number | string;
}

/** The debug ring of one shard. */
export interface DebugShard {
  shard: number;
  entries: DebugEntry[];
}

const LOG_OP_NAMES: Record<number, string> = {
  [OP_STORE]: 'store', [OP_LOAD_OR_STORE]: 'loadOrStore', [OP_SWAP]: 'swap', [OP_CAS]: 'compareAndSwap',
  [OP_DELETE]: 'delete', [OP_LOAD_AND_DELETE]: 'loadAndDelete', [OP_CAD]: 'compareAndDelete',
  [LOG_LOAD]: 'load', [LOG_HAS]: 'has', [LOG_LOAD_NUMBER]: 'loadNumber',
};
const STATUS_NAMES: Record<number, string> = {
  [ST_NOT_FOUND]: 'NOT_FOUND', [ST_BUSY]: 'BUSY', [ST_FULL]: 'FULL', [ST_MISMATCH]: 'MISMATCH',
  [ST_BAD_ARG]: 'BAD_ARG',
};

/** Result of `loadOrStore` and `loadAndDelete`. */
export interface LoadResult<V> {
  value: V | undefined;
  loaded: boolean;
}

/** Result of `swap`. */
export interface SwapResult<V> {
  previous: V | undefined;
  loaded: boolean;
}

function closedError(): ShardedMapError {
  return new ShardedMapError(ErrorCode.CLOSED, 'this ShardedMap instance is closed; attach again to use the map');
}

function internalError(what: string): ShardedMapError {
  return new ShardedMapError(ErrorCode.INTERNAL, `the core refused ${what} (a shardedmap bug; please report it)`);
}

function releasedError(): ShardedMapError {
  return new ShardedMapError(
    ErrorCode.CLOSED,
    'this instance was released by another (map.release) and is closed; attach again to use the map',
  );
}

function memoryFull(): ShardedMapRangeError {
  return new ShardedMapRangeError(
    ErrorCode.MEMORY_FULL,
    'the shared memory reached maxMemory; the map is unchanged. Delete entries or create the map with a larger maxMemory',
  );
}

const token = Symbol('ShardedMap.internal');

/** Entries to size each shard for, so that `total` entries spread by a
 *  random hash over `shards` shards fit without a resize: the mean plus
 *  4 standard deviations of the binomial count (a shard goes past it with
 *  odds below 1 in 30,000). */
function perShardCapacity(total: number, shards: number): number {
  if (total === 0) return 0;
  const mean = total / shards;
  return Math.ceil(mean + 4 * Math.sqrt(mean * (1 - 1 / shards)));
}

/** TEST ONLY: what `internalsOf` exposes (see src/internals.ts). */
export interface Internals {
  core: CoreExports;
  owner: number;
  /** Encode a key into the scratch area; returns its length. */
  encodeKey(key: Key): number;
  /** Make this instance's next write fail inside the core while it holds
   *  the shard lock: an AS abort or a Wasm trap on taking it, or ('staged')
   *  a trap in the middle of rewriting an inline entry, after the switch to
   *  the staging cell. */
  failNextWrite(kind: 'abort' | 'trap' | 'staged'): void;
}

/** TEST ONLY: set by ShardedMap's static block. */
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
  readonly #memory: WebAssembly.Memory;
  readonly #mapId: readonly [number, number];
  readonly #owner: number;
  readonly #u8: Uint8Array;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #key: number;
  readonly #val: number;
  readonly #aux: number;
  readonly #busyIdx: number;
  readonly #wordIdx: number;
  readonly #maxKey: number;
  readonly #maxValue: number;
  readonly #lockTimeout: number;
  #closed = false;

  static {
    internalsOf = (m) => ({
      core: m.#x,
      owner: m.#owner,
      encodeKey: (key: Key) => encodeKey(key, m.#u8, m.#key, m.#maxKey),
      failNextWrite: (kind: 'abort' | 'trap' | 'staged') => {
        m.#i32[(m.#key - SCRATCH_KEY + SCRATCH_TEST) >>> 2] = kind === 'abort' ? 1 : kind === 'trap' ? 2 : 3;
      },
    });
  }

  /** Use `ShardedMap.create` or `ShardedMap.attach`. */
  constructor(
    t: typeof token, x: CoreExports, memory: WebAssembly.Memory, mapId: readonly [number, number], owner: number,
    lockTimeout: number,
  ) {
    if (t !== token) throw new TypeError('use ShardedMap.create() or ShardedMap.attach(handle)');
    // Debug mode swaps the logging exports in here, once: the hot path
    // calls this.#x.get either way and pays nothing when it is off.
    this.#x = x.debugEntries() > 0
      ? { ...x, get: x.getLogged, getF64: x.getF64Logged, contains: x.containsLogged, write: x.writeLogged }
      : x;
    this.#memory = memory;
    this.#mapId = mapId;
    this.#owner = owner;
    // The scratch area and every lock word were allocated before this view
    // was taken, so it never needs refreshing when the memory grows.
    const buf = memory.buffer;
    this.#u8 = new Uint8Array(buf);
    this.#i32 = new Int32Array(buf);
    this.#f64 = new Float64Array(buf);
    const scratch = x.scratchOf(owner);
    this.#key = scratch + SCRATCH_KEY;
    this.#val = scratch + x.valueOffset();
    this.#aux = scratch + x.auxOffset();
    this.#busyIdx = (scratch + SCRATCH_BUSY) >>> 2;
    this.#wordIdx = (scratch + SCRATCH_WORD) >>> 2;
    this.#maxKey = x.maxKeyBytes();
    this.#maxValue = x.maxValueBytes();
    this.#lockTimeout = lockTimeout;
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
    // Room for the core's static data, the header, the owner registry and
    // the shard headers; the shards' tables are allocated (and the memory
    // grown) by init itself.
    const fixed = PAGE + 256 + o.maxWorkers * 16 + o.shards * (128 + 64 + o.debugRing * 16);
    const initial = Math.ceil(fixed / PAGE) + 1;
    if (initial > o.maxPages) throw memoryFull();
    const memory = new WebAssembly.Memory({ initial, maximum: o.maxPages, shared: true });
    const x = await instantiate(module, memory);
    const seedLo = o.seed === undefined ? randomU32() : Number(BigInt.asUintN(32, o.seed));
    const seedHi = o.seed === undefined ? randomU32() : Number(BigInt.asUintN(32, o.seed >> 32n));
    const mapId: [number, number] = [randomU32(), randomU32()];
    const st = x.init(
      Math.log2(o.shards), o.maxWorkers, seedLo, seedHi, mapId[0], mapId[1], o.maxKeyBytes, o.maxValueBytes,
      perShardCapacity(o.initialCapacity, o.shards), o.maxPages, o.debugRing,
    );
    if (st === ST_FULL) throw memoryFull();
    if (st !== ST_OK) throw internalError(`init (status ${st})`);
    return ShardedMap.#open<V>(x, memory, mapId, o.lockTimeout);
  }

  /**
   * Attach to a map created elsewhere (usually in another worker) from its
   * `handle`.
   * @throws ShardedMapError with code `ERR_SHARDEDMAP_BAD_HANDLE` if `handle`
   *   is not a live map's handle, `ERR_SHARDEDMAP_LAYOUT_VERSION` if it was
   *   made by a build with another memory layout.
   */
  static async attach<V = unknown>(handle: ShardedMapHandle, options?: AttachOptions): Promise<ShardedMap<V>> {
    const { lockTimeout } = resolveAttachOptions(options);
    const bad = (why: string): never => {
      throw new ShardedMapError(ErrorCode.BAD_HANDLE, `not a ShardedMap handle: ${why}; pass map.handle from ShardedMap.create`);
    };
    if (typeof handle !== 'object' || handle === null) bad('expected an object');
    if (!(handle.memory instanceof WebAssembly.Memory)) bad('memory is not a WebAssembly.Memory');
    // Not `instanceof SharedArrayBuffer`: a SharedWorker has no such global.
    if (Object.prototype.toString.call(handle.memory.buffer) !== '[object SharedArrayBuffer]') bad('memory is not shared');
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
    const st = x.check(id[0], id[1]);
    if (st === ST_BAD_LAYOUT) bad(`its memory holds no map of layout ${LAYOUT_VERSION}`);
    if (st !== ST_OK) bad('its memory belongs to another map (mapId differs)');
    return ShardedMap.#open<V>(x, handle.memory, [id[0], id[1]], lockTimeout);
  }

  static #open<V>(x: CoreExports, memory: WebAssembly.Memory, mapId: readonly [number, number], lockTimeout: number): ShardedMap<V> {
    const deadline = now() + lockTimeout;
    for (;;) {
      const owner = x.attach();
      if (owner > 0) return new ShardedMap<V>(token, x, memory, mapId, owner, lockTimeout);
      if (owner === ST_NO_OWNER) {
        throw new ShardedMapRangeError(
          ErrorCode.TOO_MANY_WORKERS,
          'maxWorkers instances are attached already; close() unused ones or create the map with a larger maxWorkers',
        );
      }
      if (owner === ST_FULL) throw memoryFull();
      if (owner !== ST_BUSY) throw internalError(`attach (status ${owner})`);
      // The allocator is busy: wait on its lock word.
      const i32 = new Int32Array(memory.buffer);
      waitWord(i32, x.allocLockAddress() >>> 2, deadline, () => new LockTimeoutError(-1, 0, lockTimeout));
    }
  }

  /** A plain object to pass to workers, for `ShardedMap.attach`. */
  get handle(): ShardedMapHandle {
    return { memory: this.#memory, mapId: this.#mapId, layoutVersion: LAYOUT_VERSION };
  }

  /** This instance's owner id, 1..maxWorkers: what a shard's lock word
   *  holds while this instance writes, and what `release` takes. */
  get owner(): number {
    return this.#owner & OWNER_ID_MASK;
  }

  /** Number of entries in the whole map, O(1). */
  get size(): number {
    this.#alive();
    return this.#x.size();
  }

  /** Bytes of shared memory the map holds now (header, tables, scratch). */
  get memoryBytes(): number {
    this.#alive();
    return this.#x.committedBytes();
  }

  /** Bytes of that memory in use (the rest is free for reuse). */
  get usedBytes(): number {
    this.#alive();
    return this.#x.usedBytes();
  }

  get [Symbol.toStringTag](): string {
    return 'ShardedMap';
  }

  // ---- reads -------------------------------------------------------------------

  /** The value stored for `key`, or undefined. */
  load(key: Key): V | undefined {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    let w: number;
    try {
      w = this.#x.get(this.#owner, klen);
    } catch (e) {
      throw this.#fault(e);
    }
    if (w < 0) {
      if (w === ST_NOT_FOUND) return undefined;
      w = this.#readSlow(w, klen, true);
      if (w === ST_NOT_FOUND) return undefined;
    }
    return decodeValue(this.#u8, this.#aux, w) as V;
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
    let v: number;
    try {
      v = this.#x.getF64(this.#owner, klen);
    } catch (e) {
      throw this.#fault(e);
    }
    if (v === v) return v;
    // NaN: a stored NaN, a miss, another type, busy (the status is in the
    // scratch word, see getF64), or this instance was released.
    if (!this.#x.scratchOf(this.#owner)) throw releasedError();
    let w = this.#i32[this.#wordIdx]!;
    if (w < 0) {
      if (w === ST_NOT_FOUND) return fallback;
      w = this.#readSlow(w, klen, true);
      if (w === ST_NOT_FOUND) return fallback;
    }
    if (w >>> 24 !== T_F64) {
      throw new ShardedMapTypeError(ErrorCode.NOT_A_NUMBER, 'loadNumber: the value stored for this key is not a number; use load()');
    }
    return this.#f64[this.#aux >>> 3]!;
  }

  /** Is `key` present? */
  has(key: Key): boolean {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    let w: number;
    try {
      w = this.#x.contains(this.#owner, klen);
    } catch (e) {
      throw this.#fault(e);
    }
    if (w === ST_BUSY || w === ST_BAD_ARG) w = this.#readSlow(w, klen, false);
    return w > 0;
  }

  /** `Map#get`: the same as `load`. */
  get(key: Key): V | undefined {
    return this.load(key);
  }

  // ---- writes ------------------------------------------------------------------

  /** Store `value` for `key`. */
  store(key: Key, value: V, options?: WaitOptions): void {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const word = encodeValue(value, this.#u8, this.#val, this.#maxValue);
    this.#write(OP_STORE, klen, word, 0, options);
  }

  /**
   * Store `value` for `key` only if its shard is free right now: true if
   * stored, false (map unchanged) if another instance holds the shard.
   * Never waits.
   */
  tryStore(key: Key, value: V): boolean {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const word = encodeValue(value, this.#u8, this.#val, this.#maxValue);
    return this.#write(OP_STORE, klen, word, 0, undefined, true) !== ST_BUSY;
  }

  /** Store a number for `key`; allocates nothing. */
  storeNumber(key: Key, value: number, options?: WaitOptions): void {
    if (typeof value !== 'number') {
      throw new ShardedMapTypeError(ErrorCode.VALUE_TYPE, `storeNumber: the value must be a number, not a ${typeof value}`);
    }
    this.store(key, value as V, options);
  }

  /** `Map#set`: the same as `store`; returns the map. */
  set(key: Key, value: V): this {
    this.store(key, value);
    return this;
  }

  /**
   * If `key` is present, its value (`loaded: true`); otherwise stores
   * `value` and returns it (`loaded: false`). Atomic.
   */
  loadOrStore(key: Key, value: V, options?: WaitOptions): LoadResult<V> {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const word = encodeValue(value, this.#u8, this.#val, this.#maxValue);
    const st = this.#write(OP_LOAD_OR_STORE, klen, word, 0, options);
    if (st > 0) return { value: decodeValue(this.#u8, this.#aux, st) as V, loaded: true };
    return { value, loaded: false };
  }

  /** Delete `key`, returning the value it had (`loaded: true`) if present. */
  loadAndDelete(key: Key, options?: WaitOptions): LoadResult<V> {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const st = this.#write(OP_LOAD_AND_DELETE, klen, 0, 0, options);
    if (st > 0) return { value: decodeValue(this.#u8, this.#aux, st) as V, loaded: true };
    return { value: undefined, loaded: false };
  }

  /** Store `value` for `key`, returning the previous value if there was one. */
  swap(key: Key, value: V, options?: WaitOptions): SwapResult<V> {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const word = encodeValue(value, this.#u8, this.#val, this.#maxValue);
    const st = this.#write(OP_SWAP, klen, word, 0, options);
    if (st > 0) return { previous: decodeValue(this.#u8, this.#aux, st) as V, loaded: true };
    return { previous: undefined, loaded: false };
  }

  /**
   * Store `next` for `key` if its value equals `expected` by content (same
   * type and encoded bytes: numbers by bits, so NaN equals NaN and -0 differs
   * from 0; objects by their msgpack encoding, so key order matters).
   * False if the key is absent or the value differs. Atomic.
   */
  compareAndSwap(key: Key, expected: V, next: V, options?: WaitOptions): boolean {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const word = encodeValue(next, this.#u8, this.#val, this.#maxValue);
    const eword = encodeValue(expected, this.#u8, this.#aux, this.#maxValue);
    return this.#write(OP_CAS, klen, word, eword, options) === ST_OK;
  }

  /** Delete `key` if its value equals `expected` (as in compareAndSwap). */
  compareAndDelete(key: Key, expected: V, options?: WaitOptions): boolean {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    const eword = encodeValue(expected, this.#u8, this.#aux, this.#maxValue);
    return this.#write(OP_CAD, klen, 0, eword, options) === ST_OK;
  }

  /** Delete `key`; true if it was present. */
  delete(key: Key, options?: WaitOptions): boolean {
    this.#alive();
    const klen = encodeKey(key, this.#u8, this.#key, this.#maxKey);
    return this.#write(OP_DELETE, klen, 0, 0, options) === ST_OK;
  }

  /** Delete every entry, shard by shard (each shard atomically), and give
   *  the shards' memory back for reuse. */
  clear(options?: WaitOptions): void {
    this.#alive();
    const n = this.#x.shardCount();
    for (let s = 0; s < n; s++) {
      const st = this.#retry(() => this.#x.clearShard(this.#owner, s), options);
      if (st !== ST_OK) throw internalError(`clear (status ${st})`);
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
      if (!Number.isInteger(owner) || owner < 1 || owner > OWNER_ID_MASK) {
        throw new ShardedMapRangeError(ErrorCode.BAD_OWNER, `release: an owner must be an owner id (map.owner of the dead instance), got ${String(owner)}`);
      }
      if (owner === this.owner) {
        throw new ShardedMapRangeError(ErrorCode.BAD_OWNER, 'release: an instance cannot release itself; use close()');
      }
    }
    // An owner that closed (or died closing) may still hold a lock.
    const dead = owners.filter((o) => this.#x.ownerAlive(o) || this.#x.locksHeldBy(o) > 0);
    if (dead.length) this.#recover(dead, true);
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
    const n = this.#x.shardCount();
    const problems = [];
    let held = 0;
    let leakedBytes = 0;
    try {
      for (; held < n; held++) {
        const s = held;
        const st = this.#retry(() => this.#x.lockShard(this.#owner, s), options);
        if (st !== ST_OK) throw this.#refused('lockShard', st);
        const rule = this.#x.checkShard(this.#owner, s);
        if (rule < 0) throw this.#refused('checkShard', rule);
        if (rule > 0) problems.push(checkProblem(s, rule));
      }
      const rule = this.#retry(() => this.#x.checkAllocator(this.#owner), options);
      if (rule < 0) throw this.#refused('checkAllocator', rule);
      if (rule > 0) problems.push(checkProblem(-1, rule));
      else leakedBytes = this.#i32[this.#wordIdx]! >>> 0;
    } finally {
      for (let s = 0; s < held; s++) this.#x.unlockShard(this.#owner, s);
    }
    return { ok: problems.length === 0, problems, faults: this.#x.faults(), leakedBytes };
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
    const n = this.#x.shardCount();
    const buf: unknown[] = [];
    for (let s = 0; s < n; s++) {
      buf.length = 0;
      this.#snapshot(s, buf);
      for (let i = 0; i < buf.length; i += 2) {
        if (fn(buf[i] as Key, buf[i + 1] as V) === false) return;
      }
    }
  }

  /** Number of shards (for `rangeShard`). */
  get shardCount(): number {
    this.#alive();
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
    const buf: unknown[] = [];
    this.#snapshot(shard, buf);
    for (let i = 0; i < buf.length; i += 2) {
      if (fn(buf[i] as Key, buf[i + 1] as V) === false) return;
    }
  }

  /** `Map#forEach`: `fn(value, key, map)` for each entry (see `range`). */
  forEach(fn: (value: V, key: Key, map: this) => void, thisArg?: unknown): void {
    checkCallback(fn, 'forEach');
    this.range((k, v) => {
      fn.call(thisArg, v, k, this);
    });
  }

  /** Entries, shard by shard (see `range`); hash order. */
  *entries(): IterableIterator<[Key, V]> {
    this.#alive();
    const n = this.#x.shardCount();
    const buf: unknown[] = [];
    for (let s = 0; s < n; s++) {
      buf.length = 0;
      this.#alive();
      this.#snapshot(s, buf);
      for (let i = 0; i < buf.length; i += 2) yield [buf[i] as Key, buf[i + 1] as V];
    }
  }

  *keys(): IterableIterator<Key> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[Key, V]> {
    return this.entries();
  }

  /**
   * Debug mode (`debugRing` option): the operations each shard's ring still
   * holds, oldest first, as recorded by every instance. Empty when debug
   * mode is off. Entries written while this runs may be missing or torn.
   */
  debug(): DebugShard[] {
    this.#alive();
    const out: DebugShard[] = [];
    if (this.#x.debugEntries() === 0) return out;
    const n = this.#x.shardCount();
    const w = (this.#key - SCRATCH_KEY + SCRATCH_DEBUG) >>> 2;
    for (let s = 0; s < n; s++) {
      const entries: DebugEntry[] = [];
      const held = this.#x.debugRead(this.#owner, s, 0);
      for (let i = 0; i < held; i++) {
        this.#x.debugRead(this.#owner, s, i);
        const opOwner = this.#i32[w]!;
        const result = this.#i32[w + 2]!;
        entries.push({
          seq: this.#i32[w + 3]! >>> 0,
          op: LOG_OP_NAMES[opOwner & 0xff] ?? `op ${opOwner & 0xff}`,
          owner: opOwner >>> 8,
          keyHash: this.#i32[w + 1]! >>> 0,
          result: result >= 0 ? result : (STATUS_NAMES[result] ?? String(result)),
        });
      }
      if (entries.length) out.push({ shard: s, entries });
    }
    return out;
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
      const st = this.#x.detach(this.#owner);
      if (st === ST_OK) break;
      if (st !== ST_BUSY) throw internalError(`detach (status ${st})`);
      waitWord(this.#i32, this.#x.allocLockAddress() >>> 2, deadline, () => new LockTimeoutError(-1, 0, this.#lockTimeout));
    }
    this.#closed = true;
  }

  // ---- internals -------------------------------------------------------------

  #alive(): void {
    if (this.#closed) throw closedError();
  }

  /** A write op, waiting while busy (unless `once`: then ST_BUSY is
   *  returned); maps FULL and BAD_ARG to errors. */
  #write(op: number, klen: number, word: number, eword: number, options?: WaitOptions, once = false): number {
    if (options !== undefined) {
      checkWaitOptions(options);
      if (options.signal?.aborted) throw options.signal.reason;
    }
    let st: number;
    try {
      st = this.#x.write(this.#owner, op, klen, word >>> 24, word & 0xffffff, eword);
    } catch (e) {
      throw this.#fault(e);
    }
    if (st === ST_BUSY && !once) {
      st = this.#retry(() => this.#x.write(this.#owner, op, klen, word >>> 24, word & 0xffffff, eword), options, st);
    }
    if (st >= 0 || st === ST_NOT_FOUND || st === ST_MISMATCH || st === ST_BUSY) return st;
    if (st === ST_FULL) throw memoryFull();
    if (st === ST_BAD_ARG && !this.#x.scratchOf(this.#owner)) throw releasedError();
    throw internalError(`write op ${op} (status ${st})`);
  }

  /** Call `f` until it is not ST_BUSY, waiting on the lock it names, up to
   *  the deadline of `options.timeout` (or lockTimeout) and `options.signal`. */
  #retry(f: () => number, options?: WaitOptions, first?: number): number {
    if (options !== undefined && first === undefined) checkWaitOptions(options);
    const signal = options?.signal;
    if (first === undefined && signal?.aborted) throw signal.reason;
    let st: number;
    try {
      st = first ?? f();
    } catch (e) {
      throw this.#fault(e);
    }
    if (st !== ST_BUSY) return st;
    const limit = options?.timeout ?? this.#lockTimeout;
    const deadline = now() + limit;
    while (st === ST_BUSY) {
      if (signal?.aborted) throw signal.reason;
      this.#waitBusy(deadline, limit);
      try {
        st = f();
      } catch (e) {
        throw this.#fault(e);
      }
    }
    return st;
  }

  /**
   * A trap or an abort inside the core: repair what this instance may have
   * left locked (as if it had died), and turn it into a typed error.
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

  /** Take over and repair what the owner ids `victims` hold (see release):
   *  take every shard's lock in order (over from a victim, repairing the
   *  shard, or the normal way), free the victims if asked, recount, unlock. */
  #recover(victims: number[], freeVictims: boolean): void {
    for (const v of victims) {
      if (this.#x.recoverBegin(this.#owner, v) !== ST_OK) throw internalError('recoverBegin');
    }
    const n = this.#x.shardCount();
    let held = 0;
    try {
      for (; held < n; held++) {
        const s = held;
        const st = this.#retry(() => {
          const holder = this.#x.shardLockOwner(s);
          const v = victims.includes(holder) ? holder : victims[0]!;
          return this.#x.recoverShard(this.#owner, v, s);
        });
        if (st !== ST_OK) throw internalError(`recoverShard (status ${st})`);
      }
    } catch (e) {
      for (let s = 0; s < held; s++) this.#x.unlockShard(this.#owner, s);
      throw e;
    }
    if (freeVictims) for (const v of victims) this.#x.freeOwner(this.#owner, v);
    if (this.#x.recoverEnd(this.#owner) !== ST_OK) throw internalError('recoverEnd');
  }

  /** The error for a status the core should not have returned here: the
   *  instance was released, or a bug. */
  #refused(what: string, st: number): ShardedMapError {
    return st === ST_BAD_ARG && !this.#x.scratchOf(this.#owner) ? releasedError() : internalError(`${what} (status ${st})`);
  }

  /** A read that fell back to the lock and found it taken: wait, retry. */
  #readSlow(st: number, klen: number, copy: boolean): number {
    st = this.#retry(() => (copy ? this.#x.get(this.#owner, klen) : this.#x.contains(this.#owner, klen)), undefined, st);
    if (st === ST_BAD_ARG) throw this.#x.scratchOf(this.#owner) ? internalError('a read') : releasedError();
    return st;
  }

  /** Copy one shard's entries (decoded) into `out` as key, value, ... */
  #snapshot(shard: number, out: unknown[]): void {
    const st = this.#retry(() => this.#x.lockShard(this.#owner, shard));
    if (st !== ST_OK) throw st === ST_BAD_ARG && !this.#x.scratchOf(this.#owner) ? releasedError() : internalError(`lockShard (status ${st})`);
    try {
      const u8 = this.#u8;
      const i32 = this.#i32;
      const base = (this.#key - SCRATCH_KEY) >>> 2;
      for (let c = this.#x.next(this.#owner, shard, 0); c > 0; c = this.#x.next(this.#owner, shard, c)) {
        out.push(decodeKey(u8, this.#key, i32[base + (SCRATCH_KLEN >>> 2)]!));
        out.push(decodeValue(u8, this.#aux, i32[base + (SCRATCH_WORD >>> 2)]!));
      }
    } finally {
      this.#x.unlockShard(this.#owner, shard);
    }
  }

  /** Sleep until the lock word named in scratch word 0 changes (or the
   *  deadline passes: LockTimeoutError). */
  #waitBusy(deadline: number, limit = this.#lockTimeout): void {
    const addr = this.#i32[this.#busyIdx]!;
    waitWord(this.#i32, addr >>> 2, deadline, (owner) => new LockTimeoutError(this.#shardOfLock(addr), owner, limit));
  }

  #shardOfLock(addr: number): number {
    if (addr === this.#x.allocLockAddress()) return -1;
    return (addr - this.#x.shardsAddress() - this.#x.shardLockOffset()) / this.#x.shardHeaderBytes();
  }
}

function checkCallback(fn: unknown, method: string): void {
  if (typeof fn !== 'function') {
    throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, `${method}: the callback must be a function, not ${typeof fn}`);
  }
}

/** Eager checks of a WaitOptions argument. */
function checkWaitOptions(o: WaitOptions): void {
  if (typeof o !== 'object' || o === null) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'options must be an object like { timeout, signal }');
  }
  const t = o.timeout;
  if (t !== undefined && (typeof t !== 'number' || Number.isNaN(t) || t < 0)) {
    throw new ShardedMapRangeError(ErrorCode.INVALID_OPTION, `timeout option must be a number of milliseconds >= 0, got ${String(t)}`);
  }
  const sig = o.signal as unknown;
  if (sig !== undefined && (typeof sig !== 'object' || sig === null || typeof (sig as AbortSignal).aborted !== 'boolean')) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'signal option must be an AbortSignal');
  }
}

/**
 * Wait while the lock word at i32[idx] is held: mark it contended so the
 * releaser notifies, then Atomics.wait (or spin where blocking is not
 * allowed). Returns when the word changed or was free; throws at deadline.
 */
function waitWord(i32: Int32Array, idx: number, deadline: number, timeout: (owner: number) => Error): void {
  const v = Atomics.load(i32, idx);
  if (v === 0) return;
  const t = now();
  if (t >= deadline) throw timeout(v & ~LOCK_CONTENDED);
  const marked = v | LOCK_CONTENDED;
  if (v !== marked && Atomics.compareExchange(i32, idx, v, marked) !== v) return;
  if (canBlock) {
    Atomics.wait(i32, idx, marked, Math.min(deadline - t, WAIT_SLICE_MS));
  } else {
    const until = Math.min(deadline, t + WAIT_SLICE_MS);
    while (Atomics.load(i32, idx) === marked && now() < until) {
      /* spin: this thread may not block */
    }
  }
}

export type { Key };
export type { CheckReport, CheckProblem } from './check';
