/** Options of `ShardedMap.create` and `ShardedMap.attach`, their defaults
 *  and their eager validation. */
import {
  MAX_KEY_BYTES_LIMIT, MAX_VALUE_BYTES_LIMIT, MAX_CACHE_VALUE_BYTES, MAX_SHARDS, MAX_OWNERS, MAX_DEBUG_ENTRIES,
  PAGE_BYTES, IMPLIED_ENTRY_BYTES,
} from '../../assembly/shared.js';
import { ErrorCode, ShardedMapRangeError, ShardedMapTypeError } from './errors.js';

/** Options of `ShardedMap.create`. Every one is optional. */
export interface CreateOptions {
  /**
   * Number of shards: a power of two from 1 to 4096. Each shard has its own
   * write lock and seqlock, so more shards mean fewer writers in each
   * other's way; each costs a header of three cache lines (assembly/layout.ts,
   * SH_BYTES) plus one small table (~1 KiB).
   * @default 256 (the count of the Go design this map comes from); a
   *   cache with fewer than 64 x 256 entries (maxEntries, or maxBytes / 64)
   *   gets fewer, so that each shard holds at least 64 (see Cache).
   */
  shards?: number;
  /**
   * Entries to make room for up front, spread evenly over the shards, so a
   * map filled to this size does not resize its tables (entries too long for
   * a 32-byte cell may still grow a shard's heap). The map grows past it
   * anyway, and never shrinks below it.
   * @default 0 (each shard starts with 16 slots)
   */
  initialCapacity?: number;
  /**
   * Longest encoded key in bytes: one type byte, then the key's bytes
   * (UTF-8 for strings, 8 for numbers). From 2 to 65535. A longer key throws
   * a `ShardedMapRangeError` with code `ERR_SHARDEDMAP_KEY_TOO_LARGE`.
   * @default 1024
   */
  maxKeyBytes?: number;
  /**
   * Longest encoded value in bytes (UTF-8 for strings, 8 for numbers,
   * msgpack for objects). From 8 to 16777215. Each attached instance reserves
   * twice this much shared memory as its scratch area.
   * @default 1048576 (1 MiB)
   */
  maxValueBytes?: number;
  /**
   * Most bytes of shared memory the map may use; the memory starts small and
   * grows on demand up to here. A store that would need more throws a
   * `ShardedMapRangeError` with code `ERR_SHARDEDMAP_MEMORY_FULL` and leaves
   * the map unchanged. From 1 MiB to 4 GiB - 64 KiB; rounded up to 64 KiB.
   * Engines reserve (not commit) this much address space.
   * @default 1073741824 (1 GiB)
   */
  maxMemory?: number;
  /**
   * Most instances attached at once (the creator counts); each holds an
   * owner id and a scratch area until `close()`. From 1 to 4096.
   * @default 64
   */
  maxWorkers?: number;
  /**
   * Milliseconds a call waits for a locked shard before throwing a
   * `LockTimeoutError` (a worker that died holding a lock would otherwise
   * hang every other). Per instance. `Infinity` waits forever.
   * @default 5000
   */
  lockTimeout?: number;
  /**
   * Slots of this instance's decoded-value cache (per table; a power of two
   * from 4 to 2^20; 0 turns it off). A repeat `load` of a string, bigint or
   * object that has not changed since this instance last loaded it returns
   * the value it decoded then, without decoding (or, for a long value,
   * copying) anything. Objects and arrays of plain data it returns are
   * therefore deeply frozen and shared by the loads that hit; with 0, every
   * load returns a fresh, mutable copy. Uint8Array values, and objects
   * holding a Date, Set or typed array, are always fresh copies. In a
   * plain map it also sizes the read memo: a repeat `load` of a key no one
   * changed since this instance read it returns the value without a lookup
   * in the shared table (docs/api.md). Costs about 270 bytes per slot of
   * private (non-shared) memory, both together, once full, and the
   * characters of the memo's keys of 13 or more. Per instance.
   * @default 4096
   */
  decodedCache?: number;
  /**
   * Debug mode: keep the last `debugRing` operations of each shard (op, key
   * hash, owner, result) in a ring in shared memory, readable from any
   * instance with `map.debug()`, for post-mortems after a fault. A power of
   * two up to 4096; 0 turns it off. When off it costs nothing (the logging
   * functions are swapped in at attach, not tested on each call); when on,
   * every call, reads included, writes to shared memory.
   * @default 0
   */
  debugRing?: number;
  /**
   * The 64-bit hash seed. Random by default, which is what protects the map
   * from keys crafted to collide; set it only to reproduce a layout in tests.
   */
  seed?: bigint;
  /**
   * Cache: most live entries. A store that would pass it evicts (S3-FIFO,
   * per shard: each shard gets maxEntries / shards) instead of throwing.
   * Any of maxEntries, maxBytes and ttl makes the map a cache.
   * From 1 to 2^32 - 1, and at least `shards`.
   * @default none (no bound)
   */
  maxEntries?: number;
  /**
   * Cache: most key + value bytes (encoded, as maxKeyBytes / maxValueBytes
   * count them) of live entries; each shard gets maxBytes / shards, and an
   * entry larger than that is refused (`ERR_SHARDEDMAP_ENTRY_TOO_LARGE`).
   * Without maxEntries, the cache also holds at most maxBytes / 64 entries.
   * From `shards` to 2^32 - 1 and at most maxMemory.
   * @default none (no bound)
   */
  maxBytes?: number;
  /**
   * Cache: default time to live of a stored value, in milliseconds (writes
   * may give their own `ttl`). 0 or Infinity: values do not expire.
   * @default 0
   */
  ttl?: number;
  /**
   * The clock ttl counts on: milliseconds since the Unix epoch. Every
   * instance of a map must use the same clock (the default is the wall
   * clock, which all workers share). For tests and simulations. Per
   * instance.
   * @default Date.now
   */
  clock?: () => number;
  /**
   * Cache: this instance's default for `fetch`'s `staleWhileRevalidate`
   * (ms after a value's ttl during which fetch returns it stale while one
   * caller refreshes it). Per instance: pass it to `attach` too. 0: off.
   * @default 0
   */
  staleWhileRevalidate?: number;
  /**
   * Cache: this instance's default for `fetch`'s `staleIfError` (ms after
   * a value's ttl during which a failed load returns it instead of
   * rejecting). Per instance. 0: off.
   * @default 0
   */
  staleIfError?: number;
  /**
   * Cache: this instance's default for `fetch`'s `negativeTtl` (ms a
   * loader's `undefined` is cached). Per instance. 0: off.
   * @default 0
   */
  negativeTtl?: number;
}

