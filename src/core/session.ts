/**
 * A session: one attached instance's per-call state on the core — its
 * owner token, its views of the shared memory, where its scratch area's
 * parts are, its counters, and the few steps every call is made of (encode
 * a key, retry while a shard is busy, tell a miss from a hit, map a status
 * to an error). The public class (map/map.ts), fetch (cache/fetch.ts),
 * batch reads, recovery and iteration (beside this file) all work through
 * one session; none of them keeps a copy of these fields.
 *
 * Contract: a session is used by one agent (the thread that attached), so
 * nothing here is synchronized; everything it reads of other instances'
 * doing goes through the core. The scratch area and every lock word were
 * allocated before the views were taken, so they never need refreshing
 * when the memory grows.
 */
import {
  ST_OK, ST_NOT_FOUND, ST_BUSY, ST_FULL, ST_MISMATCH, ST_BAD_ARG, ST_STALE, ST_TOO_LARGE, T_F64, T_UNDEFINED,
  OP_LOAD_OR_STORE, OP_DELETE, OP_LOAD_AND_DELETE, OP_CAD, SCRATCH_BUSY, SCRATCH_KEY, SCRATCH_COUNTERS,
  SCRATCH_TAG_ADDR, SCRATCH_TAG_EPOCH, SCRATCH_TAG_SHARD, SCRATCH_READ_STRIPE, SCRATCH_READ_COUNT, SCRATCH_EXPIRY, SCRATCH_NOW, CNT_HITS, CNT_MISSES,
  CNT_STORES, CNT_DELETES, CNT_LOCK_WAITS, CNT_LOCK_TIMEOUTS, CACHE_ON, CACHE_TTL_SEEN, OWNER_ID_MASK, IN_PLACE_MAX_VLEN,
} from '../../assembly/shared.js';
import { guardedCore, type CoreExports } from './core.js';
import { encodeKey, encodeValue, decodeValue, memIO, packInPlace, type Key, type MemIO } from '../codec/codec.js';
import { DecodedCache, MISS } from '../codec/decoded.js';
import { ReadMemo, type MemoKey } from './memo.js';
import { RecordCodec } from '../codec/records.js';
import { vtypeOf, vlenOf, hasExpiry } from '../codec/words.js';
import {
  ErrorCode, LockTimeoutError, ShardedMapError, ShardedMapRangeError, ShardedMapTypeError, closedError,
  releasedError, internalError, memoryFull, entryTooLarge,
} from '../base/errors.js';
import { ttlValue, type InstanceOptions, type FetchDefaults } from '../base/options.js';
import { now, type WasmMemory } from '../base/platform.js';
import { checkWaitOptions, waitWord, type WaitOptions } from '../base/wait.js';

export { MISS };

/** Loads between two looks at a memo that is off (null): one counter for
 *  both cases, off and paused (a small integer, as V8 keeps it). */
const MEMO_OFF_IDLE = 1 << 30;

/** Options of the calls that store a value: those of every call that may
 *  wait for a lock, plus a cache map's per-write time to live. */
export interface WriteOptions extends WaitOptions {
  /** Cache maps: milliseconds this value lives (0 or Infinity: forever).
   *  Defaults to the map's `ttl` option. */
  ttl?: number;
}

/** The owner id (what lock words hold, what `release` takes) of a token. */
export function tokenId(token: number): number {
  return token & OWNER_ID_MASK;
}

