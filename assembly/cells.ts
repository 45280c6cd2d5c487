// Where things are in a table: slot references, cells and entries. Pure
// address arithmetic on a table word and loads of a cell's or entry's own
// words; the callers state whether what they read may be torn (reader.ts)
// or is sound (under the shard lock).
//
// A slot reference ("ref") is the address of its cell (32-aligned, so never
// 0 or reader.ts's FIND_TORN); 0 means none. Its control byte is found from
// the table word: slot number = (ref - cells) / 32.

import {
  GROUP_SLOTS, GROUP_SLOT_SHIFT, CELL_BYTES, CELL_SHIFT, CELL_OUTLINE, CELL_ADDR,
  ctrlBytes, tableBytes, E_WORD,
} from "./layout";
import { matchFull, groupCtrl } from "./ctrl";
import { tableCtrl, tableGroupCount, vtypeOf, valueWord } from "./words";

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
