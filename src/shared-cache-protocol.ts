/**
 * The messages between a SharedWorker cache and its clients. A client sends
 * one array of requests per tick; the worker answers with one array of
 * replies, in the same order.
 */

/** Operations a client can ask for. */
export type CacheOp =
  | 'load' | 'store' | 'delete' | 'has' | 'loadOrStore' | 'compareAndSwap' | 'size' | 'clear' | 'range';

/** [request id, op, ...arguments] */
export type CacheRequest = [number, CacheOp, ...unknown[]];

/** [request id, true, result] or [request id, false, { name, code, message }] */
export type CacheReply = [number, true, unknown] | [number, false, { name: string; code?: string; message: string }];

/** Reply of 'range': a chunk of entries and where to go on (-1: done). */
export interface RangeChunk {
  entries: [unknown, unknown][];
  next: number;
}
