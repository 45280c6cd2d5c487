// TEST ONLY: doors into the core for the tests, compiled into the test
// build alone (test.ts exports them; a write calls testFault under
// `if (TEST)`, ops.ts: writeKey). A release build has none of this (a
// test checks its export list). Its rank is below ops.ts, whose write
// path holds the fault door: it needs nothing above the writer.

import {
  headerBase, HDR_MAX_KEY, HDR_SEED, HDR_FREE_BYTES, SH_LOCK, SH_DEAD, SH_HEAP_TOP, SH_HEAP_END, CELL_BYTES,
  E_WORD, entryBytes, valueOffset, shardAt, shardCountOf, shardOfHash,
} from "./layout";
import {
  ST_OK, ST_NOT_FOUND, ST_BAD_ARG, SCRATCH_KEY, SCRATCH_TEST, TEST_FAULT_ABORT, TEST_FAULT_STAGED,
  CELL_FORM_ABSENT, CELL_FORM_INLINE, CELL_FORM_OUTLINE, CORRUPT_DEAD_BYTES, CORRUPT_HEAP_PARSE,
  CORRUPT_FREE_BYTES,
} from "./shared";
import { hashKey } from "./hash";
import { seqBegin, seqEnd, tableLoad, tryLock, unlock, busy, stripeBump } from "./sync";
import { tokenId, vlenOf, hasMeta, withMeta, MAIN_BIT } from "./words";
import { find, memBytes, refEntry, isOutline, metaAt } from "./table";
import { ownerScratch } from "./owners";
import { stageInline } from "./writer";

/** The fault a test asked for in scratch word SCRATCH_TEST, while holding
 *  the shard lock of a write (TEST_FAULT_*): an abort, as a failed internal
 *  check would; a Wasm trap; or a trap in the middle of rewriting the key's
 *  inline entry with the new value (after the switch to the staging cell,
 *  as a writer stopped there would leave it; a plain trap if the new entry
 *  or the old one is not inline). */
export function testFault(
  hdr: usize, sh: usize, scratch: usize, key: usize, klen: u32, word: u32, val: usize, h: u64,
): void {
  const kind = load<u32>(scratch, SCRATCH_TEST);
  if (kind == 0) return;
  store<u32>(scratch, 0, SCRATCH_TEST);
  if (kind == TEST_FAULT_ABORT) abort("test-induced abort", "assembly/doors.ts", 1, 1);
  if (kind == TEST_FAULT_STAGED) {
    const ref = find(tableLoad(sh), h, key, klen, memBytes(hdr));
    if (ref != 0 && !isOutline(ref)) {
      // An entry with an expiry keeps its meta word, and a cache entry its
      // queue bit, as replace would.
      const old = load<u32>(refEntry(ref), E_WORD);
      const w = (hasMeta(old) ? withMeta(word) : word) | (old & MAIN_BIT);
      const meta = hasMeta(old) ? load<u64>(metaAt(refEntry(ref))) : 0;
      if (entryBytes(klen, vlenOf(w)) <= CELL_BYTES) {
        seqBegin(sh);
        stageInline(sh, ref, key, klen, w, val, meta);
      }
    }
  }
  unreachable();
}

/** The slot reference of the scratch key, or 0 (absent or bad argument).
 *  No write may be in flight. */
function scratchKeyRef(token: u32, klen: u32): u32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return 0;
  const key = scratch + SCRATCH_KEY;
  const h = hashKey(key, klen, load<u64>(hdr, HDR_SEED));
  return find(tableLoad(shardOfHash(hdr, h)), h, key, klen, memBytes(hdr));
}

/** Where the scratch key's entry is: CELL_FORM_*. */
export function cellForm(token: u32, klen: u32): u32 {
  const ref = scratchKeyRef(token, klen);
  return ref == 0 ? CELL_FORM_ABSENT : isOutline(ref) ? CELL_FORM_OUTLINE : CELL_FORM_INLINE;
}

/** The address of the scratch key's cell (0 if absent): for the layout
 *  test, which measures where cells fall. */
export function cellAddress(token: u32, klen: u32): u32 {
  return scratchKeyRef(token, klen);
}

/** The address of the scratch key's entry, in its cell or the heap. */
export function entryAddress(token: u32, klen: u32): u32 {
  const ref = scratchKeyRef(token, klen);
  return ref == 0 ? 0 : refEntry(ref);
}

/** The address of shard `shard`'s header (the seq word is its first). */
export function shardAddress(shard: u32): u32 {
  const hdr = headerBase();
  return shard < shardCountOf(hdr) ? <u32>shardAt(hdr, shard) : 0;
}

/** The address of shard `shard`'s lock word. */
export function shardLockAddress(shard: u32): u32 {
  const a = shardAddress(shard);
  return a == 0 ? 0 : a + SH_LOCK;
}