/** Options of `ShardedMap.attach`: the per-instance options of `create`. */
export interface AttachOptions {
  /** See `CreateOptions.lockTimeout`. @default 5000 */
  lockTimeout?: number;
  /** See `CreateOptions.decodedCache`. @default 4096 */
  decodedCache?: number;
  /** See `CreateOptions.clock`. @default Date.now */
  clock?: () => number;
  /** See `CreateOptions.staleWhileRevalidate`. @default 0 */
  staleWhileRevalidate?: number;
  /** See `CreateOptions.staleIfError`. @default 0 */
  staleIfError?: number;
  /** See `CreateOptions.negativeTtl`. @default 0 */
  negativeTtl?: number;
}

/** An instance's defaults for fetch's stale windows and negativeTtl (ms,
 *  0: off). */
export interface FetchDefaults {
  staleWhileRevalidate: number;
  staleIfError: number;
  negativeTtl: number;
}

/** The per-instance options, resolved. */
export interface InstanceOptions {
  lockTimeout: number;
  decodedCache: number;
  clock: () => number;
  fetchDefaults: FetchDefaults;
}

const FETCH_DEFAULTS = ['staleWhileRevalidate', 'staleIfError', 'negativeTtl'] as const;

/** The fetch defaults among the options: finite ms >= 0. */
function fetchDefaultsOption(o: Record<string, unknown>): FetchDefaults {
  const d: FetchDefaults = { staleWhileRevalidate: 0, staleIfError: 0, negativeTtl: 0 };
  for (const name of FETCH_DEFAULTS) {
    const v = o[name];
    if (v === undefined) continue;
    if (typeof v !== 'number' || Number.isNaN(v)) invalid('type', `${name} option must be a number of milliseconds, got ${String(v)}`);
    if (!(v >= 0 && v < Infinity)) invalid('range', `${name} option must be a finite number of milliseconds >= 0 (0: off), got ${v}`);
    d[name] = v;
  }
  return d;
}

