// Control bytes: one per slot, 16 per group, compared at once with SIMD.
//
//   0x00..0x7f  FULL, the value is the slot's 7-bit tag (top 7 hash bits)
//   0x80        EMPTY: never used since the table was built; ends a probe
//   0x81        DELETED: a tombstone; a probe goes past it

export const CTRL_EMPTY: u8 = 0x80;
export const CTRL_DELETED: u8 = 0x81;

/** The tag of a hash: its top 7 bits, so FULL bytes never have bit 7 set. */
// @ts-ignore: decorator
@inline export function tagOf(h: u64): u8 {
  return <u8>(h >>> 57);
}

/** Lanes whose control byte equals the tag. */
// @ts-ignore: decorator
@inline export function matchTag(ctrl: v128, tag: u8): i32 {
  return i8x16.bitmask(i8x16.eq(ctrl, i8x16.splat(<i8>tag)));
}

/** Lanes that are EMPTY. */
// @ts-ignore: decorator
@inline export function matchEmpty(ctrl: v128): i32 {
  return i8x16.bitmask(i8x16.eq(ctrl, i8x16.splat(<i8>CTRL_EMPTY)));
}

/** Lanes that are EMPTY or DELETED (0x80 or 0x81): free for an insert. */
// @ts-ignore: decorator
@inline export function matchFree(ctrl: v128): i32 {
  return i8x16.bitmask(
    i8x16.eq(v128.and(ctrl, i8x16.splat(<i8>0xfe)), i8x16.splat(<i8>CTRL_EMPTY)),
  );
}

/** Lanes that are FULL (bit 7 clear). */
// @ts-ignore: decorator
@inline export function matchFull(ctrl: v128): i32 {
  return ~i8x16.bitmask(ctrl) & 0xffff;
}

/** The control bytes of an empty group: 16 x EMPTY. */
// @ts-ignore: decorator
@inline export function emptyGroupCtrl(): v128 {
  return i8x16.splat(<i8>CTRL_EMPTY);
}
