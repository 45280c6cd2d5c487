// Writing one key, under its shard's lock.
//
// Contract: the caller holds the shard lock, so the table, its cells and
// its heap are sound and nobody else changes them; readers may be reading
// them at any moment, so every change a reader could see is published with
// one aligned store, bracketed by the seqlock unless it is one of the
// single-store in-place updates (Overview in layout.ts: "Seqlock and write
// lock", "Crash consistency"). Making room (growing, compacting) is
// resize.ts's; a cache map's budgets, queues and expiry are cache.ts's.

import {
  SH_COUNT, SH_USED, SH_HEAP_TOP, SH_HEAP_END, SH_DEAD, HDR_COUNT,
  GROUP_SLOTS, CELL_BYTES, CELL_ADDR, E_WORD, E_KLEN, E_KEY, MIN_ENTRY_BYTES,
  firstGroup, nextGroup, entryBytes, valueOffset, LOAD_DEN, MAX_PROBE_GROUPS, maxLoadNum, crowdedGroups,
} from "./layout";
import {
  ST_OK, ST_NOT_FOUND, ST_FULL, ST_MISMATCH, OP_STORE, OP_LOAD_OR_STORE, OP_SWAP, OP_CAS,
  OP_DELETE, OP_LOAD_AND_DELETE, ST_TOO_LARGE, SCRATCH_NOW, SCRATCH_EXPIRY, CNT_EXPIRATIONS, VTYPE_META, VTYPE_SHIFT,
} from "./shared";
import { count as countIn } from "./counters";
import { CTRL_EMPTY, CTRL_DELETED, tagOf, matchEmpty, matchFree, groupCtrl, groupCtrlOf } from "./ctrl";
import { seqBegin, seqEnd, tableLoad } from "./sync";
import {
  tableCtrl, tableGroupCount, vlenOf, hasMeta, withMeta, publicWord, metaExpiry, META_BYTES, MAIN_BIT,
} from "./words";
import {
  cacheOn, noteTtl, refExpired, entryKv, newQueueBit, admitted, leaving, resized, makeRoom, sweep, overBytes, tooLarge,
} from "./cache";
import { cellsOf, stageOf, slotRef, refCtrl, isOutline, outlineCell, refEntry } from "./cells";
import { find, memBytes, bytesEqual } from "./reader";
import { rebuild, reserveHeap, MAX_GROUPS } from "./resize";

/** First EMPTY or DELETED slot on the probe path of h, as a slot reference,
 *  or 0 when the probe would pass MAX_PROBE_GROUPS (then the table must
 *  grow). */
export function findFree(t: u64, h: u64): u32 {
  const n = tableGroupCount(t);
  let g = firstGroup(h, n);
  const limit = min(MAX_PROBE_GROUPS, n);
  for (let p: u32 = 0; p < limit; p++) {
    const m = matchFree(groupCtrl(tableCtrl(t), g));
    if (m != 0) return slotRef(cellsOf(t), g, <u32>ctz(m));
    g = nextGroup(g, p + 1, n);
  }
  return 0;
}

/** Write a complete entry at `e` (a free cell or reserved heap space):
 *  stored word `word` (with VTYPE_META: meta word `meta`, then the value). */
// @ts-ignore: decorator
@inline function writeEntry(e: u32, key: usize, klen: u32, word: u32, val: usize, meta: u64): void {
  store<u32>(e, word, E_WORD);
  store<u16>(e, <u16>klen, E_KLEN);
  memory.copy(<usize>e + E_KEY, key, klen);
  let at = <usize>e + valueOffset(klen);
  let vlen = vlenOf(word);
  if (hasMeta(word)) {
    store<u64>(at, meta);
    at += META_BYTES;
    vlen -= META_BYTES;
  }
  memory.copy(at, val, vlen);
}

/** Turn `bytes` (a multiple of 8, >= 8) of dead heap at `at` into one
 *  filler entry (klen 0, which no key matches), so that the heap still
 *  parses entry by entry. */
export function writeFiller(at: u32, bytes: u32): void {
  store<u32>(at, bytes - MIN_ENTRY_BYTES, E_WORD);
  store<u16>(at, 0, E_KLEN);
}

/** Write a complete entry into reserved heap space; returns its address.
 *  The heap must have room (checked by the caller). */