export class Session {
  /** The core's exports as this instance calls them (fault guard and, in
   *  debug mode, the ring's logging exports swapped in once). */
  readonly core: CoreExports;
  /** The core's exports as instantiated (no guard, no swap). */
  readonly raw: CoreExports;
  readonly memory: WasmMemory;
  readonly token: number;
  readonly io: MemIO;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** Decoded values of this instance's loads (null: off). */
  readonly decoded: DecodedCache | null;
  /** Values `load` returns again while their key's write stripe is
   *  unchanged (memo.ts; null: off, in cache maps, debug mode and without
   *  a decoded cache). */
  readonly memo: ReadMemo | null;
  /** Loads left before `recall` asks the memo again (a pause, or off);
   *  did the last recall ask it? */
  #memoIdle = 0;
  #memoAsked = false;
  /** Loads begun and values decoded (recall, loaded): loadedFor puts a
   *  value in the memo only if its own decode was the one thing between
   *  (user code can run inside a decode, a msgpackr extension's `read`, and
   *  load from this map: its read would leave its own READ words, decoded
   *  cache `hit` and memo state behind). */
  #reads = 0;
  /** The word of the value `loaded` last returned through the decoded
   *  cache (0: it returned a number or undefined). */
  #loadedWord = 0;
  /** The scratch area, and in it: the key, the value written, the aux
   *  area (values read, a CAS's expected value, batch records). */
  readonly scratch: number;
  readonly key: number;
  readonly val: number;
  readonly aux: number;
  readonly maxKey: number;
  readonly maxValue: number;
  readonly lockTimeout: number;
  /** Index (in f64) of this instance's counter 0 (CNT_*). */
  readonly cnt: number;
  /** Cache mode: index (in i32) of the map's HDR_CACHE flags word; -1 for
   *  a plain map. */
  readonly cacheFlags: number;
  /** Cache mode: the default ttl (ms, 0 = none) and the clock. */
  readonly ttl: number;
  readonly clock: () => number;
  /** This instance's defaults for fetch (stale windows, negativeTtl). */
  readonly fetchDefaults: FetchDefaults;
  /** Indexes (in f64) of the scratch's SCRATCH_EXPIRY and SCRATCH_NOW. */
  readonly expIdx: number;
  readonly nowIdx: number;
  /** Closed, or released by another instance: every call refuses. */
  closed = false;

  constructor(
    raw: CoreExports, memory: WasmMemory, token: number, { lockTimeout, decodedCache, clock, fetchDefaults }: InstanceOptions,
    onFault: (session: Session, e: unknown) => Error,
  ) {
    this.raw = raw;
    this.core = guardedCore(raw, raw.debugEntries() > 0, (e) => onFault(this, e));
    this.memory = memory;
    this.token = token;
    this.io = memIO(memory.buffer);
    this.u8 = this.io.u8;
    this.i32 = this.io.i32;
    this.f64 = this.io.f64;
    this.io.records = new RecordCodec({
      u8: this.u8, i32: this.i32, area: raw.recordsAddress(), owner: tokenId(token), lockTimeout,
      ownerGone: (id) => !raw.ownerAlive(id),
    });
    this.decoded = decodedCache > 0 ? new DecodedCache(this.io, decodedCache) : null;
    this.scratch = raw.scratchOf(token);
    this.key = this.scratch + SCRATCH_KEY;
    this.val = this.scratch + raw.scratchValueOffset();
    this.aux = this.scratch + raw.scratchAuxOffset();
    this.maxKey = raw.maxKeyBytes();
    this.maxValue = raw.maxValueBytes();
    packInPlace(this.io, this.val, this.maxValue);
    this.lockTimeout = lockTimeout;
    this.cnt = (this.scratch + SCRATCH_COUNTERS) >>> 3;
    const flags = raw.cacheFlagsAddress() >>> 2;
    this.cacheFlags = (this.i32[flags]! & CACHE_ON) !== 0 ? flags : -1;
    this.ttl = raw.cacheTtl();
    this.clock = clock;
    this.fetchDefaults = fetchDefaults;
    this.expIdx = (this.scratch + SCRATCH_EXPIRY) >>> 3;
    this.nowIdx = (this.scratch + SCRATCH_NOW) >>> 3;
    this.memo = this.decoded !== null && this.cacheFlags < 0 && raw.debugEntries() === 0
      ? new ReadMemo(this.i32, raw.ownerStateAddress(token), raw.stripeIs, decodedCache)
      : null;
  }

  /** This instance's owner id. */
  get owner(): number {
    return tokenId(this.token);
  }

  /** Throw CLOSED if this instance was closed (or found released). */
  alive(): void {
    if (this.closed) throw closedError();
  }

  /** alive, and the instance was not released: for calls that read only
   *  shared state, which the core answers without checking the token. */
  ownSlot(): void {
    this.alive();
    if (!this.core.scratchOf(this.token)) throw this.refused('scratchOf', ST_BAD_ARG);
  }

  /** Encode `key` into the scratch's key area; its length. */
  encodeKey(key: unknown): number {
    return encodeKey(key, this.u8, this.key, this.maxKey);
  }

