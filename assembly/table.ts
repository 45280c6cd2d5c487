// The raw table: probing, reading, inserting, replacing, removing and
// rebuilding one shard. No argument checks here (index.ts does them); the
// functions state what they rely on. Writers must hold the shard lock.
//
// A slot reference ("ref") is the address of its cell (32-aligned, so never
// 0 or FIND_TORN); 0 means none. Its control byte is found from the table
// word: slot number = (ref - cells) / 32.

import {
  SH_COUNT, SH_USED, SH_HEAP_TOP, SH_HEAP_END, SH_REGION, SH_REGION_BYTES,
  SH_DEAD, SH_PENDING, SH_PENDING_BYTES, SH_RETIRED, SH_RETIRED_BYTES,
  HDR_SEED, HDR_COUNT, HDR_MIN_GROUPS, HDR_MEM_BYTES,
  GROUP_SLOTS, GROUP_SLOT_SHIFT, CELL_BYTES, CELL_SHIFT, CELL_OUTLINE, CELL_ADDR,
  ctrlBytes, tableBytes, firstGroup, nextGroup,
  E_WORD, E_KLEN, E_KEY, VLEN_MASK, entryBytes, valueOffset, align64,
  LOAD_NUM, LOAD_DEN, REBUILD_LOAD_NUM, REBUILD_LOAD_DEN,
  HEAP_SLACK_NUM, HEAP_SLACK_DEN, MIN_HEAP_BYTES, MAX_PROBE_GROUPS,
} from "./layout";
import {
  CTRL_EMPTY, CTRL_DELETED, tagOf, matchTag, matchEmpty, matchFree, matchFull,
  emptyGroupCtrl,
} from "./ctrl";
import { hashKey } from "./hash";
import {
  seqBegin, seqEnd, seqRetire, tableLoad, tablePublish, packTable, tableGroups,
  tableCount,
} from "./sync";
import { allocRegion, freeRegion, freeRegionWaiting, ALLOC_BUSY, ALLOC_FULL } from "./alloc";
import { ST_OK, ST_BUSY, ST_FULL } from "./shared";

// ---- table geometry and slot references ------------------------------------

/** Address of the first cell of table `t`. */
// @ts-ignore: decorator
@inline export function cellsOf(t: u64): u32 {
  return tableGroups(t) + <u32>ctrlBytes(tableCount(t));
}
/** Address of the heap of table `t` (just past its cells). */
// @ts-ignore: decorator
@inline export function heapStartOf(t: u64): u32 {
  return tableGroups(t) + <u32>tableBytes(tableCount(t));
}
/** Address of the staging cell of table `t` (just before its heap). */
// @ts-ignore: decorator
@inline export function stageOf(t: u64): u32 {
  return heapStartOf(t) - CELL_BYTES;
}
/** Slot number (group * 16 + index) of a reference into table `t`. */
// @ts-ignore: decorator
@inline export function slotNumber(t: u64, ref: u32): u32 {
  return (ref - cellsOf(t)) >> CELL_SHIFT;
}
/** Address of the control byte of a reference into table `t`. */
// @ts-ignore: decorator
@inline export function refCtrl(t: u64, ref: u32): usize {
  return tableGroups(t) + slotNumber(t, ref);
}
/** Is the cell's entry out of line (in the heap)? */
// @ts-ignore: decorator
@inline export function isOutline(ref: u32): bool {
  return (load<u32>(ref, E_WORD) >>> 24) == CELL_OUTLINE;
}
/** The entry of a full cell: the cell itself, or its heap address. Under the
 *  shard lock only (readers use readableEntry). */
// @ts-ignore: decorator
@inline export function refEntry(ref: u32): u32 {
  return isOutline(ref) ? load<u32>(ref, CELL_ADDR) : ref;
}
/** A cell's first 8 bytes when it points at heap entry `e`. */
// @ts-ignore: decorator
@inline function outlineCell(e: u32): u64 {
  return <u64>(CELL_OUTLINE << 24) | (<u64>e << 32);
}

