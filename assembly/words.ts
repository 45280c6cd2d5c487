// Packed words: each is documented here, at its one definition, and read or
// built only through these helpers (as xsync reads resizeSeq).
//
//   table word (u64, shard header SH_TABLE): the table's control bytes
//       address (= its region) in the low 32 bits, its group count in the
//       high 32 bits; published with one atomic store.
//   owner state (u32, owner slot OWN_STATE): generation << 1 | alive.
//   owner token (u32, what attach returns and every export takes): owner id
//       | generation << OWNER_ID_BITS, so an instance whose slot was
//       released and reused is refused, not mistaken.
//   lock word (u32): the holder's owner id | LOCK_CONTENDED, 0 when free.
//   value word (u32, the first word of an entry, what reads return): vtype
//       << VTYPE_SHIFT | vlen.
//   out-of-line cell (u64, a cell's first 8 bytes): CELL_OUTLINE << 24 in
//       the value word's place, then the entry's heap address.
//   value word of a cache entry: also MAIN_BIT (in the main queue) and,
//       with an expiry, VTYPE_META (an 8-byte meta word precedes the value,
//       counted in vlen).
//   meta word (u64, before the value of an entry with an expiry): the
//       expiry, ms since the Unix epoch.
//   queue item (u64, in a cache shard's rings): the key hash's low 32 bits
//       | its 7-bit tag << 32.

import {
  OWNER_ID_BITS, OWNER_ID_MASK, OWNER_GEN_MASK, LOCK_CONTENDED, VTYPE_SHIFT, VLEN_MASK, VTYPE_META,
} from "./shared";

// ---- table word -----------------------------------------------------------------
// @ts-ignore: decorator
@inline export function tableWord(ctrl: u32, groupCount: u32): u64 {
  return <u64>ctrl | (<u64>groupCount << 32);
}
/** Address of the table's control bytes (its region starts there). */
// @ts-ignore: decorator
@inline export function tableCtrl(t: u64): u32 {
  return <u32>t;
}
/** Number of groups (any count >= 1, not only powers of two). */
// @ts-ignore: decorator
@inline export function tableGroupCount(t: u64): u32 {
  return <u32>(t >>> 32);
}

// ---- owner state --------------------------------------------------------------
// @ts-ignore: decorator
@inline export function stateAlive(s: u32): bool {
  return (s & 1) != 0;
}
// @ts-ignore: decorator
@inline export function stateGen(s: u32): u32 {
  return (s >>> 1) & OWNER_GEN_MASK;
}
/** The state of a slot being claimed: same generation, alive. */
// @ts-ignore: decorator
@inline export function stateClaimed(s: u32): u32 {
  return s | 1;
}
/** The state after freeing a live slot: not alive, next generation
 *  (generation << 1 | 1, plus one). */
// @ts-ignore: decorator
@inline export function stateFreed(s: u32): u32 {
  return s + 1;
}

// ---- owner token --------------------------------------------------------------
// @ts-ignore: decorator
@inline export function packToken(id: u32, gen: u32): u32 {
  return id | (gen << OWNER_ID_BITS);
}
/** The owner id (registry slot + 1, what lock words hold) of a token. */
// @ts-ignore: decorator
@inline export function tokenId(token: u32): u32 {
  return token & OWNER_ID_MASK;
}
// @ts-ignore: decorator
@inline export function tokenGen(token: u32): u32 {
  return token >>> OWNER_ID_BITS;
}

// ---- lock word ----------------------------------------------------------------
/** Owner id holding a lock word's value (0 = free). */
// @ts-ignore: decorator
@inline export function lockHolder(v: u32): u32 {
  return v & ~LOCK_CONTENDED;
}

// ---- value word ---------------------------------------------------------------
// @ts-ignore: decorator
@inline export function valueWord(vtype: u32, vlen: u32): u32 {
  return (vtype << VTYPE_SHIFT) | vlen;
}
// @ts-ignore: decorator
@inline export function vtypeOf(w: u32): u32 {
  return w >>> VTYPE_SHIFT;
}
// @ts-ignore: decorator
@inline export function vlenOf(w: u32): u32 {
  return w & VLEN_MASK;
}
/** Does the entry with value word `w` carry a meta word (an expiry)? */
// @ts-ignore: decorator
@inline export function hasMeta(w: u32): bool {
  return (w & (<u32>VTYPE_META << VTYPE_SHIFT)) != 0;
}
/** The stored word of an entry with an expiry for public word `w`: the
 *  flag, and 8 more bytes. */
// @ts-ignore: decorator
@inline export function withMeta(w: u32): u32 {
  return (w | (<u32>VTYPE_META << VTYPE_SHIFT)) + META_BYTES;
}
/** Value-word flag of a cache entry in the main queue (the small queue
 *  without it). Only the core sees it: reads hand back publicWord. No
 *  entry word is CELL_OUTLINE's 0xff (types are below 0x40). */
export const MAIN_BIT: u32 = 0x80000000;
// @ts-ignore: decorator
@inline export function inMain(w: u32): bool {
  return (w & MAIN_BIT) != 0;
}
/** The word a read hands back for stored word `w`: without the queue bit,
 *  and with an expiry the meta word not counted (the META flag stays,
 *  telling the facade an expiry was handed back too). */
// @ts-ignore: decorator
@inline export function publicWord(w: u32): u32 {
  return (hasMeta(w) ? w - META_BYTES : w) & ~MAIN_BIT;
}
/** Bytes of the meta word. */
export const META_BYTES: u32 = 8;

// ---- meta word ------------------------------------------------------------------
// @ts-ignore: decorator
@inline export function metaExpiry(m: u64): u64 {
  return m;
}

// ---- queue item -----------------------------------------------------------------
// @ts-ignore: decorator
@inline export function queueItem(h: u64, tag: u8): u64 {
  return (h & 0xffffffff) | (<u64>tag << 32);
}
/** The key hash's low 32 bits (what picks its first group). */
// @ts-ignore: decorator
@inline export function itemHashLow(it: u64): u32 {
  return <u32>it;
}
// @ts-ignore: decorator
@inline export function itemTag(it: u64): u8 {
  return <u8>((it >>> 32) & 0x7f);
}
