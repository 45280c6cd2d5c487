/**
 * The messages between a SharedWorker cache and its clients. A client sends
 * one array of requests per tick; the worker answers every message with
 * exactly one message, in order: the array of its replies, or
 * `CacheUndeliverable` when the message could not be received (the client
 * then sends that batch's requests one by one, so only the bad one
 * fails), or `CacheFatal`. Either side treats anything else it receives
 * as a protocol error, never as a reason to stop answering.
 */

/** Operations a client can ask for: the map's whole single-key API, plus
 *  size, clear, range (in chunks), stats and the batch reads. */
export const CACHE_OPS = [
  'load', 'loadNumber', 'has', 'store', 'storeNumber', 'tryStore', 'delete', 'loadOrStore', 'loadAndDelete', 'swap',
  'compareAndSwap', 'compareAndDelete', 'size', 'clear', 'range', 'stats', 'getMany', 'loadNumbers',
] as const;

export type CacheOp = (typeof CACHE_OPS)[number];

/** [request id, op, ...arguments] */
export type CacheRequest = [number, CacheOp, ...unknown[]];

/** A thrown error, as it crosses a MessagePort. */
export interface ErrorReply {
  name: string;
  code?: string;
  message: string;
}

/** [request id, true, result] or [request id, false, error] */
export type CacheReply = [number, true, unknown] | [number, false, ErrorReply];

/** What the worker posts (besides reply arrays) when it cannot serve at all
 *  (its map could not be created, or it hit an uncaught error): every
 *  pending and later request of that client fails with `error`. */
export interface CacheFatal {
  fatal: ErrorReply;
}

/** Reply of 'range': a chunk of entries and where to go on (-1: done). */
export interface RangeChunk {
  entries: [unknown, unknown][];
  next: number;
}

/** The worker's answer to a message it could not receive (a value the page
 *  could clone but the worker cannot take). */
export interface CacheUndeliverable {
  undeliverable: true;
}
