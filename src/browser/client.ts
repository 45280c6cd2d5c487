/**
 * The client half of the browser cache: `connectSharedCache(url)` connects a
 * tab (or a worker) to the SharedWorker at `url` (the `shardedmap/shared-worker`
 * script), and gives an async API mirroring the map's single-key API.
 * Requests issued in the same tick travel as one message; tabs of one origin
 * share the cache and see each other's writes. Where SharedWorker does not
 * exist (Chrome on Android) it starts a dedicated worker instead: the cache
 * is then per tab.
 *
 * Every call settles: with the map's result, or a rejection with a typed
 * error whose `code` is the map's (a bad key is ERR_SHARDEDMAP_KEY_TYPE here
 * as there), ERR_SHARDEDMAP_WORKER_FAILED when the worker cannot start or
 * dies, or ERR_SHARDEDMAP_TIMEOUT when no reply came within `timeout`. A bad
 * request fails alone: the others sent in the same tick go on.
 */
import type { CacheOp, CacheReply, CacheRequest, ErrorReply, RangeChunk } from './protocol.js';
import { ShardedMapError, ShardedMapRangeError, ShardedMapTypeError, ErrorCode, type ErrorCodeValue } from '../base/errors.js';
import type { Key } from '../map/map.js';
import type { LoadResult, LoadOrStoreResult, SwapResult } from '../map/map.js';
import type { MapStats } from '../map/map.js';

/** Options of `connectSharedCache`. */
export interface SharedCacheOptions {
  /** Milliseconds to wait for each reply before rejecting it with
   *  `ERR_SHARDEDMAP_TIMEOUT` (the worker may be stuck or gone). 0: no limit.
   *  @default 30000 */
  timeout?: number;
}

/** Options of the client's writes: when the worker's map is a cache (its
 *  script URL gave ttl, maxEntries or maxBytes), how long the value lives
 *  (ms; 0 or Infinity: forever; default the cache's ttl). */
export interface SharedCacheWriteOptions {
  ttl?: number;
}

/**
 * The client of a cache worker. `V` is the type of the values stored, as in
 * `ShardedMap<V>` (default `unknown`): `connectSharedCache<User>(url)`. It is
 * not checked at run time: the values are whatever the tabs of the origin
 * stored.
 */
export interface SharedCache<V = unknown> {
  load(key: Key): Promise<V | undefined>;
  /** `Map#get`: the same as `load`. */
  get(key: Key): Promise<V | undefined>;
  loadNumber(key: Key, fallback?: number): Promise<number>;
  has(key: Key): Promise<boolean>;
  store(key: Key, value: V, options?: SharedCacheWriteOptions): Promise<void>;
  /** `Map#set`: the same as `store`. */
  set(key: Key, value: V, options?: SharedCacheWriteOptions): Promise<void>;
  storeNumber(key: Key, value: number, options?: SharedCacheWriteOptions): Promise<void>;
  tryStore(key: Key, value: V, options?: SharedCacheWriteOptions): Promise<boolean>;
  delete(key: Key): Promise<boolean>;
  loadOrStore(key: Key, value: V, options?: SharedCacheWriteOptions): Promise<LoadOrStoreResult<V>>;
  loadAndDelete(key: Key): Promise<LoadResult<V>>;
  swap(key: Key, value: V, options?: SharedCacheWriteOptions): Promise<SwapResult<V>>;
  compareAndSwap(key: Key, expected: V, next: V, options?: SharedCacheWriteOptions): Promise<boolean>;
  compareAndDelete(key: Key, expected: V): Promise<boolean>;
  /** The map's `getMany`: many loads in one request (and one batch read
   *  in the worker). */
  getMany(keys: readonly Key[]): Promise<(V | undefined)[]>;
  /** The map's `loadNumbers`: `fallback` where a key is absent. */
  loadNumbers(keys: readonly Key[], fallback?: number): Promise<Float64Array>;
  size(): Promise<number>;
  clear(): Promise<void>;
  /** The worker's map's `stats()`: counters (hits, misses, evictions,
   *  expirations...), entries, and for a cache its bounds and bytes. */
  stats(): Promise<MapStats>;
  /** Every entry, fetched in chunks of whole shards (each shard a
   *  consistent snapshot). */
  range(): AsyncIterableIterator<[Key, V]>;
  /** Messages sent so far (each carries every request of one tick). */
  readonly messagesSent: number;
  /** True if this is a per-tab dedicated worker (no SharedWorker here). */
  readonly dedicated: boolean;
  /** Disconnect; pending and later calls reject with ERR_SHARDEDMAP_CLOSED. */
  close(): void;
}

