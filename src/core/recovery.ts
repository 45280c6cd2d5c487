/**
 * Owner death: releasing what dead instances hold, and turning a fault
 * inside the core into a typed error after repairing what this instance
 * held. Both take every shard's lock in order (over from a dead owner,
 * repairing its shard, or the normal way), so no writer runs while a shard
 * is repaired; `holdingAllShards` is that one loop, also used by `check`.
 *
 * Contract: called through a live session; recovery itself never throws
 * half-done — a lock taken is released if a later step throws.
 */
import { ST_OK, CNT_RELEASED, OWNER_ID_MASK, RECORDS_LOCK, LOCK_CONTENDED } from '../../assembly/shared.js';
import { ErrorCode, ShardedMapError, ShardedMapRangeError, internalError } from '../base/errors.js';
import type { WaitOptions } from '../base/wait.js';
import type { Session } from './session.js';

/** Hold every shard's lock, in order (each taken by `lock(s)`, which
 *  returns a status), run `each(s)` as each is taken and `then()` once all
 *  are held; release the locks taken if anything throws, and all of them
 *  at the end if `release`. */
export function holdingAllShards(
  s: Session, lock: (shard: number) => number, each: (shard: number) => void, then: () => void, release: boolean,
): void {
  const n = s.core.shardCount();
  let held = 0;
  try {
    for (; held < n; held++) {
      const st = lock(held);
      if (st !== ST_OK) throw s.refused('a shard lock', st);
      each(held);
    }
    then();
  } catch (e) {
    for (let i = 0; i < held; i++) s.core.unlockShard(s.token, i);
    throw e;
  }
  if (release) for (let i = 0; i < n; i++) s.core.unlockShard(s.token, i);
}

/** `holdingAllShards` with the plain lock (check, statistics). */
export function withAllShards(s: Session, options: WaitOptions | undefined, each: (shard: number) => void, then: () => void): void {
  holdingAllShards(s, (i) => s.retry(() => s.core.lockShard(s.token, i), options), each, then, true);
}

/** Take over and repair what the owner ids `victims` hold: take every
 *  shard's lock in order (over from a victim, repairing the shard, or the
 *  normal way), free the victims if asked, recount, unlock. */
export function recover(s: Session, victims: number[], freeVictims: boolean): void {
  for (const v of victims) {
    const st = s.core.recoverBegin(s.token, v);
    if (st !== ST_OK) throw s.refused('recoverBegin', st);
  }
  const take = (shard: number) => s.retry(() => {
    const holder = s.core.shardLockOwner(shard);
    return s.core.recoverShard(s.token, victims.includes(holder) ? holder : victims[0]!, shard);
  });
  holdingAllShards(s, take, () => {}, () => {
    if (freeVictims) for (const v of victims) s.core.freeOwner(s.token, v);
    // recoverEnd recounts and releases every shard lock.
    if (s.core.recoverEnd(s.token) !== ST_OK) throw internalError('recoverEnd');
  }, false);
}

/** `release(...owners)` of the public API: validate, then recover those
 *  that are attached or hold a lock, and wake fetch() waiters of flights
 *  they led. */
export function releaseOwners(s: Session, owners: number[]): void {
  for (const owner of owners) {
    if (!Number.isInteger(owner) || owner < 1 || owner > Math.min(OWNER_ID_MASK, s.core.maxOwners())) {
      throw new ShardedMapRangeError(ErrorCode.BAD_OWNER, `release: an owner must be an owner id (map.owner of the dead instance), got ${String(owner)}`);
    }
    if (owner === s.owner) {
      throw new ShardedMapRangeError(ErrorCode.BAD_OWNER, 'release: an instance cannot release itself; use close()');
    }
  }
  // An owner that closed (or died closing) may still hold a lock.
  const dead = owners.filter((o) => s.core.ownerAlive(o) || s.core.locksHeldBy(o) > 0);
  if (!dead.length) return;
  recover(s, dead, true);
  // The record area's lock, if one of them died adding a shape (the log
  // itself needs no repair: see codec/records.ts).
  const recordsLock = (s.core.recordsAddress() + RECORDS_LOCK) >>> 2;
  for (const v of dead) {
    for (const word of [v, v | LOCK_CONTENDED]) {
      if (Atomics.compareExchange(s.i32, recordsLock, word, 0) === word) Atomics.notify(s.i32, recordsLock);
    }
  }
  s.count(CNT_RELEASED, dead.length);
  if (s.cacheFlags >= 0) Atomics.notify(s.i32, s.core.flightEpochAddress() >>> 2);
}

/** The owner ids (but this instance's) attached from thread `threadId`. */
export function ownersOf(s: Session, threadId: number): number[] {
  const owners: number[] = [];
  const n = s.core.maxOwners();
  for (let id = 1; id <= n; id++) {
    if (id !== s.owner && s.core.ownerThread(id) === threadId + 1) owners.push(id);
  }
  return owners;
}

/**
 * A trap or an abort inside the core: repair what this instance may have
 * left locked (as if it had died), note the fault in the map (see
 * `check`), and turn it into a typed error. Other errors pass through.
 */
export function faultError(s: Session, e: unknown): Error {
  const internal = e instanceof ShardedMapError && e.code === ErrorCode.INTERNAL;
  if (!(e instanceof WebAssembly.RuntimeError) && !internal) return e as Error;
  let repaired = 'repaired';
  s.core.noteFault();
  try {
    recover(s, [s.owner], false);
  } catch (r) {
    repaired = `not repaired (${(r as Error).message})`;
  }
  const err = new ShardedMapError(
    ErrorCode.INTERNAL,
    `the core failed: ${(e as Error).message}; the locks this instance held were ${repaired}. This is a shardedmap bug; please report it (map.check() tells whether the map is sound)`,
  );
  (err as { cause?: unknown }).cause = e;
  return err;
}
