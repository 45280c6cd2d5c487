/**
 * Waiting for a lock held by another instance: bounded, in slices, with a
 * deadline and an AbortSignal; and the eager checks of the options that
 * control it.
 */
import { LOCK_CONTENDED } from '../../assembly/shared.js';
import { ErrorCode, ShardedMapRangeError, ShardedMapTypeError } from './errors.js';
import { canBlock, now } from './platform.js';

/** Longest single Atomics.wait while a lock is held: short enough to notice
 *  the deadline and a missed wake-up, long enough to cost nothing. */
const WAIT_SLICE_MS = 50;

/**
 * Options of every call that may wait for a locked shard (writes, `clear`,
 * `check`). A call that gives up leaves the map unchanged.
 */
export interface WaitOptions {
  /** Milliseconds to wait for a locked shard; then `LockTimeoutError`.
   *  Defaults to the instance's `lockTimeout`. 0: do not wait at all. */
  timeout?: number;
  /** Checked before the call and between waits: if aborted, the call throws
   *  `signal.reason`. These calls are synchronous, so a timer-based signal
   *  (`AbortSignal.timeout`) cannot fire during one: use `timeout` for that. */
  signal?: AbortSignal;
}

/** Eager checks of a WaitOptions argument. */
export function checkWaitOptions(o: WaitOptions): void {
  if (typeof o !== 'object' || o === null) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'options must be an object like { timeout, signal }');
  }
  const t = o.timeout;
  if (t !== undefined && (typeof t !== 'number' || Number.isNaN(t) || t < 0)) {
    throw new ShardedMapRangeError(ErrorCode.INVALID_OPTION, `timeout option must be a number of milliseconds >= 0, got ${String(t)}`);
  }
  const sig = o.signal as unknown;
  if (sig !== undefined && (typeof sig !== 'object' || sig === null || typeof (sig as AbortSignal).aborted !== 'boolean')) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'signal option must be an AbortSignal');
  }
}

/**
 * Wait while the lock word at i32[idx] is held: mark it contended so the
 * releaser notifies, then Atomics.wait (or spin where blocking is not
 * allowed). Returns when the word changed or was free; throws `timeout`'s
 * error (given the holder's owner id) at the deadline.
 */
export function waitWord(i32: Int32Array, idx: number, deadline: number, timeout: (owner: number) => Error): void {
  const v = Atomics.load(i32, idx);
  if (v === 0) return;
  const t = now();
  if (t >= deadline) throw timeout(v & ~LOCK_CONTENDED);
  const marked = v | LOCK_CONTENDED;
  if (v !== marked && Atomics.compareExchange(i32, idx, v, marked) !== v) return;
  if (canBlock) {
    Atomics.wait(i32, idx, marked, Math.min(deadline - t, WAIT_SLICE_MS));
  } else {
    const until = Math.min(deadline, t + WAIT_SLICE_MS);
    while (Atomics.load(i32, idx) === marked && now() < until) {
      /* spin: this thread may not block */
    }
  }
}
