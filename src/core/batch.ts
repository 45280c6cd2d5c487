/**
 * Batch reads (`getMany`, `loadNumbers`): the protocol with the core's
 * `getMany` export. A chunk of keys is encoded into the scratch's value
 * area ([u16 klen][key] each); the core touches every key's table line,
 * then reads them, writing one record per key into the aux area (status
 * word, where the value is, its tag epoch, a number's f64, an expiry: see
 * BATCH_* in assembly/shared.ts), and copies values behind the records
 * while there is room. Each key is read atomically; the batch as a whole
 * is not a snapshot.
 *
 * Contract: records are valid until the next call into the core through
 * the same session, so each is handed out (decoded) before the next call.
 */
import {
  ST_BUSY, T_F64, T_PACKED, SCRATCH_WORD, BATCH_RECORD_SHIFT, BATCH_WHERE, BATCH_TAG_EPOCH, BATCH_F64,
  BATCH_BUSY, BATCH_NOT_COPIED, BATCH_EXPIRY, CNT_HITS, CNT_MISSES,
} from '../../assembly/shared.js';
import { encodeKey, decodeValue, type Key } from '../codec/codec.js';
import { MISS } from '../codec/decoded.js';
import { vtypeOf } from '../codec/words.js';
import { ErrorCode, ShardedMapTypeError } from '../base/errors.js';
import type { Session } from './session.js';

/** Keys per call into the core of a batch read: enough to overlap many
 *  misses, few enough that the lines the first pass touches (about two per
 *  key) stay in a 512 KiB L2 for the second. */
const BATCH_MAX = 256;

/** `getMany`: the values of `keys`, in order (undefined where absent);
 *  `loadAlone(key)` reads a key the batch could not hand over. */
export function getMany<V>(s: Session, keys: readonly Key[], loadAlone: (key: Key) => V | undefined): (V | undefined)[] {
  const out = new Array<V | undefined>(keys.length);
  // Values the batch could not hand over (long ones whose decoded copy this
  // instance does not have): read alone once the batch is done.
  const later: number[] = [];
  batch(s, keys, false, (i, rec) => {
    const v = batchValue(s, rec);
    if (v === MISS) later.push(i);
    else out[i] = v as V | undefined;
  }, (i) => later.push(i));
  for (const i of later) out[i] = loadAlone(keys[i]!);
  return out;
}

/** `loadNumbers`: the numbers of `keys` into `result` (`fallback` where
 *  absent); `loadAlone(key)` reads a key the batch could not take. */
export function loadNumbers(
  s: Session, keys: readonly Key[], result: Float64Array, fallback: number, loadAlone: (key: Key) => number,
): void {
  // msgpack values, which may be numbers stamped by fetch (codec.ts): read
  // alone after the batch, whose records a read would overwrite.
  const later: number[] = [];
  batch(s, keys, true, (i, rec) => {
    const w = s.i32[rec >>> 2]!;
    if (s.missed(w, (rec + BATCH_EXPIRY) >>> 3)) {
      s.count(CNT_MISSES);
      result[i] = fallback;
      return;
    }
    if (vtypeOf(w) === T_PACKED) {
      later.push(i);
      return;
    }
    s.count(CNT_HITS);
    if (vtypeOf(w) !== T_F64) {
      throw new ShardedMapTypeError(ErrorCode.NOT_A_NUMBER, `loadNumbers: the value stored for keys[${i}] is not a number; use getMany()`);
    }
    result[i] = s.f64[(rec + BATCH_F64) >>> 3]!;
  }, (i) => {
    result[i] = loadAlone(keys[i]!);
  });
  for (const i of later) result[i] = loadAlone(keys[i]!);
}

/**
 * Run the batch reads of `keys`: encode a chunk into the value area, let
 * the core read it (waiting on a busy lock, resuming when it ran out of
 * room for values), and hand each record to `each(index, recordAddress)`
 * before the next call into the core overwrites it. A key that does not
 * fit the value area beside the batch goes to `alone(index)`.
 */
function batch(s: Session, keys: readonly Key[], numbers: boolean, each: (i: number, rec: number) => void, alone: (i: number) => void): void {
  const reason = (s.scratch + SCRATCH_WORD) >>> 2;
  for (let from = 0; from < keys.length; ) {
    const n = encodeBatch(s, keys, from, numbers);
    if (n === 0) {
      alone(from++);
      continue;
    }
    for (let start = 0; start < n; ) {
      // Busy with nothing done: wait and call again; busy after some
      // records: take those, the next call waits.
      const done = s.retry(() => {
        const k = s.core.getMany(s.token, n, start, numbers ? 1 : 0);
        return k === start && s.i32[reason] === BATCH_BUSY ? ST_BUSY : k;
      });
      if (done < 0) throw s.refused('getMany', done);
      for (let i = start; i < done; i++) each(from + i, s.aux + (i << BATCH_RECORD_SHIFT));
      start = done;
    }
    from += n;
  }
}

/** Encode keys from `from` on into the value area as the batch wants
 *  them ([u16 klen][key]); returns how many fit (at most BATCH_MAX). */
function encodeBatch(s: Session, keys: readonly Key[], from: number, numbers: boolean): number {
  const u8 = s.u8;
  const end = s.val + s.maxValue;
  // Records take the aux area's start: all of it for numbers, at most half
  // for values (the rest holds the values copied).
  const records = numbers ? s.maxValue >>> BATCH_RECORD_SHIFT : s.maxValue >>> (BATCH_RECORD_SHIFT + 1);
  const max = Math.min(BATCH_MAX, records, keys.length - from);
  let p = s.val;
  let n = 0;
  s.io.valWrites++;
  for (; n < max; n++) {
    if (p + 2 + s.maxKey > end) break;
    const klen = encodeKey(keys[from + n], u8, p + 2, s.maxKey);
    u8[p] = klen & 0xff;
    u8[p + 1] = klen >>> 8;
    p += 2 + klen;
  }
  return n;
}

/** The value of getMany's batch record `rec`, counted; MISS when it must
 *  be read alone (long, not copied, and not in the decoded-value cache,
 *  or too long for the room the batch had). */
function batchValue(s: Session, rec: number): unknown {
  const w = s.i32[rec >>> 2]!;
  if (s.missed(w, (rec + BATCH_EXPIRY) >>> 3)) {
    s.count(CNT_MISSES);
    return undefined;
  }
  const where = s.i32[(rec + BATCH_WHERE) >>> 2]! >>> 0;
  // Copied into the aux area: decode (or find) it by content.
  if (where >= s.aux && where < s.aux + s.maxValue) {
    s.count(CNT_HITS);
    if (vtypeOf(w) === T_F64) return s.f64[where >>> 3];
    return s.decoded ? s.decoded.byContent(where, w) : decodeValue(s.io, where, w);
  }
  if (where !== BATCH_NOT_COPIED && s.decoded) {
    const v = s.decoded.byTag(where, s.i32[(rec + BATCH_TAG_EPOCH) >>> 2]!, w);
    if (v !== MISS) {
      s.count(CNT_HITS);
      return v;
    }
  }
  return MISS; // read alone later: that load counts it
}
