// Single-flight loading for a cache map's fetch(): one table of loads in
// flight, shared by every instance, so that on a miss exactly one caller
// across all workers runs the loader and the others wait for its outcome.
//
// Contract: a flight slot is read and written only under the flight lock
// (HDR_FLIGHT_LOCK, taken here for a few dozen instructions by
// beginFlight, endFlight and watchFlight, the steps the flight* exports
// call; recovery takes it over from a dead holder, recover.ts).
// A flight names a key by its 64-bit hash: two keys with the same hash
// share a flight, which costs a wait, never a wrong value, because a
// waiter always reads its own key from the map once the flight ends. A
// slot's state is written last when it is claimed, so a holder that stops
// anywhere leaves every slot free, loading (with a leader, a sequence
// number and a deadline) or ended. Every end bumps HDR_FLIGHT_EPOCH, which
// waiters sleep on (Atomics.waitAsync in the facade).

import {
  HDR_SEED, HDR_VALUE_OFF, HDR_AUX_OFF, HDR_FLIGHT_LOCK, HDR_FLIGHT_EPOCH, HDR_FLIGHTS, FLIGHT_SLOTS, FLIGHT_SLOT_BYTES, FL_STATE, FL_OWNER, FL_HASH,
  FL_DEADLINE, FL_SEQ, FL_MSG_LEN, FL_MSG,
} from "./layout";
import {
  ST_OK, ST_FULL, ST_MISMATCH, SCRATCH_WORD, SCRATCH_KLEN, FLIGHT_LEAD, FLIGHT_WAIT, FLIGHT_FREE, FLIGHT_LOADING,
  FLIGHT_FAILED, FLIGHT_EMPTY, FLIGHT_ENDED, FLIGHT_STALE, FLIGHT_MSG_MAX, SCRATCH_KEY,
} from "./shared";
import { hashKey } from "./hash";
import { tryLock, unlock, busy } from "./sync";
import { tokenId } from "./words";
import { ownerScratch } from "./owners";

/** Address of flight slot `i`. */
// @ts-ignore: decorator
@inline function slotAt(hdr: usize, i: u32): usize {
  return <usize>load<u32>(hdr, HDR_FLIGHTS) + <usize>i * FLIGHT_SLOT_BYTES;
}

/** Bytes of the flight table (laid out at init, cache maps only). */
export function flightTableBytes(): u32 {
  return FLIGHT_SLOTS * FLIGHT_SLOT_BYTES;
}

/** Is the leader of the loading flight at `f` gone (released or closed:
 *  its token is refused) or past its deadline at `now`? */
function leaderGone(hdr: usize, f: usize, now: f64): bool {
  return ownerScratch(hdr, load<u32>(f, FL_OWNER)) == 0 || load<f64>(f, FL_DEADLINE) <= now;
}

/** Start a load of the key of hash h by owner `token`, or join one: under
 *  the flight lock (held by the caller). FLIGHT_LEAD: the caller runs the
 *  loader (a new flight, or one taken over from a leader that is gone or
 *  late); FLIGHT_WAIT: another caller leads. Either way the slot index is
 *  at SCRATCH_WORD and the flight's sequence number at SCRATCH_KLEN of
 *  `scratch`. ST_FULL: every slot is in flight (wait for an end). */
function flightBeginLocked(hdr: usize, scratch: usize, token: u32, h: u64, now: f64, deadline: f64): i32 {
  let free: i32 = -1;
  const start = <u32>(h % FLIGHT_SLOTS);
  for (let k: u32 = 0; k < FLIGHT_SLOTS; k++) {
    const i = (start + k) % FLIGHT_SLOTS;
    const f = slotAt(hdr, i);
    const state = load<u32>(f, FL_STATE);
    if (state == FLIGHT_FREE) {
      if (free < 0) free = <i32>i;
      continue;
    }
    if (load<u64>(f, FL_HASH) != h) continue;
    // This key's slot: join a live load, or lead a new one in its place.
    if (state == FLIGHT_LOADING && !leaderGone(hdr, f, now)) return begun(scratch, FLIGHT_WAIT, i, load<u32>(f, FL_SEQ));
    return claim(f, scratch, i, token, h, deadline);
  }
  if (free < 0) return ST_FULL;
  return claim(slotAt(hdr, <u32>free), scratch, <u32>free, token, h, deadline);
}

/** Lead a new flight in slot i (at f): the fields first, the state last. */
function claim(f: usize, scratch: usize, i: u32, token: u32, h: u64, deadline: f64): i32 {
  const seq = load<u32>(f, FL_SEQ) + 1;
  store<u32>(f, token, FL_OWNER);
  store<u64>(f, h, FL_HASH);
  store<f64>(f, deadline, FL_DEADLINE);
  store<u32>(f, seq, FL_SEQ);
  store<u32>(f, 0, FL_MSG_LEN);
  store<u32>(f, FLIGHT_LOADING, FL_STATE);
  return begun(scratch, FLIGHT_LEAD, i, seq);
}