  /** Add `n` to this instance's counter `i` (CNT_*, in its own scratch). */
  count(i: number, n = 1): void {
    this.f64[this.cnt + i] = this.f64[this.cnt + i]! + n;
  }

  /** The error for a status the core should not have returned here: this
   *  instance was released (its token no longer works), or a bug. */
  refused(what: string, st: number): ShardedMapError {
    if (st !== ST_BAD_ARG || this.core.scratchOf(this.token)) return internalError(`${what} (status ${st})`);
    // Released: from now on this instance touches nothing (its scratch
    // area is no longer its own).
    this.closed = true;
    return releasedError();
  }

  // ---- time (cache mode) -------------------------------------------------------

  /** The clock, checked: ms since the Unix epoch. */
  now(): number {
    const t = this.clock();
    if (!(typeof t === 'number' && t > 0 && t < 2 ** 47)) {
      throw new ShardedMapRangeError(ErrorCode.INVALID_OPTION, `clock() must return milliseconds since the Unix epoch, got ${String(t)}`);
    }
    return t;
  }

  /** Has the expiry at f64[idx] (a read's, 0 = never) passed? */
  expired(idx: number): boolean {
    const x = this.f64[idx]!;
    return x !== 0 && x <= this.now();
  }

  /** Is the read that returned `w` (with its expiry, if any, at f64[idx])
   *  a miss: not found, or found expired? The one test of every read. */
  missed(w: number, idx: number): boolean {
    return w === ST_NOT_FOUND || (hasExpiry(w) && this.expired(idx));
  }

  /** Cache maps, before a write: the new value's expiry (from `ttl`, else
   *  the map's default) and the time, for the core (SCRATCH_EXPIRY,
   *  SCRATCH_NOW). The time only when some entry may expire. */
  passTime(ttl: unknown): void {
    const t = ttl === undefined ? this.ttl : ttlValue(ttl, 'ttl option');
    const time = t > 0 || (this.i32[this.cacheFlags]! & CACHE_TTL_SEEN) !== 0 ? this.now() : 0;
    this.f64[this.nowIdx] = time;
    this.f64[this.expIdx] = t > 0 ? Math.ceil(time + t) : 0;
  }

  // ---- waiting ---------------------------------------------------------------------

  /** `f()` (or its `first` result) until it is not ST_BUSY, waiting on the
   *  lock it names, up to the deadline of `options.timeout` (or
   *  lockTimeout) and `options.signal` (both checked by the caller). */
  retry(f: () => number, options?: WaitOptions, first?: number): number {
    const signal = options?.signal;
    if (first === undefined && signal?.aborted) throw signal.reason;
    let st = first ?? f();
    if (st !== ST_BUSY) return st;
    const limit = options?.timeout ?? this.lockTimeout;
    const deadline = now() + limit;
    this.count(CNT_LOCK_WAITS);
    while (st === ST_BUSY) {
      if (signal?.aborted) throw signal.reason;
      const addr = this.i32[(this.scratch + SCRATCH_BUSY) >>> 2]!;
      waitWord(this.i32, addr >>> 2, deadline, (owner) => {
        this.count(CNT_LOCK_TIMEOUTS);
        return new LockTimeoutError(this.core.lockShardIndex(addr), owner, limit);
      });
      st = f();
    }
    return st;
  }

  /** Wait on the allocator's lock word (attach, detach found it busy). */
  waitAllocator(deadline: number): void {
    waitWord(this.i32, this.core.allocLockAddress() >>> 2, deadline, (owner) => new LockTimeoutError(-1, owner, this.lockTimeout));
  }

  // ---- reads -------------------------------------------------------------------------

  /** A read that fell back to the lock and found it taken: wait, retry. */
  readSlow(st: number, klen: number, copy: boolean): number {
    st = this.retry(() => (copy ? this.core.loadValue(this.token, klen) : this.core.has(this.token, klen)), undefined, st);
    if (st === ST_BAD_ARG) throw this.refused('a read', st);
    return st;
  }

