/**
 * The value word, the one packed word the codec reads and writes: through
 * one helper each (documented in assembly/words.ts; the numbers are
 * shared.ts's).
 */
import { VTYPE_SHIFT, VLEN_MASK, VTYPE_MASK, VTYPE_META, T_PACKED, T_RECORDS } from '../../assembly/shared.js';

/** A value word: vtype << VTYPE_SHIFT | vlen. */
export function valueWord(vtype: number, vlen: number): number {
  return (vtype << VTYPE_SHIFT) | vlen;
}

/** The value type of a word (without the VTYPE_META flag). */
export function vtypeOf(w: number): number {
  return (w >>> VTYPE_SHIFT) & VTYPE_MASK;
}

/** Did the read that handed back word `w` also hand back an expiry (a
 *  cache entry's, at SCRATCH_EXPIRY or BATCH_EXPIRY)? */
export function hasExpiry(w: number): boolean {
  return (w & (VTYPE_META << VTYPE_SHIFT)) !== 0;
}

export function vlenOf(w: number): number {
  return w & VLEN_MASK;
}

/** Is `vtype` an object or array (plain msgpack or records)? */
export function isObject(vtype: number): boolean {
  return vtype === T_PACKED || vtype === T_RECORDS;
}