/** The first FULL slot at or after slot number `from` of table `t`, as a
 *  slot reference, or 0 past the end. The one way to walk a table's
 *  entries (rebuild, iteration, checks); under the shard lock, so the table
 *  is sound. */
export function nextFull(t: u64, from: u32): u32 {
  const groups = tableGroups(t);
  const n = tableCount(t);
  let g = from >> GROUP_SLOT_SHIFT;
  let i = from & (GROUP_SLOTS - 1);
  while (g < n) {
    const m = matchFull(v128.load(groups + (g << GROUP_SLOT_SHIFT))) & ~((1 << i) - 1);
    if (m != 0) return cellsOf(t) + (((g << GROUP_SLOT_SHIFT) | <u32>ctz(m)) << CELL_SHIFT);
    g++;
    i = 0;
  }
  return 0;
}

/** Slots of table `t` whose control byte is `c` (under the shard lock). */
export function countCtrl(t: u64, c: u8): u32 {
  const groups = tableGroups(t);
  let k: u32 = 0;
  for (let g: u32 = 0; g < tableCount(t); g++) {
    k += <u32>popcnt(i8x16.bitmask(i8x16.eq(v128.load(groups + (g << GROUP_SLOT_SHIFT)), i8x16.splat(<i8>c))));
  }
  return k;
}

// ---- reading (safe on a torn table) ---------------------------------------------

/** Bytewise equality of n bytes, 8 at a time. */
// @ts-ignore: decorator
@inline export function bytesEqual(a: usize, b: usize, n: u32): bool {
  let i: u32 = 0;
  while (i + 8 <= n) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
    i += 8;
  }
  while (i < n) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
    i++;
  }
  return true;
}

/** The smallest entry: its header word and key length, padded. */
export const MIN_ENTRY_BYTES: u32 = 8;

/** Turn `bytes` (a multiple of 8, >= 8) of dead heap at `at` into one
 *  filler entry (klen 0, which no key matches), so that the heap still
 *  parses entry by entry. */
export function writeFiller(at: u32, bytes: u32): void {
  store<u32>(at, bytes - MIN_ENTRY_BYTES, E_WORD);
  store<u16>(at, 0, E_KLEN);
}

/** The entry of the cell at `ref` for a reader, or 0 if its address is
 *  implausible (torn): an out-of-line address is checked against `mem`
 *  before anything there is read. `ref` itself must be in bounds. */
// @ts-ignore: decorator
@inline export function readableEntry(ref: u32, mem: u64): u32 {
  if (!isOutline(ref)) return ref;
  const e = load<u32>(ref, CELL_ADDR);
  return <u64>e + MIN_ENTRY_BYTES <= mem ? e : 0;
}

/** Does the cell at `ref` hold the key? Safe on torn cells. */
// @ts-ignore: decorator
@inline function cellHasKey(ref: u32, key: usize, klen: u32, mem: u64): bool {
  const e = readableEntry(ref, mem);
  if (e == 0 || <u64>e + E_KEY + klen > mem) return false;
  // SAFETY: e + E_KEY + klen <= mem was checked just above.
  if (<u32>load<u16>(e, E_KLEN) != klen) return false;
  return bytesEqual(<usize>e + E_KEY, key, klen);
}

/** find's answer for a table word that cannot be right (its cells reach
 *  past the committed memory): the reader saw a torn or too new state and
 *  must retry. Never a slot reference (those are 32-aligned). */
export const FIND_TORN: u32 = 1;

/** Look up a key in table word `t`. Safe on a torn table word or torn
 *  slots: every address is checked against `mem` (committed bytes) before
 *  it is read, and the probe is bounded by MAX_PROBE_GROUPS. `mem` must be
 *  loaded after `t` (a table published after a memory.grow is only in
 *  bounds of the grown size). Hot path. Returns a slot reference, 0 (not
 *  there), or FIND_TORN (never under the shard lock: the holder's table is
 *  complete and inside the memory it saw when it took the lock). */