  /** The value word of the key encoded (length `klen`), read whatever it
   *  takes (busy shard, released instance), or ST_NOT_FOUND for a miss;
   *  counted as a hit or a miss. `w` is a first try's result, if any. */
  readWord(klen: number, w = this.core.loadValue(this.token, klen)): number {
    if (w < 0 && w !== ST_NOT_FOUND) w = this.readSlow(w, klen, true);
    if (this.missed(w, this.expIdx)) {
      this.count(CNT_MISSES);
      return ST_NOT_FOUND;
    }
    this.count(CNT_HITS);
    return w;
  }

  /** The value the read of word `w` (a hit) found: a number straight from
   *  the aux area, anything else through `loaded`. */
  valueOf(w: number, klen: number): unknown {
    return vtypeOf(w) === T_F64 ? this.f64[this.aux >>> 3] : this.loaded(w, klen);
  }

  /** The value `loadValue` found (word `w`): copied to the aux area and
   *  looked up by content, or (long and out of line) tagged and looked up
   *  by tag, copied only on a miss (see decoded.ts). A tag gone stale (the
   *  shard moved its entries meanwhile) reads the key again; undefined if
   *  it was deleted (or expired) meanwhile. */
  loaded(w: number, klen: number): unknown {
    this.#reads++;
    for (;;) {
      const addr = this.i32[(this.scratch + SCRATCH_TAG_ADDR) >>> 2]!;
      this.#loadedWord = w;
      if (addr === 0) return this.decoded ? this.decoded.byContent(this.aux, w) : decodeValue(this.io, this.aux, w);
      const epoch = this.i32[(this.scratch + SCRATCH_TAG_EPOCH) >>> 2]!;
      if (this.decoded) {
        const v = this.decoded.byTag(addr, epoch, w);
        if (v !== MISS) return v;
      }
      const shard = this.i32[(this.scratch + SCRATCH_TAG_SHARD) >>> 2]!;
      let st = this.core.copyTaggedValue(this.token, shard, addr, epoch, vlenOf(w));
      if (st === ST_BUSY) st = this.retry(() => this.core.copyTaggedValue(this.token, shard, addr, epoch, vlenOf(w)), undefined, st);
      if (st === ST_OK) {
        return this.decoded ? this.decoded.fillTag(addr, epoch, w, this.aux) : decodeValue(this.io, this.aux, w);
      }
      if (st !== ST_STALE) throw this.refused('copyTaggedValue', st);
      this.#loadedWord = 0;
      w = this.core.loadValue(this.token, klen);
      if (w < 0) w = this.readSlow(w, klen, true);
      if (this.missed(w, this.expIdx)) return undefined;
      if (vtypeOf(w) === T_F64) return this.f64[this.aux >>> 3];
    }
  }