function begun(scratch: usize, kind: i32, i: u32, seq: u32): i32 {
  store<u32>(scratch, i, SCRATCH_WORD);
  store<u32>(scratch, seq, SCRATCH_KLEN);
  return kind;
}

/** End flight (slot i, seq) led by `token`: FLIGHT_FREE (loaded and
 *  stored, or abandoned: waiters read the map), FLIGHT_EMPTY (the loader
 *  returned nothing) or FLIGHT_FAILED with `msgLen` bytes of message at
 *  `msg`. Under the flight lock. ST_OK, or ST_MISMATCH if the flight was
 *  taken over meanwhile (then nothing changes). */
function flightEndLocked(hdr: usize, token: u32, i: u32, seq: u32, outcome: u32, msg: usize, msgLen: u32): i32 {
  const f = slotAt(hdr, i);
  if (load<u32>(f, FL_STATE) != FLIGHT_LOADING || load<u32>(f, FL_SEQ) != seq || load<u32>(f, FL_OWNER) != token) {
    return ST_MISMATCH;
  }
  const n = min(msgLen, <u32>FLIGHT_MSG_MAX);
  memory.copy(f + FL_MSG, msg, n);
  store<u32>(f, n, FL_MSG_LEN);
  store<u32>(f, outcome, FL_STATE);
  atomic.add<u32>(hdr, 1, HDR_FLIGHT_EPOCH);
  return ST_OK;
}

/** How flight (slot i, seq) stands for a waiter, under the flight lock:
 *  FLIGHT_LOADING (wait on), FLIGHT_ENDED (read the map), FLIGHT_EMPTY
 *  (it loaded nothing), FLIGHT_FAILED (its message copied to `out`, its
 *  length at SCRATCH_WORD), FLIGHT_STALE (its leader is gone or late:
 *  begin again, to take over). */
function flightWatchLocked(hdr: usize, scratch: usize, i: u32, seq: u32, now: f64, out: usize): i32 {
  const f = slotAt(hdr, i);
  if (load<u32>(f, FL_SEQ) != seq) return FLIGHT_ENDED;
  const state = load<u32>(f, FL_STATE);
  if (state == FLIGHT_LOADING) return leaderGone(hdr, f, now) ? FLIGHT_STALE : FLIGHT_LOADING;
  if (state == FLIGHT_FAILED) {
    const n = load<u32>(f, FL_MSG_LEN);
    memory.copy(out, f + FL_MSG, n);
    store<u32>(scratch, n, SCRATCH_WORD);
    return FLIGHT_FAILED;
  }
  return state == FLIGHT_EMPTY ? FLIGHT_EMPTY : FLIGHT_ENDED;
}

/** Wake the waiters (after a release: a leader may be gone). */
export function flightNudge(hdr: usize): void {
  atomic.add<u32>(hdr, 1, HDR_FLIGHT_EPOCH);
}

/** The lock word of the flight table. */
// @ts-ignore: decorator
@inline export function flightLock(hdr: usize): usize {
  return hdr + HDR_FLIGHT_LOCK;
}

// ---- each step under the flight lock (what the flight* exports call) --------------

/** Begin or join the load of the key in the owner's scratch (klen
 *  checked by the caller; see flightBeginLocked), under the flight lock:
 *  FLIGHT_LEAD, FLIGHT_WAIT, ST_FULL, or ST_BUSY (the lock's word in
 *  `scratch`). */
export function beginFlight(hdr: usize, scratch: usize, token: u32, klen: u32, now: f64, deadline: f64): i32 {
  const lock = flightLock(hdr);
  if (!tryLock(lock, tokenId(token))) return busy(scratch, lock);
  const h = hashKey(scratch + SCRATCH_KEY, klen, load<u64>(hdr, HDR_SEED));
  const r = flightBeginLocked(hdr, scratch, token, h, now, deadline);
  unlock(lock);
  return r;
}

/** End flight (slot i, seq) with `outcome`, its message (`msgLen` bytes)
 *  in the owner's value area (see flightEndLocked), under the flight lock:
 *  ST_OK, ST_MISMATCH or ST_BUSY. */
export function endFlight(hdr: usize, scratch: usize, token: u32, i: u32, seq: u32, outcome: u32, msgLen: u32): i32 {
  const lock = flightLock(hdr);
  if (!tryLock(lock, tokenId(token))) return busy(scratch, lock);
  const r = flightEndLocked(hdr, token, i, seq, outcome, scratch + load<u32>(hdr, HDR_VALUE_OFF), msgLen);
  unlock(lock);
  return r;
}

/** How flight (slot i, seq) stands (see flightWatchLocked; a failure's
 *  message goes to the owner's aux area), under the flight lock: a
 *  FLIGHT_* code or ST_BUSY. */
export function watchFlight(hdr: usize, scratch: usize, token: u32, i: u32, seq: u32, now: f64): i32 {
  const lock = flightLock(hdr);
  if (!tryLock(lock, tokenId(token))) return busy(scratch, lock);
  const r = flightWatchLocked(hdr, scratch, i, seq, now, scratch + load<u32>(hdr, HDR_AUX_OFF));
  unlock(lock);
  return r;
}