export function find(t: u64, h: u64, key: usize, klen: u32, mem: u64): u32 {
  const groups = tableGroups(t);
  const n = tableCount(t);
  if (groups == 0 || n == 0 || <u64>groups + tableBytes(n) > mem) return FIND_TORN;
  const cells = cellsOf(t);
  const tag = tagOf(h);
  let g = firstGroup(h, n);
  const limit = min(MAX_PROBE_GROUPS, n);
  for (let p: u32 = 0; p < limit; p++) {
    // SAFETY: every control byte and cell of the table is below mem.
    const ctrl = v128.load(groups + (g << GROUP_SLOT_SHIFT));
    let m = matchTag(ctrl, tag);
    while (m != 0) {
      const ref = cells + (((g << GROUP_SLOT_SHIFT) | <u32>ctz(m)) << CELL_SHIFT);
      m &= m - 1;
      if (cellHasKey(ref, key, klen, mem)) return ref;
    }
    if (matchEmpty(ctrl) != 0) return 0;
    g = nextGroup(g, n);
  }
  return 0;
}

/** Copy the value of the cell at `ref` (found by find; key length klen) to
 *  `out`. Returns its header word, or 0 if the entry is implausible (torn):
 *  an address outside `mem`, a value longer than `maxValue` or reaching past
 *  `mem`. */
// @ts-ignore: decorator
@inline export function copyValue(ref: u32, klen: u32, out: usize, maxValue: u32, mem: u64): u32 {
  const e = readableEntry(ref, mem);
  if (e == 0) return 0;
  const w = load<u32>(e, E_WORD);
  const vlen = w & VLEN_MASK;
  const src = <u64>e + valueOffset(klen);
  if (vlen > maxValue || src + vlen > mem) return 0;
  if (vlen == 0) return w;
  // A real entry is 8-aligned, so its value is. A torn address may not be:
  // a misaligned atomic load traps, and the 8-byte steps of copySmall could
  // read up to 7 bytes past `mem`. Treat it as torn.
  if ((src & 7) != 0) return 0;
  if (vlen <= 8) {
    // One aligned atomic load: a value replaced in place (see replace) is
    // seen whole, old or new.
    // SAFETY: src + 8 <= mem: src < mem, both multiples of 8; out has at
    // least 8 bytes.
    store<u64>(out, atomic.load<u64>(<usize>src));
    return w;
  }
  // SAFETY: src + vlen <= mem with src and mem multiples of 8, so the 8-byte
  // steps stay below mem; out has maxValue bytes rounded up to 8.
  copySmall(out, <usize>src, vlen);
  return w;
}

/** Values up to this size are copied with 8-byte loads and stores: a call
 *  into memory.copy costs more than that for small sizes (measured ~4 ns). */
const SMALL_COPY_BYTES: u32 = 64;

/** Copy n bytes (rounded up to 8 when n <= SMALL_COPY_BYTES: both areas
 *  are padded to 8 bytes). */
// @ts-ignore: decorator
@inline export function copySmall(dst: usize, src: usize, n: u32): void {
  if (n <= SMALL_COPY_BYTES) {
    for (let i: u32 = 0; i < n; i += 8) store<u64>(dst + i, load<u64>(src + i));
  } else {
    memory.copy(dst, src, n);
  }
}

/** Is the value of entry `e` exactly (type, bytes at `exp` of length elen)? */
export function valueEquals(e: u32, klen: u32, eword: u32, exp: usize): bool {
  return load<u32>(e, E_WORD) == eword &&
    bytesEqual(<usize>e + valueOffset(klen), exp, eword & VLEN_MASK);
}

// ---- writing (the caller holds the shard lock) -------------------------------

/** First EMPTY or DELETED slot on the probe path of h, as a slot reference,
 *  or 0 when the probe would pass MAX_PROBE_GROUPS (then the table must
 *  grow). */
function findFree(t: u64, h: u64): u32 {
  const groups = tableGroups(t);
  const n = tableCount(t);
  let g = firstGroup(h, n);
  const limit = min(MAX_PROBE_GROUPS, n);
  for (let p: u32 = 0; p < limit; p++) {
    const m = matchFree(v128.load(groups + (g << GROUP_SLOT_SHIFT)));
    if (m != 0) return cellsOf(t) + (((g << GROUP_SLOT_SHIFT) | <u32>ctz(m)) << CELL_SHIFT);
    g = nextGroup(g, n);
  }
  return 0;
}