function appendEntry(sh: usize, key: usize, klen: u32, word: u32, val: usize, meta: u64): u32 {
  const e = load<u32>(sh, SH_HEAP_TOP);
  // Reserve first: a stop after this leaks the bytes (recovery lowers the
  // top again), never reuses them.
  store<u32>(sh, e + entryBytes(klen, vlenOf(word)), SH_HEAP_TOP);
  writeEntry(e, key, klen, word, val, meta);
  return e;
}

/** First half of an inline rewrite (under an odd seq): write the new entry
 *  into the staging cell and point the cell at it (one store; the cell may
 *  already be out of line). Returns the staging cell's address. */
export function stageInline(sh: usize, ref: u32, key: usize, klen: u32, word: u32, val: usize, meta: u64): u32 {
  const stage = stageOf(tableLoad(sh));
  writeEntry(stage, key, klen, word, val, meta);
  atomic.store<u64>(ref, outlineCell(stage));
  return stage;
}

/** Make the cell at `ref` inline with the `size`-byte entry at `src`: its
 *  bytes 8.. first (unused while the cell is out of line), then its first
 *  8 bytes with one store. The cell must be out of line, and not pointing
 *  at bytes 8.. of itself. */
export function moveInline(ref: u32, src: u32, size: u32): void {
  memory.copy(<usize>ref + 8, <usize>src + 8, size - 8);
  atomic.store<u64>(ref, load<u64>(src));
}

/** Room in the heap for `bytes` more? */
// @ts-ignore: decorator
@inline export function heapHasRoom(sh: usize, bytes: u32): bool {
  return <u64>load<u32>(sh, SH_HEAP_TOP) + bytes <= <u64>load<u32>(sh, SH_HEAP_END);
}

/** Heap bytes of the entry at `ref`: 0 when it is inline. */
// @ts-ignore: decorator
@inline function heapBytesOf(ref: u32, klen: u32): u32 {
  if (!isOutline(ref)) return 0;
  return entryBytes(klen, vlenOf(load<u32>(load<u32>(ref, CELL_ADDR), E_WORD)));
}

/** Add `bytes` to the shard's dead-byte count. */
// @ts-ignore: decorator
@inline function addDead(sh: usize, bytes: u32): void {
  store<u32>(sh, load<u32>(sh, SH_DEAD) + bytes, SH_DEAD);
}

/** Insert a key known to be absent, with value word `word` (as the facade
 *  encodes it): inline in a free cell if it fits, else in the heap. In a
 *  cache map (`cache`) it first makes room in the shard's budgets, gets
 *  expiry `expiry` (0: none) and enters a queue. ST_OK, ST_FULL,
 *  ST_TOO_LARGE or ST_BUSY (allocator). */
export function insert(
  hdr: usize, sh: usize, id: u32, h: u64, key: usize, klen: u32, word: u32, val: usize,
  scratch: usize, expiry: u64, now: f64, cache: bool,
): i32 {
  const kv = klen + vlenOf(word);
  let stored = expiry != 0 ? withMeta(word) : word;
  if (cache) {
    const st = makeRoom(hdr, sh, scratch, kv, now);
    if (st != ST_OK) return st;
  }
  const size = entryBytes(klen, vlenOf(stored));
  const heapSize = size <= CELL_BYTES ? 0 : size;
  const count = load<u32>(sh, SH_COUNT);
  const slots = <u64>tableGroupCount(tableLoad(sh)) * GROUP_SLOTS;
  if ((<u64>load<u32>(sh, SH_USED) + 1) * LOAD_DEN > slots * maxLoadNum(sh)) {
    const st = rebuild(hdr, sh, id, count + 1, heapSize, 0, true);
    if (st != ST_OK) return st;
  } else {
    const st = reserveHeap(hdr, sh, id, heapSize, count + 1);
    if (st != ST_OK) return st;
  }
  let ref = findFree(tableLoad(sh), h);
  while (ref == 0) {
    // The probe path is crowded (colliding hashes): more groups until it is
    // not (crowdedGroups); the memory maximum bounds this.
    const n = tableGroupCount(tableLoad(sh));
    if (n >= MAX_GROUPS) return ST_FULL;
    const st = rebuild(hdr, sh, id, count + 1, heapSize, <u32>crowdedGroups(n), true);
    if (st != ST_OK) return st;
    ref = findFree(tableLoad(sh), h);
  }
  // The cell is free (EMPTY or DELETED): no reader that passes its seq check
  // reads it, so it is written before the bracket; its control byte
  // publishes it.
  if (cache) stored |= newQueueBit(sh, h);
  if (heapSize == 0) {
    writeEntry(ref, key, klen, stored, val, expiry);
  } else {
    store<u64>(ref, outlineCell(appendEntry(sh, key, klen, stored, val, expiry)));
  }
  const t = tableLoad(sh);
  const wasEmpty = load<u8>(refCtrl(t, ref)) == CTRL_EMPTY;
  seqBegin(sh);
  store<u8>(refCtrl(t, ref), tagOf(h)); // publishes the entry
  seqEnd(sh);
  store<u32>(sh, count + 1, SH_COUNT);
  if (wasEmpty) store<u32>(sh, load<u32>(sh, SH_USED) + 1, SH_USED);
  atomic.add<u32>(hdr, 1, HDR_COUNT);
  if (cache) admitted(hdr, sh, scratch, h, stored, kv, now);
  return ST_OK;
}