/** How often pending requests are checked against their deadline: one
 *  timer for all of them, not one per request. */
const DEADLINE_TICK_MS = 250;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  deadline: number;
}

function typedError(r: ErrorReply): Error {
  const code = (r.code ?? ErrorCode.INTERNAL) as ErrorCodeValue;
  const err = r.name === 'ShardedMapTypeError' || r.name === 'TypeError' ? new ShardedMapTypeError(code, r.message)
    : r.name === 'ShardedMapRangeError' || r.name === 'RangeError' ? new ShardedMapRangeError(code, r.message)
      : new ShardedMapError(code, r.message);
  if (r.name === 'LockTimeoutError') err.name = r.name;
  return err;
}

/** The map's key check, done here so a bad key fails before it is sent. */
function keyProblem(key: unknown): Error | undefined {
  if (typeof key === 'string' || typeof key === 'number' || typeof key === 'bigint' || key instanceof Uint8Array) return undefined;
  const what = key === null ? 'null' : typeof key === 'object' ? `an object (${Object.prototype.toString.call(key).slice(8, -1)})` : `a ${typeof key}`;
  return new ShardedMapTypeError(ErrorCode.KEY_TYPE, `a key must be a string, number, bigint or Uint8Array, not ${what}`);
}

/** Write options, checked here so a bad one fails before it is sent; what
 *  is sent is `{ ttl }` alone. */
function writeOptionsProblem(o: unknown): Error | undefined {
  if (o === undefined) return undefined;
  if (typeof o !== 'object' || o === null) return new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'write options must be an object like { ttl }');
  const ttl = (o as { ttl?: unknown }).ttl;
  if (ttl !== undefined && (typeof ttl !== 'number' || !(ttl >= 0))) {
    return new ShardedMapRangeError(ErrorCode.INVALID_OPTION, `ttl option must be a number of milliseconds >= 0, got ${String(ttl)}`);
  }
  return undefined;
}

/** The problem `check` finds, or the typed error (`code`) for what it
 *  threw: a key or an options object whose inspection throws (a revoked
 *  proxy, a throwing getter) rejects like any bad input, never throws. */
function checked(check: () => Error | undefined, code: string): Error | undefined {
  try {
    return check();
  } catch (e) {
    return new ShardedMapTypeError(code as never, `this argument cannot be inspected (${(e as Error)?.message ?? String(e)})`);
  }
}

/** Values that cannot even be sent (the map refuses them as well). */
function valueProblem(value: unknown): Error | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') {
    return new ShardedMapTypeError(ErrorCode.VALUE_TYPE, `a value must not be a ${typeof value}; store plain data`);
  }
  return undefined;
}

