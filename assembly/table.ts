// The table's primitives: where slots, cells and entries are, the probe
// that finds a key or a free slot, and the entry format (copy a value out,
// write a filler). Everything above (reader, writer, resize, eviction,
// recovery, checks) is built from these; nothing here takes a lock, keeps
// state or knows a map's policy.
//
// Contract: each function says which state it may be given. `find`,
// `readableEntry`, `bytesEqual` and `memBytes` are safe on a torn table
// (the reader's contract, reader.ts: every address is checked against the
// committed memory before it is read, every loop is bounded). The rest
// reads a sound table: its caller holds the shard lock (or, for `find`
// with a sound table, knows it is sound). The only writes here are
// `writeFiller` and `copyOut`'s, into memory the caller owns.
//
// A slot reference ("ref") is the address of its cell (32-aligned, so never
// 0 or FIND_TORN); 0 means none. Its control byte is found from the table
// word: slot number = (ref - cells) / 32.

import {
  HDR_MEM_BYTES, SH_HEAP_TOP, SH_HEAP_END, GROUP_SLOTS, GROUP_SLOT_SHIFT, CELL_BYTES, CELL_SHIFT, CELL_OUTLINE,
  CELL_ADDR, E_WORD, E_KLEN, E_KEY, MIN_ENTRY_BYTES, MAX_PROBE_GROUPS, ctrlBytes, tableBytes, firstGroup,
  nextGroup, valueOffset,
} from "./layout";
import { tagOf, matchTag, matchEmpty, matchFree, matchFull, groupCtrl } from "./ctrl";
import {
  tableCtrl, tableGroupCount, vtypeOf, vlenOf, valueWord, hasMeta, metaExpiry, publicWord, META_BYTES,
} from "./words";

/** find's answer for a table word that cannot be right (its cells reach
 *  past the committed memory): the reader saw a torn or too new state and
 *  must retry. Never a slot reference (those are 32-aligned). */
export const FIND_TORN: u32 = 1;

// ---- memory and bytes ---------------------------------------------------------

/** The map's committed memory size (only grows). Safe anywhere. */
// @ts-ignore: decorator
@inline export function memBytes(hdr: usize): u64 {
  return <u64>atomic.load<u32>(hdr, HDR_MEM_BYTES);
}

/** Bytewise equality of n bytes, 8 at a time (both ranges readable). */
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

// ---- where things are ---------------------------------------------------------

/** Address of the first cell of table `t`. */
// @ts-ignore: decorator
@inline export function cellsOf(t: u64): u32 {
  return tableCtrl(t) + <u32>ctrlBytes(tableGroupCount(t));
}

/** Address of the heap of table `t` (just past its cells and staging cell). */
// @ts-ignore: decorator
@inline export function heapStartOf(t: u64): u32 {
  return tableCtrl(t) + <u32>tableBytes(tableGroupCount(t));
}

/** Address of the staging cell of table `t` (just before its heap). */
// @ts-ignore: decorator
@inline export function stageOf(t: u64): u32 {
  return heapStartOf(t) - CELL_BYTES;
}

/** The slot reference of slot `i` of group `g`, given the first cell. */
// @ts-ignore: decorator
@inline export function slotRef(cells: u32, g: u32, i: u32): u32 {
  return cells + (((g << GROUP_SLOT_SHIFT) | i) << CELL_SHIFT);
}

/** Slot number (group * 16 + index) of a reference into table `t`. */
// @ts-ignore: decorator
@inline export function slotNumber(t: u64, ref: u32): u32 {
  return (ref - cellsOf(t)) >> CELL_SHIFT;
}

/** Address of the control byte of a reference into table `t`. */
// @ts-ignore: decorator
@inline export function refCtrl(t: u64, ref: u32): usize {
  return tableCtrl(t) + slotNumber(t, ref);
}

/** Is the cell's entry out of line (in the heap)? */
// @ts-ignore: decorator
@inline export function isOutline(ref: u32): bool {
  return vtypeOf(load<u32>(ref, E_WORD)) == CELL_OUTLINE;
}

/** A cell's first 8 bytes when it points at heap entry `e`. */
// @ts-ignore: decorator
@inline export function outlineCell(e: u32): u64 {
  return <u64>valueWord(CELL_OUTLINE, 0) | (<u64>e << 32);
}

/** The entry of a full cell: the cell itself, or its heap address. Sound
 *  cells only (under the shard lock; readers use readableEntry). */
