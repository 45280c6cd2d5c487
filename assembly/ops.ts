// One write operation on one key, under its shard's lock: what OP_* means
// (store, loadOrStore, swap, compareAndSwap, delete...), composed from the
// writer's steps and, in a cache map, the policy's budgets and eviction;
// and the whole-shard writes (clear, purge).
//
// Contract: writeKey, clearShardAt and purgeShardAt, which the exports
// call, take the shard lock themselves (ST_BUSY with its word when it is
// held); everything else here runs with it held (the writer's contract,
// writer.ts). In a cache map every write first treats an expired entry of
// its key as absent (and drops it) and sweeps a few slots; an insert first
// makes room in the shard's budgets (eviction.ts), then in its table
// (writer.ts: prepareInsert), and only then takes the key's queue from the
// ghost table and publishes it, so a failed insert changes no policy state
// but the evictions it made room with.

import {
  HDR_COUNT, HDR_SEED, HDR_VALUE_OFF, HDR_AUX_OFF, HDR_ALLOC_LOCK, SH_COUNT, SH_LOCK, E_WORD, valueOffset,
  shardOfHash,
} from "./layout";
import {
  ST_OK, ST_BUSY, ST_NOT_FOUND, ST_FULL, ST_MISMATCH, ST_TOO_LARGE, OP_STORE, OP_LOAD_OR_STORE, OP_SWAP, OP_CAS, CHECK_OK,
  OP_DELETE, OP_LOAD_AND_DELETE, SCRATCH_KEY, SCRATCH_NOW, SCRATCH_EXPIRY, CNT_EXPIRATIONS, VTYPE_META, VTYPE_SHIFT,
} from "./shared";
import { TEST, DEBUG } from "./build";
import { hashKey } from "./hash";
import { count } from "./counters";
import { tableLoad, tryLock, unlock, busy, stripeOf } from "./sync";
import { vlenOf, hasMeta, withMeta, publicWord, META_BYTES } from "./words";
import { find, memBytes, bytesEqual, refEntry, copyOut } from "./table";
import { cacheOn, noteTtl, refExpired, entryKv, newQueueBit, tooLarge, overBytes, cleared } from "./policy";
import { prepareInsert, insertNew, replace, remove } from "./writer";
import { rebuild, emptyInPlace, freeRetired } from "./resize";
import { makeRoom, sweep, admit, purgeShard } from "./eviction";
import { testFault } from "./doors";
import { checkShardLocked } from "./check";

/** Insert a key known to be absent, with value word `word` (as the facade
 *  encodes it). In a cache map (`cache`) it first makes room in the
 *  shard's budgets, gets expiry `expiry` (0: none) and enters a queue.
 *  ST_OK, ST_FULL, ST_TOO_LARGE or ST_BUSY (allocator). */
function insert(
  hdr: usize, sh: usize, id: u32, h: u64, key: usize, klen: u32, word: u32, val: usize,
  scratch: usize, expiry: u64, now: f64, cache: bool,
): i32 {
  let stored = expiry != 0 ? withMeta(word) : word;
  if (cache) {
    const st = makeRoom(hdr, sh, scratch, klen + vlenOf(word), now);
    if (st != ST_OK) return st;
  }
  const st = prepareInsert(hdr, sh, id, h, klen, stored);
  if (st != ST_OK) return st;
  if (cache) stored |= newQueueBit(sh, h);
  insertNew(hdr, sh, h, key, klen, stored, val, expiry);
  if (cache) admit(hdr, sh, scratch, h, stored, klen + vlenOf(word), now);
  return ST_OK;
}

/** Is the value of entry `e` exactly `eword` (a word as the facade encodes
 *  it, without VTYPE_META) with the bytes at `exp`? */
function valueEquals(e: u32, klen: u32, eword: u32, exp: usize): bool {
  const w = load<u32>(e, E_WORD);
  const at = <usize>e + valueOffset(klen) + (hasMeta(w) ? <usize>META_BYTES : 0);
  return (publicWord(w) & ~(<u32>VTYPE_META << VTYPE_SHIFT)) == eword && bytesEqual(at, exp, vlenOf(eword));
}