/** Write a complete entry at `e` (a free cell or reserved heap space). */
// @ts-ignore: decorator
@inline function writeEntry(e: u32, key: usize, klen: u32, word: u32, val: usize): void {
  store<u32>(e, word, E_WORD);
  store<u16>(e, <u16>klen, E_KLEN);
  memory.copy(<usize>e + E_KEY, key, klen);
  memory.copy(<usize>e + valueOffset(klen), val, word & VLEN_MASK);
}

/** Write a complete entry into reserved heap space; returns its address.
 *  The heap must have room (checked by the caller). */
function appendEntry(sh: usize, key: usize, klen: u32, word: u32, val: usize): u32 {
  const e = load<u32>(sh, SH_HEAP_TOP);
  // Reserve first: a stop after this leaks the bytes, never reuses them.
  store<u32>(sh, e + entryBytes(klen, word & VLEN_MASK), SH_HEAP_TOP);
  writeEntry(e, key, klen, word, val);
  return e;
}

/** First half of an inline rewrite (under an odd seq): write the new entry
 *  into the staging cell and point the cell at it (one store; the cell may
 *  already be out of line). Returns the staging cell's address. */
export function stageInline(sh: usize, ref: u32, key: usize, klen: u32, word: u32, val: usize): u32 {
  const stage = stageOf(tableLoad(sh));
  writeEntry(stage, key, klen, word, val);
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
@inline function heapHasRoom(sh: usize, bytes: u32): bool {
  return <u64>load<u32>(sh, SH_HEAP_TOP) + bytes <= <u64>load<u32>(sh, SH_HEAP_END);
}

/** Heap bytes of the entry at `ref`: 0 when it is inline. */
// @ts-ignore: decorator
@inline function heapBytesOf(ref: u32, klen: u32): u32 {
  if (!isOutline(ref)) return 0;
  return entryBytes(klen, load<u32>(load<u32>(ref, CELL_ADDR), E_WORD) & VLEN_MASK);
}

/** Heaps up to this size are compacted in place when full of dead entries,
 *  rather than rebuilt into a new region: for the many small shards of a
 *  churning map this keeps the shared allocator (and its lock) out of the
 *  way. Readers retry during it (seq is odd), for at most a few µs. */
const COMPACT_IN_PLACE_MAX: u32 = 4096;

/** Make room for `size` heap bytes by sliding live entries down over dead
 *  ones, in address order, when the heap is small and mostly dead. An
 *  entry moves only to space that does not overlap it, and its cell is
 *  repointed with one store after the copy, so a stop at any instruction
 *  leaves every cell pointing at an intact entry. True if there is room. */
function compactInPlace(hdr: usize, sh: usize, size: u32): bool {
  const t = tableLoad(sh);
  const heapStart = heapStartOf(t);
  const top = load<u32>(sh, SH_HEAP_TOP);
  const end = load<u32>(sh, SH_HEAP_END);
  const dead = load<u32>(sh, SH_DEAD);
  if (end - heapStart > COMPACT_IN_PLACE_MAX || <u64>top - dead + size > <u64>end) return false;
  const seed = load<u64>(hdr, HDR_SEED);
  const mem = <u64>atomic.load<u32>(hdr, HDR_MEM_BYTES);
  seqBegin(sh);
  let dst = heapStart;
  let e = heapStart;
  while (e < top) {
    const klen = <u32>load<u16>(e, E_KLEN);
    const bytes = entryBytes(klen, load<u32>(e, E_WORD) & VLEN_MASK);
    const ref = find(t, hashKey(<usize>e + E_KEY, klen, seed), <usize>e + E_KEY, klen, mem);
    if (ref != 0 && isOutline(ref) && load<u32>(ref, CELL_ADDR) == e) {
      if (dst + bytes <= e) {
        memory.copy(dst, e, bytes);
        store<u32>(ref, dst, CELL_ADDR);
        dst += bytes;
      } else {
        // It would overlap its new place: leave it where it is, and turn
        // the gap before it into one dead filler entry (klen 0, which no
        // key matches) so that the heap still parses entry by entry.
        if (e > dst) writeFiller(dst, e - dst);
        dst = e + bytes;
      }
    }
    e += bytes;
  }
  store<u32>(sh, dst, SH_HEAP_TOP);
  store<u32>(sh, load<u32>(sh, SH_DEAD) - (top - dst), SH_DEAD);
  seqEnd(sh);
  return heapHasRoom(sh, size);
}

/** Make sure the heap has `size` more bytes, compacting or rebuilding (for
 *  `want` live entries). ST_OK, ST_FULL or ST_BUSY. */
function reserveHeap(hdr: usize, sh: usize, owner: u32, size: u32, want: u32): i32 {
  if (size == 0 || heapHasRoom(sh, size) || compactInPlace(hdr, sh, size)) return ST_OK;
  return rebuild(hdr, sh, owner, want, size, 0, true);
}

/** Insert a key known to be absent: inline in a free cell if it fits, else
 *  in the heap. ST_OK, ST_FULL or ST_BUSY (allocator). */
export function insert(
  hdr: usize, sh: usize, owner: u32, h: u64, key: usize, klen: u32, word: u32, val: usize,
): i32 {
  const size = entryBytes(klen, word & VLEN_MASK);
  const heapSize = size <= CELL_BYTES ? 0 : size;
  const count = load<u32>(sh, SH_COUNT);
  const slots = <u64>tableCount(tableLoad(sh)) * GROUP_SLOTS;
  if ((<u64>load<u32>(sh, SH_USED) + 1) * LOAD_DEN > slots * LOAD_NUM) {
    const st = rebuild(hdr, sh, owner, count + 1, heapSize, 0, true);
    if (st != ST_OK) return st;
  } else {
    const st = reserveHeap(hdr, sh, owner, heapSize, count + 1);
    if (st != ST_OK) return st;
  }
  let ref = findFree(tableLoad(sh), h);
  while (ref == 0) {
    // The probe path is crowded (colliding hashes): double the groups until
    // it is not; the memory maximum bounds this.
    const groups = tableCount(tableLoad(sh));
    if (groups >= 0x1000000) return ST_FULL;
    const st = rebuild(hdr, sh, owner, count + 1, heapSize, groups * 2, true);
    if (st != ST_OK) return st;
    ref = findFree(tableLoad(sh), h);
  }
  // The cell is free (EMPTY or DELETED): no reader that passes its seq check
  // reads it, so it is written before the bracket; its control byte
  // publishes it.
  if (heapSize == 0) {
    writeEntry(ref, key, klen, word, val);
  } else {
    store<u64>(ref, outlineCell(appendEntry(sh, key, klen, word, val)));
  }
  const t = tableLoad(sh);
  const wasEmpty = load<u8>(refCtrl(t, ref)) == CTRL_EMPTY;
  seqBegin(sh);
  store<u8>(refCtrl(t, ref), tagOf(h)); // publishes the entry
  seqEnd(sh);
  store<u32>(sh, count + 1, SH_COUNT);
  if (wasEmpty) store<u32>(sh, load<u32>(sh, SH_USED) + 1, SH_USED);
  atomic.add<u32>(hdr, 1, HDR_COUNT);
  return ST_OK;
}

/** Give the key at `ref` a new value. ST_OK, ST_FULL or ST_BUSY. */
export function replace(
  hdr: usize, sh: usize, owner: u32, ref: u32, h: u64, key: usize, klen: u32, word: u32,
  val: usize,
): i32 {
  const e = refEntry(ref);
  const old = load<u32>(e, E_WORD);
  const vlen = word & VLEN_MASK;
  // In place, with no seq bump: a reader loads the word and an 8-byte
  // value with single aligned loads, so it sees the old or the new one,
  // never a mix, and a seq bump would only make every reader of the shard
  // miss its cache line (the seq word is on the readers' line).
  if (old == word && vlen <= 8) {
    // Same type and length, at most 8 bytes: one atomic 8-byte store.
    if (vlen > 0) atomic.store<u64>(<usize>e + valueOffset(klen), load<u64>(val));
    return ST_OK;
  }
  if ((old & VLEN_MASK) == 0 && vlen == 0) {
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
    const stage = stageInline(sh, ref, key, klen, word, val);
    moveInline(ref, stage, size);
    seqEnd(sh);
    store<u32>(sh, load<u32>(sh, SH_DEAD) + dead, SH_DEAD);
    return ST_OK;
  }
  // Too long for a cell: to the heap, and the cell switches to it with one
  // store.
  const t = tableLoad(sh);
  const st = reserveHeap(hdr, sh, owner, size, load<u32>(sh, SH_COUNT));
  if (st != ST_OK) return st;
  if (tableLoad(sh) != t) {
    // Rebuilt: the key has another cell now (compaction moves no cell).
    ref = find(tableLoad(sh), h, key, klen, <u64>atomic.load<u32>(hdr, HDR_MEM_BYTES));
  }
  const dead = heapBytesOf(ref, klen);
  const ne = appendEntry(sh, key, klen, word, val);
  seqBegin(sh);
  atomic.store<u64>(ref, outlineCell(ne)); // publishes the new entry
  seqEnd(sh);
  store<u32>(sh, load<u32>(sh, SH_DEAD) + dead, SH_DEAD);
  return ST_OK;
}

/** Remove the key at `ref`. */
export function remove(hdr: usize, sh: usize, ref: u32, klen: u32): void {
  const t = tableLoad(sh);
  const dead = heapBytesOf(ref, klen);
  const ctrl = refCtrl(t, ref);
  // A slot may go back to EMPTY when its group still has an EMPTY slot: no
  // probe ever went past this group, so none needs the tombstone.
  const toEmpty = matchEmpty(v128.load(ctrl & ~(<usize>GROUP_SLOTS - 1))) != 0;
  seqBegin(sh);
  store<u8>(ctrl, toEmpty ? CTRL_EMPTY : CTRL_DELETED);
  seqEnd(sh);
  store<u32>(sh, load<u32>(sh, SH_COUNT) - 1, SH_COUNT);
  if (toEmpty) store<u32>(sh, load<u32>(sh, SH_USED) - 1, SH_USED);
  store<u32>(sh, load<u32>(sh, SH_DEAD) + dead, SH_DEAD);
  atomic.sub<u32>(hdr, 1, HDR_COUNT);
}

/** Copy the value of the entry at `ref` out; returns its header word. */
export function copyOut(ref: u32, klen: u32, out: usize): u32 {
  const e = refEntry(ref);
  const w = load<u32>(e, E_WORD);
  memory.copy(out, <usize>e + valueOffset(klen), w & VLEN_MASK);
  return w;
}

/** Free the shard's retired region if any; false if the allocator is busy. */
export function freeRetired(hdr: usize, sh: usize, owner: u32): bool {
  return freeRegion(hdr, owner, sh + SH_RETIRED, load<u32>(sh, SH_RETIRED_BYTES));
}

/** Build a new region for the shard and switch to it (see "Resize" in
 *  layout.ts). It holds `want` live entries at most REBUILD_LOAD full (and
 *  at least `minGroups` groups) and `extraBytes` more heap than the live
 *  entries take. Every entry that fits a cell goes inline. With keep =
 *  false the new table is empty (clear).
 *  ST_OK, ST_FULL (nothing changed) or ST_BUSY (allocator; nothing changed). */
export function rebuild(
  hdr: usize, sh: usize, owner: u32, want: u32, extraBytes: u32, minGroups: u32, keep: bool,
): i32 {
  if (!freeRetired(hdr, sh, owner)) return ST_BUSY;
  const seed = load<u64>(hdr, HDR_SEED);
  const old = tableLoad(sh);
  const oldRegion = load<u32>(sh, SH_REGION);
  // Enough groups for `want` entries at REBUILD_LOAD (rounded up).
  const perGroup = <u64>GROUP_SLOTS * REBUILD_LOAD_NUM;
  let groups = max(
    <u64>max(minGroups, load<u32>(hdr, HDR_MIN_GROUPS)),
    (<u64>want * REBUILD_LOAD_DEN + perGroup - 1) / perGroup,
  );
  let liveBytes: u64 = 0;
  if (keep && oldRegion != 0) {
    liveBytes = <u64>load<u32>(sh, SH_HEAP_TOP) - heapStartOf(old) - load<u32>(sh, SH_DEAD);
  }
  const heap = max(<u64>MIN_HEAP_BYTES, (liveBytes + extraBytes) * HEAP_SLACK_NUM / HEAP_SLACK_DEN);
  for (;;) {
    if (groups > 0x1000000) return ST_FULL;
    const n = <u32>groups;
    const total = align64(tableBytes(n) + heap);
    if (total > <u64>0xffff0000) return ST_FULL;
    // The size first: the region is recorded as pending as it is handed out.
    store<u32>(sh, <u32>total, SH_PENDING_BYTES);
    const region = allocRegion(hdr, owner, total, sh + SH_PENDING);
    if (region == ALLOC_FULL) return ST_FULL;
    if (region == ALLOC_BUSY) return ST_BUSY;
    const t = packTable(region, n);
    for (let g: u32 = 0; g < n; g++) {
      v128.store(<usize>region + (<usize>g << GROUP_SLOT_SHIFT), emptyGroupCtrl());
    }
    let top = heapStartOf(t);
    let fits = true;
    if (keep && oldRegion != 0) {
      for (let r = nextFull(old, 0); r != 0; r = nextFull(old, slotNumber(old, r) + 1)) {
        const e = refEntry(r);
        const klen = <u32>load<u16>(e, E_KLEN);
        const size = entryBytes(klen, load<u32>(e, E_WORD) & VLEN_MASK);
        const h = hashKey(<usize>e + E_KEY, klen, seed);
        const ref = findFree(t, h);
        if (ref == 0) {
          fits = false;
          break;
        }
        if (size <= CELL_BYTES) {
          memory.copy(ref, e, size);
        } else {
          memory.copy(top, e, size);
          store<u64>(ref, outlineCell(top));
          top += size;
        }
        store<u8>(refCtrl(t, ref), tagOf(h));
      }
    }
    if (!fits) {
      // A probe ran too long (never seen at this load): twice the groups.
      freeRegionWaiting(hdr, owner, sh + SH_PENDING, <u32>total);
      groups <<= 1;
      continue;
    }
    // Switch: record the old region as retired, publish, make readers that
    // may still be in the old region retry, then free it.
    store<u32>(sh, load<u32>(sh, SH_REGION_BYTES), SH_RETIRED_BYTES);
    store<u32>(sh, oldRegion, SH_RETIRED);
    tablePublish(sh, region, n);
    seqRetire(sh);
    store<u32>(sh, region, SH_REGION);
    store<u32>(sh, <u32>total, SH_REGION_BYTES);
    store<u32>(sh, top, SH_HEAP_TOP);
    store<u32>(sh, region + <u32>total, SH_HEAP_END);
    store<u32>(sh, 0, SH_DEAD);
    const live = keep ? load<u32>(sh, SH_COUNT) : 0;
    store<u32>(sh, live, SH_USED);
    store<u32>(sh, live, SH_COUNT);
    store<u32>(sh, 0, SH_PENDING);
    freeRetired(hdr, sh, owner);
    return ST_OK;
  }
}

/** Iteration: copy the first FULL slot at or after `cursor` (a slot number:
 *  group * 16 + index) into key/value buffers. Returns the next cursor and
 *  writes the key length and header word to `klenOut`/`wordOut`, or -1 at
 *  the end. The caller holds the shard lock. */
export function entryAt(
  sh: usize, cursor: u32, keyOut: usize, valOut: usize, klenOut: usize, wordOut: usize,
): i32 {
  const t = tableLoad(sh);
  const r = nextFull(t, cursor);
  if (r == 0) return -1;
  const e = refEntry(r);
  const klen = <u32>load<u16>(e, E_KLEN);
  memory.copy(keyOut, <usize>e + E_KEY, klen);
  store<u32>(klenOut, klen);
  store<u32>(wordOut, copyOut(r, klen, valOut));
  return <i32>(slotNumber(t, r) + 1);
}
