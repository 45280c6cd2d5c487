// Control bytes: one per slot, 16 per group, compared at once with SIMD.
// Every read or write of a control byte's meaning goes through here.
//
//   0x00..0x7f  FULL, the value is the slot's 7-bit tag (top 7 hash bits)
//   0x80        EMPTY: never used since the table was built; ends a probe
//   0x81        DELETED: a tombstone; a probe goes past it
//
// EMPTY and DELETED both have the top bit set and FULL never does, so
// "free" and "full" are one movemask each (as in hashbrown).

import { GROUP_SLOT_SHIFT } from "./layout";

export const CTRL_EMPTY: u8 = 0x80;
export const CTRL_DELETED: u8 = 0x81;

/** The tag of a hash: its top 7 bits, so FULL bytes never have bit 7 set. */
// @ts-ignore: decorator
@inline export function tagOf(h: u64): u8 {
  return <u8>(h >>> 57);
}

/** Lanes whose control byte equals `b`. */
// @ts-ignore: decorator
@inline export function matchByte(ctrl: v128, b: u8): i32 {
  return i8x16.bitmask(i8x16.eq(ctrl, i8x16.splat(<i8>b)));
}

/** Lanes whose control byte equals the tag. */
// @ts-ignore: decorator
@inline export function matchTag(ctrl: v128, tag: u8): i32 {
  return matchByte(ctrl, tag);
}

/** Lanes that are EMPTY. */
// @ts-ignore: decorator
@inline export function matchEmpty(ctrl: v128): i32 {
  return matchByte(ctrl, CTRL_EMPTY);
}

/** Lanes that are EMPTY or DELETED (top bit set): free for an insert. */
// @ts-ignore: decorator
@inline export function matchFree(ctrl: v128): i32 {
  return i8x16.bitmask(ctrl);
}

/** Lanes that are FULL (top bit clear). */
// @ts-ignore: decorator
@inline export function matchFull(ctrl: v128): i32 {
  return ~i8x16.bitmask(ctrl) & 0xffff;
}

/** The control bytes of group g of a table whose control bytes start at
 *  `ctrl` (one byte per slot: a group's are GROUP_SLOTS bytes). */
// @ts-ignore: decorator
@inline export function groupCtrl(ctrl: usize, g: u32): v128 {
  return v128.load(ctrl + (<usize>g << GROUP_SLOT_SHIFT));
}

/** The control bytes of the group that holds the control byte at `at`
 *  (control bytes start 16-aligned: a group's are one aligned v128). */
// @ts-ignore: decorator
@inline export function groupCtrlOf(at: usize): v128 {
  return v128.load(at & ~((<usize>1 << GROUP_SLOT_SHIFT) - 1));
}

/** Mark every slot of `n` groups from `ctrl` EMPTY (a fresh or emptied
 *  table). */
export function fillEmpty(ctrl: usize, n: u32): void {
  const empty = i8x16.splat(<i8>CTRL_EMPTY);
  for (let g: u32 = 0; g < n; g++) v128.store(ctrl + (<usize>g << GROUP_SLOT_SHIFT), empty);
}

/** Slots of `n` groups from `ctrl` whose control byte is `b`. */
export function countByte(ctrl: usize, n: u32, b: u8): u32 {
  let k: u32 = 0;
  for (let g: u32 = 0; g < n; g++) k += <u32>popcnt(matchByte(groupCtrl(ctrl, g), b));
  return k;
}
