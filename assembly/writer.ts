// Writing one key's entry, under its shard's lock: the steps of an insert
// (prepareInsert, insertNew), a replace and a remove. What an operation
// means (OP_*) is ops.ts's, one rank up with eviction.
//
// Contract: the caller holds the shard lock, so the table, its cells and
// its heap are sound and nobody else changes them; readers may be reading
// them at any moment, so every change a reader could see is published with
// one aligned store, bracketed by the seqlock unless it is one of the
// single-store in-place updates (Overview in overview.ts: "Seqlock and write
// lock", "Crash consistency"). Making room (growing, compacting) is
// resize.ts's; a cache map's counts and queue bits are policy.ts's, and
// nothing here evicts (eviction.ts calls remove).

import {
  SH_COUNT, SH_USED, SH_HEAP_TOP, SH_DEAD, HDR_COUNT, GROUP_SLOTS, CELL_BYTES, CELL_ADDR, E_WORD, E_KLEN, E_KEY,
  entryBytes, valueOffset, LOAD_DEN, maxLoadNum, crowdedGroups,
} from "./layout";
import { ST_OK, ST_FULL, IN_PLACE_MAX_VLEN } from "./shared";
import { CTRL_EMPTY, CTRL_DELETED, tagOf, matchEmpty, groupCtrlOf } from "./ctrl";
import { seqBegin, seqEnd, tableLoad, stripeBump } from "./sync";
import { tableGroupCount, vlenOf, hasMeta, withMeta, META_BYTES, MAIN_BIT } from "./words";
import {
  find, findFree, memBytes, stageOf, refCtrl, isOutline, outlineCell, refEntry,
} from "./table";
import { cacheOn, entryKv, leaving, resized } from "./policy";
import { rebuild, reserveHeap, MAX_GROUPS } from "./resize";

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

/** Make room in the table for one more entry of `size` bytes (`stored`
 *  word's entry of key length klen): grow or rebuild it past its max load,
 *  reserve heap for an entry too long for a cell, and lengthen a crowded
 *  probe path, so that findFree(h) then finds a free slot. The first step
 *  of an insert (ops.ts), which may fail: ST_OK, ST_FULL or ST_BUSY
 *  (allocator); nothing is published either way. */
export function prepareInsert(hdr: usize, sh: usize, id: u32, h: u64, klen: u32, stored: u32): i32 {
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
  while (findFree(tableLoad(sh), h) == 0) {
    // The probe path is crowded (colliding hashes): more groups until it is
    // not (crowdedGroups); the memory maximum bounds this.
    const n = tableGroupCount(tableLoad(sh));
    if (n >= MAX_GROUPS) return ST_FULL;
    const st = rebuild(hdr, sh, id, count + 1, heapSize, <u32>crowdedGroups(n), true);
    if (st != ST_OK) return st;
  }
  return ST_OK;
}

/** Insert a key known to be absent, after prepareInsert said ST_OK: with
 *  stored word `stored` (the facade's word, with VTYPE_META and a cache
 *  entry's queue bit as the caller chose; meta word `meta`), inline in
 *  the free cell if it fits, else in the reserved heap. Cannot fail. */
export function insertNew(hdr: usize, sh: usize, h: u64, key: usize, klen: u32, stored: u32, val: usize, meta: u64): void {
  const t = tableLoad(sh);
  const ref = findFree(t, h);
  // The cell is free (EMPTY or DELETED): no reader that passes its seq check
  // reads it, so it is written before the bracket; its control byte
  // publishes it.
  if (entryBytes(klen, vlenOf(stored)) <= CELL_BYTES) {
    writeEntry(ref, key, klen, stored, val, meta);
  } else {
    store<u64>(ref, outlineCell(appendEntry(sh, key, klen, stored, val, meta)));
  }
  const wasEmpty = load<u8>(refCtrl(t, ref)) == CTRL_EMPTY;
  seqBegin(sh);
  store<u8>(refCtrl(t, ref), tagOf(h)); // publishes the entry
  seqEnd(sh);
  store<u32>(sh, load<u32>(sh, SH_COUNT) + 1, SH_COUNT);
  if (wasEmpty) store<u32>(sh, load<u32>(sh, SH_USED) + 1, SH_USED);
  atomic.add<u32>(hdr, 1, HDR_COUNT);
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
  if (old == word && vlen <= <u32>IN_PLACE_MAX_VLEN) {
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
    // "Crash consistency" in overview.ts). No heap, no allocation.
    const dead = heapBytesOf(ref, klen);
    seqBegin(sh);
    const stage = stageInline(sh, ref, key, klen, word, val, 0);
    moveInline(ref, stage, size);
    stripeBump(sh, h);
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
  if (old == stored && vlen <= <u32>IN_PLACE_MAX_VLEN) {
    let at = <usize>e + valueOffset(klen);
    if (hasMeta(stored)) {
      if (load<u64>(at) != expiry) {
        seqBegin(sh);
        atomic.store<u64>(at, expiry);
        if (vlen > 0) atomic.store<u64>(at + META_BYTES, load<u64>(val));
        stripeBump(sh, h);
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
    stripeBump(sh, h);
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
  stripeBump(sh, h);
  seqEnd(sh);
  addDead(sh, dead);
  return ST_OK;
}

/** Remove the key at `ref`; bump write stripe `stripe` (sync.ts stripeOf;
 *  0: none, an eviction or expiry in a cache map). */
export function remove(hdr: usize, sh: usize, ref: u32, klen: u32, stripe: usize): void {
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
  if (stripe != 0) atomic.add<u32>(stripe, 1);
  seqEnd(sh);
  store<u32>(sh, load<u32>(sh, SH_COUNT) - 1, SH_COUNT);
  if (toEmpty) store<u32>(sh, load<u32>(sh, SH_USED) - 1, SH_USED);
  addDead(sh, dead);
  atomic.sub<u32>(hdr, 1, HDR_COUNT);
}