export interface ResolvedCreateOptions extends InstanceOptions {
  shards: number;
  initialCapacity: number;
  /** Entries each shard is sized for up front (from initialCapacity). */
  perShard: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  maxPages: number;
  maxWorkers: number;
  seed: bigint | undefined;
  debugRing: number;
  /** A cache (any of maxEntries, maxBytes, ttl given). */
  cache: boolean;
  /** 0: no bound. */
  maxEntries: number;
  maxBytes: number;
  /** Default ttl in ms, 0: none. */
  ttl: number;
}

function invalid(kind: 'type' | 'range', message: string): never {
  if (kind === 'type') throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, message);
  throw new ShardedMapRangeError(ErrorCode.INVALID_OPTION, message);
}

function integer(options: Record<string, unknown>, name: string, dflt: number, min: number, max: number): number {
  const v = options[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) invalid('type', `${name} option must be an integer, got ${String(v)}`);
  if (v < min || v > max) invalid('range', `${name} option must be from ${min} to ${max}, got ${v}`);
  return v;
}

function checkObject(options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalid('type', 'options must be an object');
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) invalid('type', `unknown option ${k}; known options: ${known.join(', ')}`);
  }
  return options as Record<string, unknown>;
}

export function lockTimeoutOption(options: Record<string, unknown>): number {
  const v = options.lockTimeout;
  if (v === undefined) return 5000;
  if (typeof v !== 'number' || Number.isNaN(v)) invalid('type', `lockTimeout option must be a number of milliseconds, got ${String(v)}`);
  if (v < 0) invalid('range', `lockTimeout option must be >= 0, got ${v}`);
  return v;
}

/** Entries to size each shard for, so that `total` entries spread by a
 *  random hash over `shards` shards fit without a resize: the mean plus
 *  4 standard deviations of the binomial count (a shard goes past it with
 *  odds below 1 in 30,000). */
function perShardCapacity(total: number, shards: number): number {
  if (total === 0) return 0;
  const mean = total / shards;
  return Math.ceil(mean + 4 * Math.sqrt(mean * (1 - 1 / shards)));
}

/** Shared memory a cache needs per byte of maxBytes. Measured, 16 MiB
 *  maxBytes, 400K stores each: 50-150-byte strings committed 2.95x
 *  maxBytes (2.83x without the creator's 2 MiB scratch area), 10-30-byte
 *  strings 2.63-2.95x, 200-1000-byte 2.34x, a mixed churn with deletes and
 *  3 KB values 2.34x; with maxMemory at 2x and 2.5x the first kind threw
 *  MEMORY_FULL from store 102K and 142K on. */
export const CACHE_MEMORY_PER_BYTE = 3.5;

/** The default maxKeyBytes (also the near cache's, which skips the L1 for
 *  longer keys). */
export const DEFAULT_MAX_KEY_BYTES = 1024;

/** A ttl (option or write option): ms >= 0; 0 and Infinity mean none (0). */
export function ttlValue(v: unknown, what: string): number {
  if (typeof v !== 'number' || Number.isNaN(v)) invalid('type', `${what} must be a number of milliseconds, got ${String(v)}`);
  if (v < 0) invalid('range', `${what} must be >= 0 (0 or Infinity: no expiry), got ${v}`);
  return v === Infinity ? 0 : v;
}

/** The clock option: a function (its results are checked on every call,
 *  see map.ts). */
function clockOption(o: Record<string, unknown>): () => number {
  const v = o.clock;
  if (v === undefined) return Date.now;
  if (typeof v !== 'function') invalid('type', `clock option must be a function returning milliseconds since the Unix epoch, got ${typeof v}`);
  return v as () => number;
}

/** Shards a cache gets by default: at least this many entries each (per-
 *  shard S3-FIFO at 32+ entries per shard is within 0.1 point of one
 *  global queue on the hit-ratio traces; at 3 it loses 4 points). */
const MIN_CACHE_ENTRIES_PER_SHARD = 64;

/** The decodedCache option: 0, or a power of two from 4 to 2^20 (four-way
 *  sets). */
function decodedCacheOption(o: Record<string, unknown>): number {
  const v = integer(o, 'decodedCache', 4096, 0, 1 << 20);
  if ((v > 0 && v < 4) || (v & (v - 1)) !== 0) invalid('range', `decodedCache option must be 0 or a power of two >= 4, got ${v}`);
  return v;
}