export function connectSharedCache<V = unknown>(url: string | URL, options: SharedCacheOptions = {}): SharedCache<V> {
  if (typeof options !== 'object' || options === null) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'connectSharedCache: options must be an object like { timeout }');
  }
  const timeout = options.timeout ?? 30_000;
  if (typeof timeout !== 'number' || !(timeout >= 0)) {
    throw new ShardedMapRangeError(ErrorCode.INVALID_OPTION, `timeout option must be a number of milliseconds >= 0, got ${String(timeout)}`);
  }
  let port: MessagePort | Worker;
  let dedicated = false;
  const pending = new Map<number, Pending>();
  /** Set once the worker cannot serve: every call fails with it. */
  let broken: Error | undefined;
  let queue: CacheRequest[] = [];
  /** Batches posted and not answered yet, oldest first: the worker answers
   *  each message it receives with exactly one message, in order. */
  const inflight: CacheRequest[][] = [];
  let nextId = 1;
  let sent = 0;
  let timer: ReturnType<typeof setInterval> | undefined;

  const failAll = (err: Error) => {
    broken ??= err;
    for (const p of pending.values()) p.reject(broken);
    pending.clear();
    queue = [];
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  // The URL as the browser resolves it, for the messages: a wrong path is
  // the usual reason a worker does not start.
  let where: string;
  try {
    where = new URL(url, (globalThis as { location?: { href: string } }).location?.href).href;
  } catch {
    where = String(url);
  }
  const workerFailed = (why: string) =>
    failAll(new ShardedMapError(ErrorCode.WORKER_FAILED, `the cache worker ${where} ${why}; pending requests were rejected`));

  try {
    if (typeof SharedWorker !== 'undefined') {
      const w = new SharedWorker(url, { type: 'module', name: 'shardedmap' });
      w.onerror = () => workerFailed('failed to start (a script error, or nothing served at that URL: serve the `shardedmap/shared-worker` script there)');
      port = w.port;
      w.port.start();
    } else {
      const w = new Worker(url, { type: 'module' });
      w.onerror = () => workerFailed('failed (a script error, or nothing served at that URL: serve the `shardedmap/shared-worker` script there)');
      port = w;
      dedicated = true;
    }
  } catch (e) {
    throw new ShardedMapError(ErrorCode.WORKER_FAILED, `the cache worker ${where} could not be started: ${(e as Error).message}`);
  }
  // Where the engine tells us the other side closed (Chromium 123+).
  (port as MessagePort).addEventListener?.('close', () => workerFailed('closed'));

  port.onmessage = (ev: MessageEvent<unknown>) => {
    const data = ev.data;
    if (data !== null && typeof data === 'object' && 'fatal' in data) {
      failAll(typedError((data as { fatal: ErrorReply }).fatal));
      return;
    }
    const batch = inflight.shift();
    if (data !== null && typeof data === 'object' && 'undeliverable' in data) {
      // The worker could not receive that batch (a value the page could
      // clone but the worker cannot take: a WebAssembly.Module, a shared
      // view, very deep nesting). Alone, each request fails or goes.
      if (!batch) return;
      if (batch.length > 1) {
        for (const req of batch) post([req]);
      } else {
        const p = pending.get(batch[0]![0]);
        pending.delete(batch[0]![0]);
        p?.reject(new ShardedMapTypeError(ErrorCode.VALUE_TYPE, 'this value cannot be received by the cache worker (a WebAssembly.Module, a view of shared memory, or nesting too deep); store plain data'));
      }
      return;
    }
    if (!Array.isArray(data)) return;
    for (const reply of data as CacheReply[]) {
      const p = pending.get(reply[0]);
      if (!p) continue;
      pending.delete(reply[0]);
      if (reply[1]) p.resolve(reply[2]);
      else p.reject(typedError(reply[2]));
    }
  };

  const checkDeadlines = () => {
    const now = Date.now();
    for (const [id, p] of pending) {
      if (now >= p.deadline) {
        pending.delete(id);
        p.reject(new ShardedMapError(ErrorCode.TIMEOUT, `no reply from the cache worker within ${timeout} ms`));
      }
    }
    if (pending.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  /** Post a batch; false (nothing posted) if it cannot be cloned. */
  const post = (batch: CacheRequest[]): boolean => {
    try {
      port.postMessage(batch);
    } catch (e) {
      if (batch.length === 1) {
        const p = pending.get(batch[0]![0]);
        pending.delete(batch[0]![0]);
        p?.reject(new ShardedMapTypeError(ErrorCode.VALUE_TYPE, `this value cannot be sent to the cache worker (${(e as Error).message}); store plain data`));
      }
      return false;
    }
    inflight.push(batch);
    return true;
  };

  const flush = () => {
    const batch = queue;
    queue = [];
    if (broken || batch.length === 0) return;
    sent++;
    // Something in the batch cannot be cloned: send each request alone so
    // that only the bad ones fail.
    if (!post(batch)) for (const req of batch) post([req]);
  };

  const call = <T>(op: CacheOp, ...args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (broken) return reject(broken);
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, deadline: timeout ? Date.now() + timeout : Infinity });
      if (timeout && timer === undefined) timer = setInterval(checkDeadlines, DEADLINE_TICK_MS);
      if (queue.length === 0) queueMicrotask(flush);
      queue.push([id, op, ...args]);
    });
  /** A call on `key` (checked here first), with values checked too. */
  const keyed = <T>(op: CacheOp, key: unknown, ...values: unknown[]): Promise<T> => {
    const problem = checked(() => keyProblem(key) ?? values.map(valueProblem).find(Boolean), ErrorCode.KEY_TYPE);
    return problem ? Promise.reject(problem) : call<T>(op, key, ...values);
  };
  /** A batch read: the keys checked here, then one request. */
  const batched = <T>(op: CacheOp, keys: unknown, ...rest: unknown[]): Promise<T> => {
    if (!Array.isArray(keys)) {
      return Promise.reject(new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, `${op}: keys must be an array`));
    }
    const problem = checked(() => keys.map(keyProblem).find(Boolean), ErrorCode.KEY_TYPE);
    return problem ? Promise.reject(problem) : call<T>(op, keys, ...rest);
  };
  /** A write with values and optional write options (sent as { ttl }). */
  const written = <T>(op: CacheOp, key: unknown, values: unknown[], options: unknown): Promise<T> => {
    let ttl: unknown;
    const problem = checked(() => writeOptionsProblem(options) ?? void (ttl = (options as SharedCacheWriteOptions | undefined)?.ttl), ErrorCode.INVALID_OPTION);
    if (problem) return Promise.reject(problem);
    return keyed<T>(op, key, ...values, ...(ttl === undefined ? [] : [{ ttl }]));
  };

  const cache: SharedCache<V> = {
    load: (k) => keyed('load', k),
    get: (k) => keyed('load', k),
    loadNumber: (k, fallback) => keyed('loadNumber', k, ...(fallback === undefined ? [] : [fallback])),
    has: (k) => keyed('has', k),
    store: (k, v, o) => written('store', k, [v], o),
    set: (k, v, o) => written('store', k, [v], o),
    storeNumber: (k, v, o) => written('storeNumber', k, [v], o),
    tryStore: (k, v, o) => written('tryStore', k, [v], o),
    delete: (k) => keyed('delete', k),
    loadOrStore: (k, v, o) => written('loadOrStore', k, [v], o),
    loadAndDelete: (k) => keyed('loadAndDelete', k),
    swap: (k, v, o) => written('swap', k, [v], o),
    compareAndSwap: (k, a, b, o) => written('compareAndSwap', k, [a, b], o),
    compareAndDelete: (k, a) => keyed('compareAndDelete', k, a),
    getMany: (keys) => batched('getMany', keys),
    loadNumbers: (keys, fallback) => batched('loadNumbers', keys, ...(fallback === undefined ? [] : [fallback])),
    size: () => call('size'),
    clear: () => call('clear'),
    stats: () => call('stats'),
    async *range() {
      for (let from = 0; from >= 0; ) {
        const chunk = await call<RangeChunk>('range', from);
        yield* chunk.entries as [Key, V][];
        from = chunk.next;
      }
    },
    get messagesSent() {
      return sent;
    },
    dedicated,
    close() {
      failAll(new ShardedMapError(ErrorCode.CLOSED, 'this cache client is closed; connect again to use the cache'));
      if ('close' in port) port.close();
      else port.terminate();
    },
  };
  return cache;
}