/** One write operation (OP_*, checked by the caller) on the key at `key`
 *  in shard `sh`, whose lock owner id `id` holds: the new value (`word`,
 *  as the facade encodes it) at `val`, the expected value (`eword`) at
 *  `aux` for OP_CAS / OP_CAD, and a previous or loaded value copied to
 *  `aux`. In a cache map the scratch area holds the time (SCRATCH_NOW)
 *  and the new value's expiry (SCRATCH_EXPIRY): an expired entry is
 *  treated as absent (and dropped), and a few slots are swept first.
 *  Returns ST_OK, a value word, ST_NOT_FOUND, ST_MISMATCH, ST_FULL,
 *  ST_TOO_LARGE or ST_BUSY (allocator). */
function applyWrite(
  hdr: usize, sh: usize, id: u32, op: u32, h: u64, key: usize, klen: u32, word: u32, val: usize,
  eword: u32, aux: usize, scratch: usize,
): i32 {
  let expiry: u64 = 0;
  let now: f64 = 0;
  const cache = cacheOn(hdr);
  if (cache) {
    now = load<f64>(scratch, SCRATCH_NOW);
    expiry = <u64>load<f64>(scratch, SCRATCH_EXPIRY);
    if (expiry != 0 && op <= <u32>OP_CAS) noteTtl(hdr);
    sweep(hdr, sh, scratch, now);
  }
  let ref = find(tableLoad(sh), h, key, klen, memBytes(hdr));
  if (ref != 0 && now != 0 && refExpired(ref, now)) {
    // Expired: gone, for this operation and every later one.
    remove(hdr, sh, ref, klen, stripeOf(sh, h));
    count(scratch, CNT_EXPIRATIONS, 1);
    ref = 0;
  }
  if (op == <u32>OP_STORE) {
    return ref != 0
      ? replaceOrReinsert(hdr, sh, id, ref, h, key, klen, word, val, scratch, expiry, now, cache)
      : insert(hdr, sh, id, h, key, klen, word, val, scratch, expiry, now, cache);
  }
  if (op == <u32>OP_LOAD_OR_STORE) {
    return ref != 0 ? <i32>copyOut(ref, klen, aux, 0) : insert(hdr, sh, id, h, key, klen, word, val, scratch, expiry, now, cache);
  }
  if (op == <u32>OP_SWAP) {
    if (ref == 0) return insert(hdr, sh, id, h, key, klen, word, val, scratch, expiry, now, cache);
    const prev = <i32>copyOut(ref, klen, aux, 0);
    const st = replaceOrReinsert(hdr, sh, id, ref, h, key, klen, word, val, scratch, expiry, now, cache);
    return st == ST_OK ? prev : st;
  }
  if (ref == 0) return ST_NOT_FOUND;
  if (op == <u32>OP_CAS) {
    return valueEquals(refEntry(ref), klen, eword, aux)
      ? replaceOrReinsert(hdr, sh, id, ref, h, key, klen, word, val, scratch, expiry, now, cache)
      : ST_MISMATCH;
  }
  if (op == <u32>OP_DELETE) {
    remove(hdr, sh, ref, klen, stripeOf(sh, h));
    return ST_OK;
  }
  if (op == <u32>OP_LOAD_AND_DELETE) {
    const prev = <i32>copyOut(ref, klen, aux, 0);
    remove(hdr, sh, ref, klen, stripeOf(sh, h));
    return prev;
  }
  // OP_CAD
  if (!valueEquals(refEntry(ref), klen, eword, aux)) return ST_MISMATCH;
  remove(hdr, sh, ref, klen, stripeOf(sh, h));
  return ST_OK;
}

/** replace, unless a cache entry's new value would pass the shard's byte
 *  budget: then the old entry goes and the key is inserted again (which
 *  evicts others to make room). ST_TOO_LARGE (nothing changed) if it could
 *  never fit. */
