/**
 * `shardedmap/redis`: a shardedmap cache as the near-cache (L1) of every
 * worker of a process, in front of Redis, kept coherent by Redis's
 * server-assisted invalidation (client tracking).
 *
 * One process = one L1 (a cache map in shared memory) and one tracking
 * connection, owned by the instance `createNearCache` makes (usually the
 * main thread): `CLIENT TRACKING ON BCAST NOLOOP PREFIX ...` on a RESP3
 * connection, so Redis pushes the name of every key under the prefixes
 * that anyone writes; each push deletes the key from the L1, where every
 * worker sees it at once. Workers `attachNearCache(handle)`: the same L1,
 * and their own data connection for misses and writes.
 *
 * Coherence. A fill (a miss read from Redis) must not install a value that
 * an invalidation has overtaken. The filler puts a ticket (24 bytes: a
 * random 16-byte mark of this process's near cache, then a count) into the
 * L1 first, then reads Redis, then swaps the ticket for the decoded value
 * with compareAndSwap: an invalidation that arrived meanwhile deleted the
 * ticket,
 * so the swap fails and nothing stale is installed. Anything that casts
 * doubt on the invalidation stream (the tracking connection's error or
 * close, a reconnect, a FLUSHALL/FLUSHDB push) flushes the whole L1 and
 * turns it off (reads go to Redis) until tracking is armed again; a shared
 * epoch, bumped at each flush, stops fills that straddle one.
 *
 * The other callers of a key being filled wait for the filler (single
 * flight across workers) on a shared word, up to `commandTimeout`.
 *
 * Values are stored in Redis as MessagePack (msgpackr, plain data: the
 * format is the MessagePack spec, readable by any MessagePack library:
 * Python msgpack, Go vmihailenco/msgpack, Java msgpack-core, Rust rmp...).
 *
 * @redis/client (node-redis) is an optional peer dependency: only this
 * export needs it.
 */
import { createClient, RESP_TYPES } from '@redis/client';
import { ShardedMap } from '../map/map.js';
import { pack, LONE_SURROGATE } from '../codec/msgpack.js';
import { DEFAULT_MAX_KEY_BYTES } from '../base/options.js';
import { ErrorCode, ShardedMapError, ShardedMapTypeError } from '../base/errors.js';
import { SOCKET_TIMEOUT_PINGS, reconnectStrategy, redisError, invalidOption, positive, withTimeout, decode, checkKey, type Client } from './redis-shared.js';
import { createClusterNearCache, connectClusterData } from './redis-cluster.js';
import type { ClusterTrackers } from './redis-trackers.js';
import type { NearCacheOptions, NearCacheHandle, NearCacheStats, NearCache } from './redis-types.js';

// ---- the shared coherence words (Int32Array over handle.state) ------------------
/** 1 while tracking is armed and nothing has cast doubt on it. */
const STATE_UP = 0;
/** Bumped at every flush, loss and re-arm: a fill that saw another value
 *  before its ticket went in does not install. */
const STATE_EPOCH = 1;
/** Bumped (and notified) whenever a fill ends: its waiters look again. */
const STATE_FILLS = 2;
const STATE_INVALIDATIONS = 3;
const STATE_FLUSHES = 4;
const STATE_WORDS = 8;
/** A ticket: the mark, then owner id and count (u32 each). */
const MARK_BYTES = 16;
const TICKET_BYTES = MARK_BYTES + 8;

const PING_INTERVAL_MAX = Math.floor((2 ** 31 - 1) / SOCKET_TIMEOUT_PINGS);
const DEFAULTS = { url: 'redis://127.0.0.1:6379', ttl: 60_000, maxEntries: 100_000, commandTimeout: 2000, pingInterval: 1000 };

/**
 * The process's near cache: creates the L1 and arms tracking (resolves once
 * it is armed, or rejects with `ERR_SHARDEDMAP_REDIS` if Redis cannot be
 * reached within `commandTimeout`).
 */
