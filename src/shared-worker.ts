/**
 * The SharedWorker half of the browser cache (`shardedmap/shared-worker`).
 *
 * A SharedWorker is its own agent cluster: it cannot receive a page's shared
 * memory, so it owns a ShardedMap itself and serves every tab and worker of
 * the origin over MessagePorts (see `connectSharedCache`). Map options come
 * from the script URL's query (`?shards=64&maxMemory=...`). The same script
 * also runs as a dedicated worker, the fallback where SharedWorker does not
 * exist (Chrome on Android): then each tab has its own cache.
 */
import { ShardedMap } from './map';
import type { CacheReply, CacheRequest, RangeChunk } from './shared-cache-protocol';
import type { CreateOptions } from './options';

/** Entries per 'range' reply: large enough to amortize a message, small
 *  enough to keep one reply under a few hundred kilobytes. */
const RANGE_CHUNK = 1000;

function optionsFromUrl(): CreateOptions {
  const o: Record<string, unknown> = {};
  const q = new URL(self.location.href).searchParams;
  for (const [k, v] of q) o[k] = Number(v);
  return o as CreateOptions;
}

const mapPromise = ShardedMap.create(optionsFromUrl());

function exec(map: ShardedMap<unknown>, op: string, args: unknown[]): unknown {
  const [a, b, c] = args as [never, never, never];
  switch (op) {
    case 'load': return map.load(a);
    case 'store': return map.store(a, b);
    case 'delete': return map.delete(a);
    case 'has': return map.has(a);
    case 'loadOrStore': return map.loadOrStore(a, b);
    case 'compareAndSwap': return map.compareAndSwap(a, b, c);
    case 'size': return map.size;
    case 'clear': return map.clear();
    case 'range': return rangeChunk(map, args[0] as number);
    default: throw new TypeError(`unknown operation ${op}`);
  }
}

/** Entries of whole shards from shard `from` on, until RANGE_CHUNK is
 *  reached: each shard stays a consistent snapshot. */
function rangeChunk(map: ShardedMap<unknown>, from: number): RangeChunk {
  const entries: [unknown, unknown][] = [];
  const n = map.shardCount;
  let s = from;
  for (; s < n && entries.length < RANGE_CHUNK; s++) map.rangeShard(s, (k, v) => void entries.push([k, v]));
  return { entries, next: s < n ? s : -1 };
}

/** A MessagePort, or a dedicated worker's global scope (same surface). */
interface Endpoint {
  onmessage: ((ev: MessageEvent<CacheRequest[]>) => void) | null;
  postMessage(message: unknown): void;
}

function serve(port: Endpoint): void {
  port.onmessage = async (ev) => {
    let map: ShardedMap<unknown>;
    try {
      map = await mapPromise;
    } catch (e) {
      // The map could not be created: every request gets the reason.
      const err = e as Error & { code?: string };
      port.postMessage(ev.data.map(([id]) => [id, false, { name: err.name, code: err.code, message: err.message }]));
      return;
    }
    const replies: CacheReply[] = ev.data.map(([id, op, ...args]) => {
      try {
        return [id, true, exec(map, op, args)];
      } catch (e) {
        const err = e as Error & { code?: string };
        return [id, false, { name: err.name, code: err.code, message: err.message }];
      }
    });
    port.postMessage(replies);
  };
}

const scope = self as unknown as Endpoint & { onconnect?: ((e: MessageEvent) => void) | null };
if ('onconnect' in scope) {
  scope.onconnect = (e: MessageEvent) => serve(e.ports[0] as unknown as Endpoint);
} else {
  serve(scope);
}