// @ts-ignore: decorator
@inline export function refEntry(ref: u32): u32 {
  return isOutline(ref) ? load<u32>(ref, CELL_ADDR) : ref;
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

/** Address of the meta word of entry `e` (which has one: hasMeta). */
// @ts-ignore: decorator
@inline export function metaAt(e: usize): usize {
  return e + valueOffset(<u32>load<u16>(e, E_KLEN));
}

// ---- the walk over full slots ------------------------------------------------

/** The first FULL slot at or after slot number `from` of table `t`, as a
 *  slot reference, or 0 past the end. */
function nextFull(t: u64, from: u32): u32 {
  const ctrl = tableCtrl(t);
  const n = tableGroupCount(t);
  let g = from >> GROUP_SLOT_SHIFT;
  let i = from & (GROUP_SLOTS - 1);
  while (g < n) {
    const m = matchFull(groupCtrl(ctrl, g)) & ~((1 << i) - 1);
    if (m != 0) return slotRef(cellsOf(t), g, <u32>ctz(m));
    g++;
    i = 0;
  }
  return 0;
}

/** The walk over a table's entries, the one way to visit them (rebuild,
 *  iteration, repair, checks; under the shard lock, so the table is sound):
 *  `for (let r = firstFull(t); r != 0; r = nextFullAfter(t, r))`. */
export function firstFull(t: u64): u32 {
  return nextFull(t, 0);
}
export function nextFullAfter(t: u64, ref: u32): u32 {
  return nextFull(t, slotNumber(t, ref) + 1);
}
/** The first FULL slot at or after slot number `cursor` (iteration). */
export function fullFrom(t: u64, cursor: u32): u32 {
  return nextFull(t, cursor);
}

// ---- probes ---------------------------------------------------------------------

/** Does the cell at `ref` hold the key? Safe on torn cells. */
// @ts-ignore: decorator
@inline function cellHasKey(ref: u32, key: usize, klen: u32, mem: u64): bool {
  const e = readableEntry(ref, mem);
  if (e == 0 || <u64>e + E_KEY + klen > mem) return false;
  // SAFETY: e + E_KEY + klen <= mem was checked just above.
  if (<u32>load<u16>(e, E_KLEN) != klen) return false;
  return bytesEqual(<usize>e + E_KEY, key, klen);
}

/** Look up a key in table word `t`. Safe on a torn table word or torn
 *  slots: every address is checked against `mem` (committed bytes) before
 *  it is read, and the probe is bounded by MAX_PROBE_GROUPS. `mem` must be
 *  loaded after `t` (a table published after a memory.grow is only in
 *  bounds of the grown size). Hot path. Returns a slot reference, 0 (not
 *  there), or FIND_TORN (never under the shard lock: the holder's table is
 *  complete and inside the memory it saw when it took the lock). */
export function find(t: u64, h: u64, key: usize, klen: u32, mem: u64): u32 {
  const ctrl = tableCtrl(t);
  const n = tableGroupCount(t);
  if (ctrl == 0 || n == 0 || <u64>ctrl + tableBytes(n) > mem) return FIND_TORN;
  const cells = cellsOf(t);
  const tag = tagOf(h);
  let g = firstGroup(h, n);
  const limit = min(MAX_PROBE_GROUPS, n);
  for (let p: u32 = 0; p < limit; p++) {
    // SAFETY: every control byte and cell of the table is below mem.
    const c = groupCtrl(ctrl, g);
    let m = matchTag(c, tag);
    while (m != 0) {
      const ref = slotRef(cells, g, <u32>ctz(m));
      m &= m - 1;
      if (cellHasKey(ref, key, klen, mem)) return ref;
    }
    if (matchEmpty(c) != 0) return 0;
    g = nextGroup(g, p + 1, n);
  }
  return 0;
}

/** First EMPTY or DELETED slot on the probe path of h in sound table `t`,
 *  as a slot reference, or 0 when the probe would pass MAX_PROBE_GROUPS
 *  (then the table must grow). */
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

// ---- the heap and the entry format ----------------------------------------------

/** Room in shard `sh`'s heap for `bytes` more? (Under the shard lock.) */
// @ts-ignore: decorator
@inline export function heapHasRoom(sh: usize, bytes: u32): bool {
  return <u64>load<u32>(sh, SH_HEAP_TOP) + bytes <= <u64>load<u32>(sh, SH_HEAP_END);
}

/** Turn `bytes` (a multiple of 8, >= 8) of dead heap at `at` into one
 *  filler entry (klen 0, which no key matches), so that the heap still
 *  parses entry by entry. The caller owns those bytes (under the shard
 *  lock, and no cell points there). */
export function writeFiller(at: u32, bytes: u32): void {
  store<u32>(at, bytes - MIN_ENTRY_BYTES, E_WORD);
  store<u16>(at, 0, E_KLEN);
}

/** Copy the value of the sound entry at `ref` (key length klen) to `out`;
 *  returns the word a read hands back (publicWord), with the expiry (f64)
 *  at `expiryOut` if the entry has a meta word and `expiryOut` is not 0. */
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