/** Give the key at `ref` a new value (word `word`, as the facade encodes
 *  it; in a cache map (`cache`) the entry keeps its queue and gets expiry
 *  `expiry`). ST_OK, ST_FULL or ST_BUSY. */
export function replace(
  hdr: usize, sh: usize, id: u32, ref: u32, h: u64, key: usize, klen: u32, word: u32, val: usize, expiry: u64,
  cache: bool,
): i32 {
  if (cache) return replaceCached(hdr, sh, id, ref, h, key, klen, word, val, expiry);
  const e = refEntry(ref);
  const old = load<u32>(e, E_WORD);
  const vlen = vlenOf(word);
  // In place, with no seq bump: a reader loads the word and an 8-byte
  // value with single aligned loads, so it sees the old or the new one,
  // never a mix, and a seq bump would only make every reader of the shard
  // miss its cache line (the seq word is on the readers' line).
  if (old == word && vlen <= 8) {
    // Same type and length, at most 8 bytes: one atomic 8-byte store.
    if (vlen > 0) atomic.store<u64>(<usize>e + valueOffset(klen), load<u64>(val));
    return ST_OK;
  }
  if (vlenOf(old) == 0 && vlen == 0) {
    // Only the type changes (true -> null ...): one store of the word.
    atomic.store<u32>(e, word, E_WORD);
    return ST_OK;
  }
  const size = entryBytes(klen, vlen);
  if (size <= CELL_BYTES) {
    // It fits the cell: rewrite it there through the staging cell (see
    // "Crash consistency" in layout.ts). No heap, no allocation.
    const dead = heapBytesOf(ref, klen);
    seqBegin(sh);
    const stage = stageInline(sh, ref, key, klen, word, val, 0);
    moveInline(ref, stage, size);
    seqEnd(sh);
    addDead(sh, dead);
    return ST_OK;
  }
  return replaceOutline(hdr, sh, id, ref, h, key, klen, word, val, 0);
}

/** A cache entry's replace: as replace, keeping the entry's queue bit,
 *  with a meta word if the new value has an expiry. An in-place update
 *  that changes the expiry too goes under the seqlock (two stores a reader
 *  must see together); one that keeps it stays a single store. */
function replaceCached(
  hdr: usize, sh: usize, id: u32, ref: u32, h: u64, key: usize, klen: u32, word: u32, val: usize, expiry: u64,
): i32 {
  const e = refEntry(ref);
  const old = load<u32>(e, E_WORD);
  const stored = (expiry != 0 ? withMeta(word) : word) | (old & MAIN_BIT);
  const vlen = vlenOf(word);
  if (old == stored && vlen <= 8) {
    let at = <usize>e + valueOffset(klen);
    if (hasMeta(stored)) {
      if (load<u64>(at) != expiry) {
        seqBegin(sh);
        atomic.store<u64>(at, expiry);
        if (vlen > 0) atomic.store<u64>(at + META_BYTES, load<u64>(val));
        seqEnd(sh);
        return ST_OK;
      }
      at += META_BYTES;
    }
    if (vlen > 0) atomic.store<u64>(at, load<u64>(val));
    return ST_OK;
  }
  const oldKv = entryKv(e);
  const size = entryBytes(klen, vlenOf(stored));
  if (size <= CELL_BYTES) {
    const dead = heapBytesOf(ref, klen);
    seqBegin(sh);
    const stage = stageInline(sh, ref, key, klen, stored, val, expiry);
    moveInline(ref, stage, size);
    seqEnd(sh);
    addDead(sh, dead);
    resized(sh, oldKv, klen + vlen);
    return ST_OK;
  }
  const st = replaceOutline(hdr, sh, id, ref, h, key, klen, stored, val, expiry);
  if (st == ST_OK) resized(sh, oldKv, klen + vlen);
  return st;
}