  /** The value of `key` (not encoded yet) if the read memo has it
   *  unchanged (a hit), else MISS. */
  recall(key: unknown): unknown {
    // (The pause counted down here, on the hot path of every load.)
    this.#reads++;
    this.#memoAsked = false;
    if (this.#memoIdle > 0) {
      this.#memoIdle--;
      return MISS;
    }
    const memo = this.memo;
    if (memo === null) {
      this.#memoIdle = MEMO_OFF_IDLE;
      return MISS;
    }
    if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'bigint') return MISS;
    this.#memoAsked = true;
    const v = memo.get(key);
    // (count's body, inlined by hand: V8 left the call in this hot path.)
    if (v !== MISS) this.f64[this.cnt + CNT_HITS]! += 1;
    else this.#memoIdle = memo.takePause();
    return v;
  }

  /** load's value for word `w` (a hit of the read just made of `key`,
   *  encoded in `klen` bytes), kept in the read memo if the decoded cache
   *  had it (see memo.ts), with the READ words of this read (taken before
   *  the decode: a later read of the key inside `loaded`, after a stale
   *  tag, only has a count as new or newer, so the memo's check is as
   *  strict or stricter) and the decoded cache's `hit` of this decode. */
  loadedFor(w: number, klen: number, key: unknown): unknown {
    if (vtypeOf(w) === T_F64) return this.f64[this.aux >>> 3];
    this.#loadedWord = 0;
    const i32 = this.i32;
    const stripe = i32[(this.scratch + SCRATCH_READ_STRIPE) >>> 2]!;
    const count = i32[(this.scratch + SCRATCH_READ_COUNT) >>> 2]!;
    const reads = this.#reads;
    const v = this.loaded(w, klen);
    // Only after a lookup of this key (so only keys the memo keeps), not
    // while the memo is paused (a workload it does not serve would pay for
    // filling it), and not if a load reentered the decode (see #reads).
    if (this.#reads === reads + 1 && this.#memoAsked && this.#memoIdle === 0 && vlenOf(this.#loadedWord) > IN_PLACE_MAX_VLEN && this.decoded!.hit) {
      this.memo!.put(key as MemoKey, stripe, count, v);
    }
    return v;
  }

  /** load, telling a stored `undefined` from a miss: [found, value]. */
  lookup(key: Key): [boolean, unknown] {
    this.alive();
    const klen = this.encodeKey(key);
    const w = this.readWord(klen);
    if (w === ST_NOT_FOUND) return [false, undefined];
    const v = this.valueOf(w, klen);
    // undefined from a value that is not: deleted meanwhile (see loaded).
    return [v !== undefined || vtypeOf(w) === T_UNDEFINED, v];
  }

  // ---- writes ------------------------------------------------------------------------

  /** compareAndSwap's values encoded: `next` in the value area, `expected`
   *  in the aux area. Returns next's word; expected's is left in
   *  `expectedWord`. Getters run while objects are packed: a getter of
   *  `next` that loads writes the aux area before `expected` is there; a
   *  getter of `expected` that stores writes over `next` (an object is
   *  packed privately and copied into the aux area last): then `next` is
   *  encoded again, with `expected`'s bytes kept aside meanwhile. */
  encodeSwap(next: unknown, expected: unknown): number {
    const io = this.io;
    const word = encodeValue(next, io, this.val, this.maxValue);
    const writes = io.valWrites;
    const eword = encodeValue(expected, io, this.aux, this.maxValue);
    this.expectedWord = eword;
    if (io.valWrites === writes + 1) return word;
    const kept = this.u8.slice(this.aux, this.aux + vlenOf(eword));
    const again = encodeValue(next, io, this.val, this.maxValue);
    this.u8.set(kept, this.aux);
    return again;
  }

  /** The word of the expected value encodeSwap encoded. */
  expectedWord = 0;

  /** A write op on the key and value encoded, waiting while busy (unless
   *  `once`: then ST_BUSY is returned); maps FULL, TOO_LARGE and BAD_ARG to
   *  errors. Returns the core's status (> 0: a value word in the aux area). */
  write(op: number, klen: number, word: number, eword: number, options?: WriteOptions, once = false): number {
    if (options !== undefined) {
      checkWaitOptions(options);
      if (options.signal?.aborted) throw options.signal.reason;
    }
    if (this.cacheFlags >= 0) this.passTime(options?.ttl);
    else if (options?.ttl !== undefined) {
      throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'ttl: this map is not a cache; create it with a ttl, maxEntries or maxBytes option');
    }
    const vtype = vtypeOf(word);
    const vlen = vlenOf(word);
    let st = this.core.write(this.token, op, klen, vtype, vlen, eword);
    if (st === ST_BUSY && !once) {
      st = this.retry(() => this.core.write(this.token, op, klen, vtype, vlen, eword), options, st);
    }
    if (st >= 0) {
      // Stored: every op that takes a value but loadOrStore finding one;
      // deleted: the delete ops that found their key (and value).
      if (op === OP_DELETE || op === OP_LOAD_AND_DELETE || op === OP_CAD) this.count(CNT_DELETES);
      else if (op !== OP_LOAD_OR_STORE || st === ST_OK) this.count(CNT_STORES);
      return st;
    }
    if (st === ST_NOT_FOUND || st === ST_MISMATCH || st === ST_BUSY) return st;
    if (st === ST_FULL) throw memoryFull();
    if (st === ST_TOO_LARGE) throw entryTooLarge(this.core.cacheMaxBytes(), this.core.shardCount());
    throw this.refused(`write op ${op}`, st);
  }

  /** Lock shard `s` (waiting as `retry` does); throws on anything but OK. */
  lockShard(s: number, options?: WaitOptions): void {
    const st = this.retry(() => this.core.lockShard(this.token, s), options);
    if (st !== ST_OK) throw this.refused('lockShard', st);
  }
}
