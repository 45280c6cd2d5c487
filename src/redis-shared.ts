// What the near cache's one-server (redis.ts) and cluster (redis-cluster.ts)
// forms share: the errors they throw, option checks, timeouts, reconnects,
// and the shape of a node-redis client they use.
import { ErrorCode, ShardedMapError, ShardedMapRangeError } from './errors.js';

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