export async function createNearCache(options: NearCacheOptions): Promise<NearCache> {
  if (typeof options !== 'object' || options === null) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'createNearCache: options must be an object like { url, prefixes }');
  }
  const { prefixes } = options;
  if (!Array.isArray(prefixes) || prefixes.length === 0 || !prefixes.every((p) => typeof p === 'string' && p.length > 0)) {
    invalidOption('prefixes option must be a non-empty array of non-empty strings (the key prefixes the L1 caches)');
  }
  // Redis refuses BCAST prefixes of which one starts another (and then
  // tracking would be off for good): one prefix covers both.
  for (const p of prefixes) {
    if (LONE_SURROGATE.test(p)) invalidOption(`prefixes: ${JSON.stringify(p)} has a lone surrogate (Redis keys are UTF-8)`);
    const q = prefixes.find((o) => o !== p && o.startsWith(p));
    if (q !== undefined || prefixes.indexOf(p) !== prefixes.lastIndexOf(p)) {
      invalidOption(`prefixes: ${JSON.stringify(p)} overlaps ${JSON.stringify(q ?? p)} (Redis refuses overlapping tracking prefixes); keep the shorter one`);
    }
  }
  const url = options.url ?? DEFAULTS.url;
  if (typeof url !== 'string') invalidOption('url option must be a string like redis://127.0.0.1:6379');
  const ttl = positive(options.ttl, 'ttl', DEFAULTS.ttl);
  const commandTimeout = positive(options.commandTimeout, 'commandTimeout', DEFAULTS.commandTimeout);
  const pingInterval = positive(options.pingInterval, 'pingInterval', DEFAULTS.pingInterval);
  if (pingInterval > PING_INTERVAL_MAX) invalidOption(`pingInterval option must be at most ${PING_INTERVAL_MAX} ms, got ${pingInterval}`);
  const map = await ShardedMap.create({
    maxEntries: options.maxEntries ?? (options.maxBytes === undefined ? DEFAULTS.maxEntries : undefined),
    maxBytes: options.maxBytes,
    ttl,
    ...(options.maxKeyBytes !== undefined ? { maxKeyBytes: options.maxKeyBytes } : {}),
    ...(options.maxMemory !== undefined ? { maxMemory: options.maxMemory } : {}),
    ...(options.maxValueBytes !== undefined ? { maxValueBytes: options.maxValueBytes } : {}),
    ...(options.maxWorkers !== undefined ? { maxWorkers: options.maxWorkers } : {}),
    ...(options.shards !== undefined ? { shards: options.shards } : {}),
  });
  const handle: NearCacheHandle = {
    map: map.handle, state: new SharedArrayBuffer(STATE_WORDS * 4), mark: crypto.getRandomValues(new Uint8Array(MARK_BYTES)),
    url, prefixes: [...prefixes], ttl, commandTimeout, maxKeyBytes: options.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES,
  };
  const onInvalidate = options.onInvalidate;
  if (onInvalidate !== undefined && typeof onInvalidate !== 'function') invalidOption('onInvalidate option must be a function');
  if (options.cluster !== undefined) return createClusterNearCache(map, handle, options, pingInterval, onInvalidate, (h) => new Near(map, h));
  const near = new Near(map, handle);
  try {
    await near.connect();
    await near.track(pingInterval, onInvalidate);
  } catch (e) {
    await near.close();
    throw e instanceof ShardedMapError ? e : redisError('connect', e);
  }
  return near;
}

/** A worker's near cache: the process's L1 (from `handle`) and a data
 *  connection of its own. */
export async function attachNearCache(handle: NearCacheHandle): Promise<NearCache> {
  if (typeof handle !== 'object' || handle === null || !(handle.state instanceof SharedArrayBuffer)) {
    throw new ShardedMapError(ErrorCode.BAD_HANDLE, 'attachNearCache: not a near cache handle; pass near.handle from createNearCache');
  }
  const near = new Near(await ShardedMap.attach(handle.map), handle);
  try {
    await near.connect();
  } catch (e) {
    await near.close();
    throw e instanceof ShardedMapError ? e : redisError('connect', e);
  }
  return near;
}

class Near implements NearCache {
  readonly handle: NearCacheHandle;
  readonly #map: ShardedMap<unknown>;
  /** The process's ticket mark (handle.mark). */
  readonly #mark: Uint8Array;
  readonly #state: Int32Array;
  #data: Client | undefined;
  #tracker: Client | undefined;
  #tickets = 0;
  #closed = false;
  readonly #count = { l1Hits: 0, l1Misses: 0, bypasses: 0, fills: 0, fillsDropped: 0 };
  /** The creator's per-master tracking connections, in a cluster
   *  (redis-cluster.ts sets it). */
  trackers: ClusterTrackers | undefined;