export function resolveCreateOptions(raw: unknown): ResolvedCreateOptions {
  const o = checkObject(raw, [
    'shards', 'initialCapacity', 'maxKeyBytes', 'maxValueBytes', 'maxMemory', 'maxWorkers', 'lockTimeout', 'seed',
    'debugRing', 'decodedCache', 'maxEntries', 'maxBytes', 'ttl', 'clock', ...FETCH_DEFAULTS,
  ]);
  const debugRing = integer(o, 'debugRing', 0, 0, MAX_DEBUG_ENTRIES);
  if ((debugRing & (debugRing - 1)) !== 0) invalid('range', `debugRing option must be 0 or a power of two, got ${debugRing}`);
  const maxMemory = integer(o, 'maxMemory', 1 << 30, 1 << 20, 65535 * PAGE_BYTES);
  const cache = o.maxEntries !== undefined || o.maxBytes !== undefined || o.ttl !== undefined;
  const maxEntries = integer(o, 'maxEntries', 0, 1, 2 ** 32 - 1);
  const maxBytes = integer(o, 'maxBytes', 0, 1, Math.min(2 ** 32 - 1, maxMemory));
  const ttl = o.ttl === undefined ? 0 : ttlValue(o.ttl, 'ttl option');
  const bound = maxEntries || Math.floor(maxBytes / IMPLIED_ENTRY_BYTES);
  const perShard = Math.min(256, Math.max(1, bound / MIN_CACHE_ENTRIES_PER_SHARD));
  const shards = integer(o, 'shards', bound > 0 ? 2 ** Math.floor(Math.log2(perShard)) : 256, 1, MAX_SHARDS);
  if ((shards & (shards - 1)) !== 0) invalid('range', `shards option must be a power of two, got ${shards}`);
  if (maxEntries > 0 && maxEntries < shards) invalid('range', `maxEntries option must be at least shards (${shards}), got ${maxEntries}`);
  if (maxBytes > 0 && maxBytes < shards) invalid('range', `maxBytes option must be at least shards (${shards}), got ${maxBytes}`);
  const maxValueBytes = integer(o, 'maxValueBytes', 1 << 20, 8, cache ? MAX_CACHE_VALUE_BYTES : MAX_VALUE_BYTES_LIMIT);
  // A cache full to maxBytes must fit its memory, or its stores would fail
  // for lack of memory instead of evicting.
  const needed = Math.ceil(maxBytes * CACHE_MEMORY_PER_BYTE) + 2 * maxValueBytes;
  if (maxBytes > 0 && maxMemory < needed) {
    invalid('range', `maxBytes option ${maxBytes} needs maxMemory of at least ${needed} (${CACHE_MEMORY_PER_BYTE}x maxBytes: tables, heap slack and eviction state, plus the creator's scratch area), got ${maxMemory}; raise maxMemory or lower maxBytes`);
  }
  if (o.seed !== undefined && typeof o.seed !== 'bigint') invalid('type', 'seed option must be a bigint');
  if (typeof o.seed === 'bigint' && (o.seed < 0n || o.seed >= 1n << 64n)) invalid('range', `seed option must be from 0n to 2n ** 64n - 1n, got ${o.seed}`);
  const initialCapacity = integer(o, 'initialCapacity', 0, 0, 2 ** 31);
  return {
    shards,
    initialCapacity,
    perShard: perShardCapacity(initialCapacity, shards),
    maxKeyBytes: integer(o, 'maxKeyBytes', DEFAULT_MAX_KEY_BYTES, 2, MAX_KEY_BYTES_LIMIT),
    maxValueBytes,
    maxPages: Math.ceil(maxMemory / PAGE_BYTES),
    maxWorkers: integer(o, 'maxWorkers', 64, 1, MAX_OWNERS),
    lockTimeout: lockTimeoutOption(o),
    decodedCache: decodedCacheOption(o),
    seed: o.seed as bigint | undefined,
    debugRing,
    clock: clockOption(o),
    fetchDefaults: fetchDefaultsOption(o),
    cache,
    maxEntries,
    maxBytes,
    ttl,
  };
}

export function resolveAttachOptions(raw: unknown): InstanceOptions {
  const o = checkObject(raw, ['lockTimeout', 'decodedCache', 'clock', ...FETCH_DEFAULTS]);
  return {
    lockTimeout: lockTimeoutOption(o), decodedCache: decodedCacheOption(o), clock: clockOption(o),
    fetchDefaults: fetchDefaultsOption(o),
  };
}
