/**
 * The packed words the facade reads, through one helper each (every packed
 * word is documented in assembly/words.ts; the numbers are shared.ts's).
 */
import { VTYPE_SHIFT, VLEN_MASK, OWNER_ID_MASK } from '../assembly/shared.js';

/** A value word: vtype << VTYPE_SHIFT | vlen. */
export function valueWord(vtype: number, vlen: number): number {
  return (vtype << VTYPE_SHIFT) | vlen;
}

export function vtypeOf(w: number): number {
  return w >>> VTYPE_SHIFT;
}

export function vlenOf(w: number): number {
  return w & VLEN_MASK;
}

/** The owner id (what lock words hold, what `release` takes) of a token. */
export function tokenId(token: number): number {
  return token & OWNER_ID_MASK;
}
