/**
 * What fetch finds for a key: whether it is there, its value, and when
 * that value stops being fresh — a stamped value's stamp (codec.ts), or
 * Infinity for a plain value (fresh until the core expires it). Plain
 * reads never look at stamps; this is the one read that does.
 */
import { ST_OK, ST_NOT_FOUND, ST_STALE, T_PACKED, T_UNDEFINED, SCRATCH_TAG_ADDR, SCRATCH_TAG_EPOCH, SCRATCH_TAG_SHARD } from '../../assembly/shared.js';
import { decodeValue, isStamped, stampOf, type Key } from '../codec/codec.js';
import { vtypeOf, vlenOf } from '../codec/words.js';
import type { Session } from '../core/session.js';

/** A lookup's result, filled in by lookupEntry. */
export interface Entry {
  found: boolean;
  value: unknown;
  /** ms since the epoch (the map's clock); Infinity: not stamped. */
  freshUntil: number;
}

/** Look `key` up into `out` (counted as a hit or a miss, as load is). */
export function lookupEntry(s: Session, key: Key, out: Entry): void {
  s.alive();
  const klen = s.encodeKey(key);
  let w = s.readWord(klen);
  out.found = false;
  out.value = undefined;
  out.freshUntil = Infinity;
  if (w === ST_NOT_FOUND) return;
  if (vtypeOf(w) !== T_PACKED) {
    out.value = s.valueOf(w, klen);
    // undefined from a value that is not: deleted meanwhile (see loaded).
    out.found = out.value !== undefined || vtypeOf(w) === T_UNDEFINED;
    return;
  }
  // msgpack bytes, maybe stamped: get them into the aux area. A long value
  // the core left in place (tagged) is copied, as Session.loaded does.
  const tagIdx = (s.scratch + SCRATCH_TAG_ADDR) >>> 2;
  for (;;) {
    const addr = s.i32[tagIdx]!;
    if (addr === 0) {
      if (isStamped(s.io, s.aux, w)) out.freshUntil = stampOf(s.io, s.aux);
      out.value = s.decoded ? s.decoded.byContent(s.aux, w) : decodeValue(s.io, s.aux, w);
      out.found = true;
      return;
    }
    const epoch = s.i32[(s.scratch + SCRATCH_TAG_EPOCH) >>> 2]!;
    const shard = s.i32[(s.scratch + SCRATCH_TAG_SHARD) >>> 2]!;
    const st = s.retry(() => s.core.copyTaggedValue(s.token, shard, addr, epoch, vlenOf(w)));
    if (st === ST_OK) {
      if (isStamped(s.io, s.aux, w)) out.freshUntil = stampOf(s.io, s.aux);
      out.value = s.decoded ? s.decoded.fillTag(addr, epoch, w, s.aux) : decodeValue(s.io, s.aux, w);
      out.found = true;
      return;
    }
    if (st !== ST_STALE) throw s.refused('copyTaggedValue', st);
    // The shard moved its entries meanwhile: read the key again.
    w = s.core.loadValue(s.token, klen);
    if (w < 0 && w !== ST_NOT_FOUND) w = s.readSlow(w, klen, true);
    if (s.missed(w, s.expIdx)) return;
    if (vtypeOf(w) !== T_PACKED) {
      out.value = s.valueOf(w, klen);
      out.found = out.value !== undefined || vtypeOf(w) === T_UNDEFINED;
      return;
    }
  }
}