/** The end of replace for a value too long for a cell: to the heap, and
 *  the cell switches to it with one store. */
function replaceOutline(
  hdr: usize, sh: usize, id: u32, ref: u32, h: u64, key: usize, klen: u32, word: u32, val: usize, meta: u64,
): i32 {
  const size = entryBytes(klen, vlenOf(word));
  const t = tableLoad(sh);
  const st = reserveHeap(hdr, sh, id, size, load<u32>(sh, SH_COUNT));
  if (st != ST_OK) return st;
  if (tableLoad(sh) != t) {
    // Rebuilt: the key has another cell now (compaction moves no cell).
    ref = find(tableLoad(sh), h, key, klen, memBytes(hdr));
  }
  const dead = heapBytesOf(ref, klen);
  const ne = appendEntry(sh, key, klen, word, val, meta);
  seqBegin(sh);
  atomic.store<u64>(ref, outlineCell(ne)); // publishes the new entry
  seqEnd(sh);
  addDead(sh, dead);
  return ST_OK;
}

/** Remove the key at `ref`. */
export function remove(hdr: usize, sh: usize, ref: u32, klen: u32): void {
  const t = tableLoad(sh);
  const e = refEntry(ref);
  if (cacheOn(hdr)) leaving(sh, e);
  const dead = heapBytesOf(ref, klen);
  const ctrl = refCtrl(t, ref);
  // A slot may go back to EMPTY when its group still has an EMPTY slot: no
  // probe ever went past this group, so none needs the tombstone.
  const toEmpty = matchEmpty(groupCtrlOf(ctrl)) != 0;
  seqBegin(sh);
  store<u8>(ctrl, toEmpty ? CTRL_EMPTY : CTRL_DELETED);
  seqEnd(sh);
  store<u32>(sh, load<u32>(sh, SH_COUNT) - 1, SH_COUNT);
  if (toEmpty) store<u32>(sh, load<u32>(sh, SH_USED) - 1, SH_USED);
  addDead(sh, dead);
  atomic.sub<u32>(hdr, 1, HDR_COUNT);
}

/** Copy the value of the entry at `ref` out; returns the word a read
 *  hands back (publicWord), with the expiry (f64) at `expiryOut` if it has
 *  a meta word and `expiryOut` is not 0. */
export function copyOut(ref: u32, klen: u32, out: usize, expiryOut: usize): u32 {
  const e = refEntry(ref);
  const w = load<u32>(e, E_WORD);
  let at = <usize>e + valueOffset(klen);
  if (hasMeta(w)) {
    if (expiryOut != 0) store<f64>(expiryOut, <f64>metaExpiry(load<u64>(at)));
    at += META_BYTES;
  }
  const pw = publicWord(w);
  memory.copy(out, at, vlenOf(pw));
  return pw;
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
export function applyWrite(
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
    remove(hdr, sh, ref, klen);
    countIn(scratch, CNT_EXPIRATIONS, 1);
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
    remove(hdr, sh, ref, klen);
    return ST_OK;
  }
  if (op == <u32>OP_LOAD_AND_DELETE) {
    const prev = <i32>copyOut(ref, klen, aux, 0);
    remove(hdr, sh, ref, klen);
    return prev;
  }
  // OP_CAD
  if (!valueEquals(refEntry(ref), klen, eword, aux)) return ST_MISMATCH;
  remove(hdr, sh, ref, klen);
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
      remove(hdr, sh, ref, klen);
      return insert(hdr, sh, id, h, key, klen, word, val, scratch, expiry, now, cache);
    }
  }
  return replace(hdr, sh, id, ref, h, key, klen, word, val, expiry, cache);
}
