/**
 * The client half of the browser cache: `connectSharedCache(url)` connects a
 * tab (or a worker) to the SharedWorker at `url` (the `shardedmap/shared-worker`
 * script), and gives an async API mirroring the map's. Requests issued in the
 * same tick travel as one message; tabs of one origin share the cache and see
 * each other's writes. Where SharedWorker does not exist (Chrome on Android)
 * it starts a dedicated worker instead: the cache is then per tab.
 */
import type { CacheOp, CacheReply, CacheRequest, RangeChunk } from './shared-cache-protocol';
import { ShardedMapError, ErrorCode } from './errors';

export interface SharedCache {
  load(key: unknown): Promise<unknown>;
  store(key: unknown, value: unknown): Promise<void>;
  delete(key: unknown): Promise<boolean>;
  has(key: unknown): Promise<boolean>;
  loadOrStore(key: unknown, value: unknown): Promise<{ value: unknown; loaded: boolean }>;
  compareAndSwap(key: unknown, expected: unknown, next: unknown): Promise<boolean>;
  size(): Promise<number>;
  clear(): Promise<void>;
  /** Every entry, fetched in chunks of whole shards (each shard a
   *  consistent snapshot). */
  range(): AsyncIterableIterator<[unknown, unknown]>;
  /** Messages sent so far (each carries every request of one tick). */
  readonly messagesSent: number;
  /** True if this is a per-tab dedicated worker (no SharedWorker here). */
  readonly dedicated: boolean;
  close(): void;
}

export function connectSharedCache(url: string | URL): SharedCache {
  let port: MessagePort | Worker;
  let dedicated = false;
  if (typeof SharedWorker !== 'undefined') {
    const w = new SharedWorker(url, { type: 'module', name: 'shardedmap' });
    port = w.port;
    w.port.start();
  } else {
    port = new Worker(url, { type: 'module' });
    dedicated = true;
  }
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let queue: CacheRequest[] = [];
  let nextId = 1;
  let sent = 0;
  port.onmessage = (ev: MessageEvent<CacheReply[]>) => {
    for (const [id, ok, result] of ev.data) {
      const p = pending.get(id);
      pending.delete(id);
      if (!p) continue;
      if (ok) p.resolve(result);
      else {
        const r = result as { name: string; code?: string; message: string };
        const err = new ShardedMapError((r.code ?? ErrorCode.INTERNAL) as never, r.message);
        err.name = r.name;
        p.reject(err);
      }
    }
  };
  const flush = () => {
    const batch = queue;
    queue = [];
    sent++;
    port.postMessage(batch);
  };
  const call = <T>(op: CacheOp, ...args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (queue.length === 0) queueMicrotask(flush);
      queue.push([id, op, ...args]);
    });
  return {
    load: (k) => call('load', k),
    store: (k, v) => call('store', k, v),
    delete: (k) => call('delete', k),
    has: (k) => call('has', k),
    loadOrStore: (k, v) => call('loadOrStore', k, v),
    compareAndSwap: (k, a, b) => call('compareAndSwap', k, a, b),
    size: () => call('size'),
    clear: () => call('clear'),
    async *range() {
      for (let from = 0; from >= 0; ) {
        const chunk = await call<RangeChunk>('range', from);
        yield* chunk.entries;
        from = chunk.next;
      }
    },
    get messagesSent() {
      return sent;
    },
    dedicated,
    close() {
      if ('close' in port) port.close();
      else port.terminate();
    },
  };
}