function replaceOrReinsert(
  hdr: usize, sh: usize, id: u32, ref: u32, h: u64, key: usize, klen: u32, word: u32, val: usize,
  scratch: usize, expiry: u64, now: f64, cache: bool,
): i32 {
  if (cache) {
    const kv = klen + vlenOf(word);
    if (tooLarge(sh, kv)) return ST_TOO_LARGE;
    const grow = <i64>kv - <i64>entryKv(refEntry(ref));
    if (grow > 0 && overBytes(sh, <u32>grow)) {
      remove(hdr, sh, ref, klen, stripeOf(sh, h));
      return insert(hdr, sh, id, h, key, klen, word, val, scratch, expiry, now, cache);
    }
  }
  return replace(hdr, sh, id, ref, h, key, klen, word, val, expiry, cache);
}

/** Empty shard `sh` (its lock held by owner id `id`): a fresh region, or
 *  this one emptied in place when no region can be had. ST_OK or ST_BUSY
 *  (allocator). */
function clearLocked(hdr: usize, sh: usize, id: u32): i32 {
  const n = load<u32>(sh, SH_COUNT);
  let st = rebuild(hdr, sh, id, 0, 0, 0, false);
  if (st == ST_FULL) {
    // No room for a fresh region: empty this one in place.
    emptyInPlace(hdr, sh);
    st = ST_OK;
  }
  if (st == ST_OK) {
    atomic.sub<u32>(hdr, n, HDR_COUNT);
    if (cacheOn(hdr)) cleared(sh);
    if (DEBUG) assert(checkShardLocked(hdr, sh) == CHECK_OK, "shard unsound after a clear");
  }
  return st;
}

// ---- taking the shard lock (what the write, clearShard and purgeShardExpired -------
// ---- exports call) ----------------------------------------------------------------

/** One write operation (OP_*) on the key in the owner's scratch (all
 *  checked by the caller), new value word `word` with its bytes in the
 *  value area, expected word `eword` for OP_CAS / OP_CAD: take the key's
 *  shard lock, let the test build's fault door act (doors.ts), free a
 *  region a busy allocator left retired, apply it (applyWrite), release.
 *  What applyWrite returns, or ST_BUSY with the word to wait on (the shard
 *  lock's, or the allocator's when a rebuild found it held). */
// @ts-ignore: decorator
@inline export function writeKey(hdr: usize, scratch: usize, id: u32, op: u32, klen: u32, word: u32, eword: u32): i32 {
  const key = scratch + SCRATCH_KEY;
  const h = hashKey(key, klen, load<u64>(hdr, HDR_SEED));
  const sh = shardOfHash(hdr, h);
  const lock = sh + SH_LOCK;
  if (!tryLock(lock, id)) return busy(scratch, lock);
  const val = scratch + load<u32>(hdr, HDR_VALUE_OFF);
  if (TEST) testFault(hdr, sh, scratch, key, klen, word, val, h);
  freeRetired(hdr, sh, id); // a region left over when the allocator was busy
  const st = applyWrite(hdr, sh, id, op, h, key, klen, word, val, eword, scratch + load<u32>(hdr, HDR_AUX_OFF), scratch);
  unlock(lock);
  return st == ST_BUSY ? busy(scratch, hdr + HDR_ALLOC_LOCK) : st;
}

/** Empty shard `sh` under its lock (clearLocked): ST_OK, or ST_BUSY with
 *  the word to wait on. */
export function clearShardAt(hdr: usize, scratch: usize, id: u32, sh: usize): i32 {
  if (!tryLock(sh + SH_LOCK, id)) return busy(scratch, sh + SH_LOCK);
  const st = clearLocked(hdr, sh, id);
  unlock(sh + SH_LOCK);
  return st == ST_BUSY ? busy(scratch, hdr + HDR_ALLOC_LOCK) : st;
}

/** Drop every entry of cache shard `sh` that expired at `now`, under its
 *  lock (eviction.ts: purgeShard): how many, or ST_BUSY. */
export function purgeShardAt(hdr: usize, scratch: usize, id: u32, sh: usize, now: f64): i32 {
  if (!tryLock(sh + SH_LOCK, id)) return busy(scratch, sh + SH_LOCK);
  const n = purgeShard(hdr, sh, scratch, now);
  unlock(sh + SH_LOCK);
  return <i32>n;
}
