/**
 * The SharedWorker half of the browser cache (`shardedmap/shared-worker`).
 *
 * A SharedWorker is its own agent cluster: it cannot receive a page's shared
 * memory, so it owns a ShardedMap itself and serves every tab and worker of
 * the origin over MessagePorts (see `connectSharedCache`). Map options come
 * from the script URL's query (`?shards=64&maxMemory=...`; a cache:
 * `?maxEntries=10000&maxBytes=8388608&ttl=60000`). The same script
 * also runs as a dedicated worker, the fallback where SharedWorker does not
 * exist (Chrome on Android): then each tab has its own cache.
 *
 * Every request gets a reply: a result, or the error the map threw (its
 * name, code and message); a malformed request gets ERR_SHARDEDMAP_INVALID_ARGUMENT.
 * If the map cannot be created, or the worker hits an uncaught error, every
 * client is told (a CacheFatal message) so that nothing waits forever.
 */
import { ShardedMap } from '../map/map.js';
import { ErrorCode } from '../base/errors.js';
import {
  CACHE_OPS, type CacheOp, type CacheReply, type CacheRequest, type ErrorReply, type RangeChunk,
} from './protocol.js';
import type { CreateOptions } from '../map/map.js';

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
/** Ports of every connected client, to tell them all of a fatal error. */
const ports = new Set<Endpoint>();

function toReply(e: unknown): ErrorReply {
  const err = e as { name?: unknown; code?: unknown; message?: unknown };
  return {
    name: typeof err?.name === 'string' ? err.name : 'Error',
    code: typeof err?.code === 'string' ? err.code : undefined,
    message: typeof err?.message === 'string' ? err.message : String(e),
  };
}

function badRequest(message: string): ErrorReply {
  return { name: 'ShardedMapTypeError', code: ErrorCode.INVALID_ARGUMENT, message };
}

/** The write options a client may send: its `ttl` only (a client cannot
 *  make the worker wait on a lock for long, or pass a signal). */
function writeOptions(o: unknown): { ttl: number } | undefined {
  if (o === undefined) return undefined;
  if (typeof o !== 'object' || o === null) {
    throw Object.assign(new TypeError('write options must be an object like { ttl }'), { code: ErrorCode.INVALID_OPTION });
  }
  const ttl = (o as { ttl?: unknown }).ttl;
  return ttl === undefined ? undefined : { ttl: ttl as number };
}

function exec(map: ShardedMap<unknown>, op: CacheOp, args: unknown[]): unknown {
  const [a, b, c, d] = args as [never, never, never, unknown];
  switch (op) {
    case 'load': return map.load(a);
    case 'loadNumber': return map.loadNumber(a, b);
    case 'has': return map.has(a);
    case 'store': return map.store(a, b, writeOptions(c));
    case 'storeNumber': return map.storeNumber(a, b, writeOptions(c));
    case 'tryStore': return map.tryStore(a, b, writeOptions(c));
    case 'delete': return map.delete(a);
    case 'loadOrStore': return map.loadOrStore(a, b, writeOptions(c));
    case 'loadAndDelete': return map.loadAndDelete(a);
    case 'swap': return map.swap(a, b, writeOptions(c));
    case 'compareAndSwap': return map.compareAndSwap(a, b, c, writeOptions(d));
    case 'compareAndDelete': return map.compareAndDelete(a, b);
    case 'size': return map.size;
    case 'clear': return map.clear();
    case 'range': return rangeChunk(map, a);
    case 'stats': return map.stats();
    case 'getMany': return map.getMany(a);
    case 'loadNumbers': return map.loadNumbers(a, undefined, b === undefined ? NaN : b);
  }
}

/** Entries of whole shards from shard `from` on, until RANGE_CHUNK is
 *  reached: each shard stays a consistent snapshot. */
function rangeChunk(map: ShardedMap<unknown>, from: unknown): RangeChunk {
  const n = map.shardCount;
  if (!Number.isInteger(from) || (from as number) < 0 || (from as number) >= n) {
    throw Object.assign(new RangeError(`range: a chunk starts at a shard from 0 to ${n - 1}`), { code: ErrorCode.INVALID_ARGUMENT });
  }
  const entries: [unknown, unknown][] = [];
  let s = from as number;
  for (; s < n && entries.length < RANGE_CHUNK; s++) map.rangeShard(s, (k, v) => void entries.push([k, v]));
  return { entries, next: s < n ? s : -1 };
}

/** The reply to one request (whatever was sent), or undefined if it has no
 *  id to reply to. */
function answer(map: ShardedMap<unknown>, req: unknown): CacheReply | undefined {
  if (!Array.isArray(req) || typeof req[0] !== 'number') return undefined;
  const [id, op, ...args] = req as CacheRequest;
  if (!(CACHE_OPS as readonly unknown[]).includes(op)) return [id, false, badRequest(`unknown operation ${String(op)}`)];
  try {
    return [id, true, exec(map, op, args)];
  } catch (e) {
    return [id, false, toReply(e)];
  }
}

/** A MessagePort, or a dedicated worker's global scope (same surface). */
interface Endpoint {
  onmessage: ((ev: MessageEvent<unknown>) => void) | null;
  onmessageerror: ((ev: MessageEvent<unknown>) => void) | null;
  postMessage(message: unknown): void;
}

/** Answer every message on `port` with exactly one message, in order (the
 *  client pairs them with the batches it sent): the replies of a batch; or
 *  `{ undeliverable }` for a message that could not be received (it could
 *  be cloned in the page but not here: a WebAssembly.Module, a view of
 *  shared memory, nesting too deep), whose requests the client then sends
 *  one by one. */
function serve(port: Endpoint): void {
  ports.add(port);
  const handle = async (batch: unknown) => {
    let map: ShardedMap<unknown>;
    try {
      map = await mapPromise;
    } catch (e) {
      port.postMessage({ fatal: toReply(e) });
      return;
    }
    if (!Array.isArray(batch)) {
      port.postMessage({ undeliverable: true });
      return;
    }
    const replies: CacheReply[] = [];
    for (const req of batch) {
      const r = answer(map, req);
      if (r) replies.push(r);
    }
    try {
      port.postMessage(replies);
    } catch {
      // A result that cannot cross a port (it should not happen: results
      // are decoded values): that one fails, in the same one message.
      port.postMessage(replies.map((r): CacheReply => {
        try {
          structuredClone(r);
          return r;
        } catch (e) {
          return [r[0], false, toReply(e)];
        }
      }));
    }
  };
  port.onmessage = (ev) => void handle(ev.data);
  port.onmessageerror = () => void handle(undefined);
}

/** An error nobody caught: tell every client, which fails what it waits for. */
function fatal(e: unknown): void {
  const r = toReply(e);
  const f = { fatal: { ...r, code: r.code ?? ErrorCode.WORKER_FAILED, message: `the cache worker failed: ${r.message}` } };
  for (const p of ports) p.postMessage(f);
}

const scope = self as unknown as Endpoint & {
  onconnect?: ((e: MessageEvent) => void) | null;
  addEventListener(type: string, fn: (e: { error?: unknown; reason?: unknown }) => void): void;
};
scope.addEventListener('error', (e) => fatal(e.error ?? e));
scope.addEventListener('unhandledrejection', (e) => fatal(e.reason));
mapPromise.catch((e) => fatal(e));
if ('onconnect' in scope) {
  scope.onconnect = (e: MessageEvent) => serve(e.ports[0] as unknown as Endpoint);
} else {
  serve(scope);
}
