// What the near cache's one-server (redis.ts) and cluster (redis-cluster.ts)
// forms share: the errors they throw, option checks, timeouts, reconnects,
// and the shape of a node-redis client they use.
import { ErrorCode, ShardedMapError, ShardedMapRangeError, ShardedMapTypeError } from '../base/errors.js';
import { unpackBytes, LONE_SURROGATE } from '../codec/msgpack.js';

/** The tracking socket times out after this many ping intervals without
 *  data; so the longest pingInterval is what keeps that within a timer's
 *  range (2^31 - 1 ms). */
export const SOCKET_TIMEOUT_PINGS = 3;

/** Reconnect backoff of both connections: 50 ms doubling up to 2 s. */
export const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, 2000);

export function redisError(what: string, e: unknown): ShardedMapError {
  const err = new ShardedMapError(ErrorCode.REDIS, `near cache: Redis ${what} failed: ${(e as Error)?.message ?? String(e)}`);
  (err as { cause?: unknown }).cause = e;
  return err;
}

export function invalidOption(message: string): never {
  throw new ShardedMapRangeError(ErrorCode.INVALID_OPTION, message);
}

export function positive(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v > 0) || v > 2 ** 31 - 1) invalidOption(`${name} option must be a number of milliseconds from 1 to 2^31 - 1, got ${String(v)}`);
  return v;
}

/** What the near cache uses of a node-redis client (its own types differ with
 *  the RESP version and type mapping of each connection). */
export interface Client {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  get(key: string): Promise<unknown>;
  pTTL(key: string): Promise<unknown>;
  set(key: string, value: Buffer, options?: { expiration: { type: 'PX'; value: number } }): Promise<unknown>;
  del(key: string): Promise<number>;
  sendCommand(args: string[]): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(redisError(what, new Error(`no answer within ${ms} ms`))), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** While some master is not armed, look at the topology this often: a
 *  failover usually completes within a few hundred ms of its start. */
export const TOPOLOGY_RETRY = 100;
/** At least this long between two topology checks (ms): a burst of failed
 *  commands in every worker asks for one check, not hundreds. */
export const MIN_GAP = 20;


/** Bump and wake a topology word (see ClusterHandleFields.topology). */
export const ask = (word: Int32Array) => {
  Atomics.add(word, 0, 1);
  Atomics.notify(word, 0);
};

/** A command that answers within `ms`, or an error (not hung). */
export function timed<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}


/** The value of `key` from its bytes in Redis (null: no such key). Bytes
 *  that are not MessagePack (another client wrote the key) reject with
 *  ERR_SHARDEDMAP_REDIS. */
/** A value read from Redis: MessagePack, or a typed error naming the key. */
export function decode(key: string, bytes: Uint8Array | null): unknown {
  if (bytes === null) return undefined;
  try {
    return unpackBytes(bytes);
  } catch (e) {
    const err = new ShardedMapError(
      ErrorCode.REDIS,
      `near cache: the value of ${JSON.stringify(key)} in Redis is not MessagePack (${(e as Error)?.message ?? String(e)}); write it with near.set, or a MessagePack client`,
    );
    (err as { cause?: unknown }).cause = e;
    throw err;
  }
}

/** A near-cache key: a string with no lone surrogate. */
export function checkKey(key: unknown, method: string): asserts key is string {
  if (typeof key !== 'string') {
    throw new ShardedMapTypeError(ErrorCode.KEY_TYPE, `near cache ${method}: a key must be a string (a Redis key), not ${typeof key}`);
  }
  // Redis keys are UTF-8 bytes: a lone surrogate would name another key
  // (U+FFFD), whose invalidations would never reach this one.
  if (LONE_SURROGATE.test(key)) {
    throw new ShardedMapTypeError(ErrorCode.KEY_TYPE, `near cache ${method}: a key must not hold a lone surrogate (Redis keys are UTF-8)`);
  }
}