  constructor(map: ShardedMap<unknown>, handle: NearCacheHandle) {
    this.#map = map;
    this.handle = handle;
    this.#mark = new Uint8Array(handle.mark);
    this.#state = new Int32Array(handle.state);
  }

  get tracking(): boolean {
    return Atomics.load(this.#state, STATE_UP) === 1;
  }

  get connected(): boolean {
    return this.#data?.isReady === true;
  }

  /** The data connection: misses and writes. While it reconnects,
   *  commands wait for it, and every command fails after commandTimeout. */
  async connect(): Promise<void> {
    if (this.handle.cluster !== undefined) {
      this.#data = await connectClusterData(this.handle);
      return;
    }
    const c = createClient({
      url: this.handle.url,
      socket: { reconnectStrategy, connectTimeout: this.handle.commandTimeout },
      commandOptions: { timeout: this.handle.commandTimeout, typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
    });
    c.on('error', () => {}); // reported by the commands that fail
    this.#data = c as unknown as Client;
    await withTimeout(c.connect(), this.handle.commandTimeout, 'connect');
  }

  /** The creator's tracking connection: RESP3, BCAST on the prefixes,
   *  re-armed on every (re)connect; the L1 is flushed and off whenever the
   *  stream of invalidations may have a gap. */
  async track(pingInterval: number, onInvalidate?: (key: string | null) => void): Promise<void> {
    const t = createClient({
      url: this.handle.url,
      RESP: 3,
      emitInvalidate: true,
      disableOfflineQueue: true,
      pingInterval,
      socket: { reconnectStrategy, connectTimeout: this.handle.commandTimeout, socketTimeout: Math.max(SOCKET_TIMEOUT_PINGS * pingInterval, 1000) },
    });
    const tracker = t as unknown as Client;
    this.#tracker = tracker;
    t.on('error', () => this.#doubt());
    t.on('end', () => this.#doubt());
    t.on('reconnecting', () => this.#doubt());
    t.on('invalidate', (key: Buffer | null) => {
      if (key === null) {
        // FLUSHALL / FLUSHDB: every key may have changed. Tracking stays on;
        // fills in flight lose their tickets with the flush.
        this.#flush();
        onInvalidate?.(null);
        return;
      }
      Atomics.add(this.#state, STATE_INVALIDATIONS, 1);
      const k = key.toString();
      try {
        this.#map.delete(k);
      } catch {
        // closed
      }
      onInvalidate?.(k);
    });
    let armed!: () => void;
    const first = new Promise<void>((resolve) => (armed = resolve));
    t.on('ready', () => {
      void this.#arm(tracker).then(() => armed());
    });
    await withTimeout(t.connect(), this.handle.commandTimeout, 'connect (tracking)');
    await withTimeout(first, this.handle.commandTimeout, 'CLIENT TRACKING');
  }

  /** Switch the connection to BCAST tracking of the prefixes (the client's
   *  own handshake turned default-mode tracking on), then flush and open
   *  the L1. */
  async #arm(t: Client): Promise<void> {
    try {
      await t.sendCommand(['CLIENT', 'TRACKING', 'OFF']);
      await t.sendCommand(['CLIENT', 'TRACKING', 'ON', 'BCAST', 'NOLOOP', ...this.handle.prefixes.flatMap((p) => ['PREFIX', p])]);
    } catch {
      return; // the connection failed again: 'ready' comes back with it
    }
    if (this.#closed) return;
    this.#flush();
    Atomics.store(this.#state, STATE_UP, 1);
  }

  /** For the cluster trackers (redis-cluster.ts): a key one of them was
   *  told of (null: flush the L1); the stream may have a gap (doubt); every
   *  master is tracked again (open). */
  invalidated(key: string | null): void {
    if (key === null) return this.#flush();
    Atomics.add(this.#state, STATE_INVALIDATIONS, 1);
    try {
      this.#map.delete(key);
    } catch {
      // closed
    }
  }

  doubt(): void {
    this.#doubt();
  }

  open(): void {
    if (this.#closed) return;
    this.#flush();
    Atomics.store(this.#state, STATE_UP, 1);
  }

  /** The invalidation stream may have a gap: L1 off, then emptied. */
  #doubt(): void {
    Atomics.add(this.#state, STATE_EPOCH, 1);
    Atomics.store(this.#state, STATE_UP, 0);
    this.#flush();
  }

  #flush(): void {
    Atomics.add(this.#state, STATE_EPOCH, 1);
    Atomics.add(this.#state, STATE_FLUSHES, 1);
    try {
      this.#map.clear();
    } catch {
      // closed: nothing to flush
    }
    this.#wakeWaiters();
  }

  /** Does the L1 cache `key`: under a prefix, and short enough for it? */
  #cacheable(key: string): boolean {
    return this.handle.prefixes.some((p) => key.startsWith(p)) && 1 + Buffer.byteLength(key) <= this.handle.maxKeyBytes;
  }

  #client(): Client {
    if (this.#closed || !this.#data) throw new ShardedMapError(ErrorCode.CLOSED, 'this near cache is closed');
    return this.#data;
  }

  peek(key: string): unknown {
    checkKey(key, 'peek');
    if (this.#closed) throw new ShardedMapError(ErrorCode.CLOSED, 'this near cache is closed');
    if (!this.#cacheable(key) || !this.tracking) return undefined;
    const v = this.#map.get(key);
    if (v === undefined || this.#isTicket(v)) return undefined;
    this.#count.l1Hits++;
    return v;
  }

  async get(key: string): Promise<unknown> {
    checkKey(key, 'get');
    const client = this.#client();
    if (!this.#cacheable(key) || !this.tracking) {
      this.#count.bypasses++;
      return decode(key, (await this.#read(client, key)).bytes);
    }
    const deadline = Date.now() + this.handle.commandTimeout;
    for (;;) {
      const v = this.#map.get(key);
      if (v !== undefined && !this.#isTicket(v)) {
        this.#count.l1Hits++;
        return v;
      }
      if (v !== undefined) {
        // Another caller is filling this key: wait for it, a while.
        if (Date.now() < deadline) {
          await this.#waitFill(Atomics.load(this.#state, STATE_FILLS));
          continue;
        }
        this.#count.bypasses++;
        return decode(key, (await this.#read(client, key)).bytes);
      }
      const epoch = Atomics.load(this.#state, STATE_EPOCH);
      const ticket = this.#ticket();
      // The ticket lives at most as long as a command may: a filler that
      // dies leaves nothing behind for long.
      let taken: boolean;
      try {
        taken = this.#map.loadOrStore(key, ticket, { ttl: 2 * this.handle.commandTimeout }).loaded;
      } catch {
        // No room for the ticket (an entry over the L1 shard's byte share):
        // served from Redis, not cached.
        this.#count.bypasses++;
        return decode(key, (await this.#read(client, key)).bytes);
      }
      if (taken) continue;
      this.#count.l1Misses++;
      if (!this.tracking || Atomics.load(this.#state, STATE_EPOCH) !== epoch) {
        this.#map.compareAndDelete(key, ticket);
        this.#count.bypasses++;
        return decode(key, (await this.#read(client, key)).bytes);
      }
      let got: { bytes: Uint8Array | null; pttl: number };
      try {
        got = await this.#read(client, key);
      } catch (e) {
        this.#map.compareAndDelete(key, ticket);
        this.#wakeWaiters();
        throw e;
      }
      let value: unknown;
      try {
        value = decode(key, got.bytes);
      } catch (e) {
        this.#map.compareAndDelete(key, ticket);
        this.#wakeWaiters();
        throw e;
      }
      if (value === undefined) {
        // Absent keys (and stored undefineds) are not cached.
        this.#map.compareAndDelete(key, ticket);
      } else {
        // Never longer than the key lives in Redis (-1: no expiry there;
        // 0 or -2: it expires this millisecond, or already did: not cached).
        const ttl = got.pttl === -1 ? this.handle.ttl : got.pttl > 0 ? Math.min(this.handle.ttl, got.pttl) : 0;
        if (ttl === 0) {
          this.#map.compareAndDelete(key, ticket);
          this.#wakeWaiters();
          return value;
        }
        try {
          if (this.#map.compareAndSwap(key, ticket, value, { ttl })) this.#count.fills++;
          else this.#count.fillsDropped++; // invalidated (or flushed) meanwhile
        } catch {
          // Too large for the L1, say: served, not cached.
          this.#map.compareAndDelete(key, ticket);
        }
      }
      this.#wakeWaiters();
      return value;
    }
  }

  async set(key: string, value: unknown, options?: { ttl?: number }): Promise<void> {
    checkKey(key, 'set');
    const ttl = options?.ttl;
    if (ttl !== undefined && (typeof ttl !== 'number' || !(ttl >= 0) || !Number.isInteger(ttl))) {
      invalidOption(`ttl option must be a whole number of milliseconds >= 0 (0: no expiry), got ${String(ttl)}`);
    }
    const client = this.#client();
    let bytes: Buffer;
    try {
      if (typeof value === 'symbol' || typeof value === 'function') throw new TypeError(`a ${typeof value}`);
      bytes = Buffer.from(pack(value as object));
    } catch (e) {
      throw new ShardedMapTypeError(ErrorCode.VALUE_TYPE, `near cache: this value cannot be encoded as MessagePack (${(e as Error).message}); store plain data`);
    }
    try {
      await client.set(key, bytes, ttl ? { expiration: { type: 'PX', value: ttl } } : undefined);
    } catch (e) {
      throw redisError('SET', e);
    } finally {
      // Read-your-writes in this process at once (the invalidation follows).
      if (this.#cacheable(key)) this.#map.delete(key);
    }
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key, 'delete');
    const client = this.#client();
    try {
      return (await client.del(key)) > 0;
    } catch (e) {
      throw redisError('DEL', e);
    } finally {
      if (this.#cacheable(key)) this.#map.delete(key);
    }
  }

  stats(): NearCacheStats {
    return {
      ...this.#count,
      invalidations: Atomics.load(this.#state, STATE_INVALIDATIONS),
      flushes: Atomics.load(this.#state, STATE_FLUSHES),
      tracking: this.tracking,
      l1: this.#map.stats(),
      ...this.trackers?.stats(),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#tracker || this.trackers) {
      Atomics.store(this.#state, STATE_UP, 0);
      Atomics.add(this.#state, STATE_EPOCH, 1);
    }
    await this.trackers?.close();
    // A graceful close waits for queued commands; while a connection is
    // down, those wait for a reconnect that may not come: after
    // commandTimeout the connection is dropped instead.
    await Promise.all([this.#data, this.#tracker].map(async (c) => {
      if (!c?.isOpen) return;
      try {
        await withTimeout(c.close(), this.handle.commandTimeout, 'close');
      } catch {
        c.destroy();
      }
    }));
    this.#map.close();
  }

  /** GET and PTTL, pipelined (one round trip). */
  async #read(client: Client, key: string): Promise<{ bytes: Uint8Array | null; pttl: number }> {
    try {
      const [bytes, pttl] = await Promise.all([client.get(key), client.pTTL(key)]);
      return { bytes: bytes === null ? null : new Uint8Array(bytes as unknown as Buffer), pttl: Number(pttl) };
    } catch (e) {
      throw redisError('GET', e);
    }
  }

  /** A ticket no other fill of this process uses: the process's mark,
   *  this instance's owner id and a count. */
  #ticket(): Uint8Array {
    const t = new Uint8Array(TICKET_BYTES);
    t.set(this.#mark);
    const view = new DataView(t.buffer);
    view.setUint32(MARK_BYTES, this.#map.owner);
    view.setUint32(MARK_BYTES + 4, ++this.#tickets);
    return t;
  }

  /** Is this L1 value a fill's ticket (not data)? A data value that is a
   *  Uint8Array of the same length and mark has a 2^-128 chance. */
  #isTicket(v: unknown): boolean {
    if (!(v instanceof Uint8Array) || v.length !== TICKET_BYTES) return false;
    for (let i = 0; i < MARK_BYTES; i++) if (v[i] !== this.#mark[i]) return false;
    return true;
  }

  #wakeWaiters(): void {
    Atomics.add(this.#state, STATE_FILLS, 1);
    Atomics.notify(this.#state, STATE_FILLS);
  }

  /** Sleep until a fill ends (or 20 ms pass). */
  async #waitFill(seen: number): Promise<void> {
    const waitAsync = (Atomics as unknown as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<string> | string } }).waitAsync;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = new Promise((resolve) => (timer = setTimeout(resolve, 20)));
    const r = waitAsync?.(this.#state, STATE_FILLS, seen, 20);
    await (r && r.async ? Promise.race([r.value, tick]) : tick);
    clearTimeout(timer);
  }
}