/** The header's address (just past the core's static data). */
export function headerAddress(): u32 {
  return <u32>headerBase();
}

/** The low 32 bits of the hash of the scratch key under another seed
 *  (0, 0 = unseeded), which pick the first group (see firstGroup): for the
 *  hash-flooding test. */
export function testHash(token: u32, klen: u32, seedLo: u32, seedHi: u32): u32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return 0;
  return <u32>hashKey(scratch + SCRATCH_KEY, klen, <u64>seedLo | (<u64>seedHi << 32));
}

/** The torn-read detector's control: overwrite the value bytes of an
 *  existing key in place with `byte`, half at a time. protect = 1 takes the
 *  lock and brackets the writes with the seqlock as every real write does;
 *  protect = 0 does neither, which readers must be able to see as torn
 *  values. ST_OK, ST_NOT_FOUND, ST_BUSY, ST_BAD_ARG. */
export function testOverwrite(token: u32, klen: u32, byte: u32, protect: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || klen - 1 >= load<u32>(hdr, HDR_MAX_KEY)) return ST_BAD_ARG;
  const key = scratch + SCRATCH_KEY;
  const h = hashKey(key, klen, load<u64>(hdr, HDR_SEED));
  const sh = shardOfHash(hdr, h);
  if (protect != 0 && !tryLock(sh + SH_LOCK, tokenId(token))) return busy(scratch, sh + SH_LOCK);
  const ref = find(tableLoad(sh), h, key, klen, memBytes(hdr));
  if (ref != 0) {
    const e = refEntry(ref);
    const vlen = vlenOf(load<u32>(e, E_WORD));
    const v = <usize>e + valueOffset(klen);
    // (The key's write stripe too, as a real write bumps it: inside the
    // bracket; unprotected, before and after, so that the read memo keeps
    // neither the old value nor a torn one read meanwhile.)
    if (protect != 0) seqBegin(sh);
    else stripeBump(sh, h);
    memory.fill(v, <u8>byte, vlen >>> 1);
    for (let i = 0; i < 64; i++) atomic.load<u32>(sh); // widen the window
    memory.fill(v + (vlen >>> 1), <u8>byte, vlen - (vlen >>> 1));
    stripeBump(sh, h);
    if (protect != 0) seqEnd(sh);
  }
  if (protect != 0) unlock(sh + SH_LOCK);
  return ref != 0 ? ST_OK : ST_NOT_FOUND;
}

/** Stall shard `shard` as a writer preempted in the middle of a write would:
 *  on = 1 takes its lock and makes its seq odd (readers retry, then fall
 *  back to the lock and find it held); on = 0 undoes that. ST_OK, ST_BUSY
 *  (someone else holds it), ST_BAD_ARG. */
export function testStall(token: u32, shard: u32, on: u32): i32 {
  const hdr = headerBase();
  const scratch = ownerScratch(hdr, token);
  if (scratch == 0 || shard >= shardCountOf(hdr)) return ST_BAD_ARG;
  const sh = shardAt(hdr, shard);
  if (on != 0) {
    if (!tryLock(sh + SH_LOCK, tokenId(token))) return busy(scratch, sh + SH_LOCK);
    seqBegin(sh);
  } else {
    seqEnd(sh);
    unlock(sh + SH_LOCK);
  }
  return ST_OK;
}

/** The map.check() detector's control: damage shard `shard` (or the
 *  allocator) the way CORRUPT_* says, with no lock (no write may be in
 *  flight). ST_OK or ST_BAD_ARG. */
export function testCorrupt(shard: u32, kind: u32): i32 {
  const hdr = headerBase();
  if (shard >= shardCountOf(hdr)) return ST_BAD_ARG;
  const sh = shardAt(hdr, shard);
  if (kind == CORRUPT_DEAD_BYTES) {
    store<u32>(sh, load<u32>(sh, SH_DEAD) + 8, SH_DEAD);
  } else if (kind == CORRUPT_HEAP_PARSE) {
    // A top that is not an entry boundary: the heap no longer parses to it.
    // (Down when the heap is full to its end: a top past the end is
    // another rule's damage, HEAP_BOUNDS, which this control once hit.)
    const top = load<u32>(sh, SH_HEAP_TOP);
    store<u32>(sh, top + 4 <= load<u32>(sh, SH_HEAP_END) ? top + 4 : top - 4, SH_HEAP_TOP);
  } else if (kind == CORRUPT_FREE_BYTES) {
    store<u32>(hdr, load<u32>(hdr, HDR_FREE_BYTES) + 64, HDR_FREE_BYTES);
  } else {
    return ST_BAD_ARG;
  }
  return ST_OK;
}
