// Lookups without the lock: the seqlock reader.
//
// Contract: everything read here between the two seq loads may be garbage
// (a table being replaced, a region freed and reused by another shard, an
// entry half written). So every address and length is checked against the
// memory's committed size before it is dereferenced, every loop is bounded,
// nothing is written but the reader's own scratch area, and a result is
// used only if seq was even and unchanged around it. The worst a torn read
// does is fail that check and retry. (Overview in overview.ts: "Seqlock and
// write lock".)

import {
  HDR_SEED, HDR_AUX_OFF, HDR_VALUE_OFF, HDR_MAX_VALUE, SH_LOCK, E_WORD,
  tableBytes, firstGroup, valueOffset, shardIndexOfHash, shardAt, READ_RETRIES,
} from "./layout";
import {
  ST_OK, ST_STALE, ST_BUSY, ST_NOT_FOUND, SCRATCH_KEY, SCRATCH_FENCE, SCRATCH_TAG_ADDR, SCRATCH_TAG_SHARD,
  SCRATCH_WORD, SCRATCH_KLEN, SCRATCH_EXPIRY, SCRATCH_READ_STRIPE, SCRATCH_READ_COUNT, BATCH_EXPIRY, TAG_MIN_VLEN, CNT_READ_RETRIES, BATCH_RECORD_SHIFT, BATCH_WORD, BATCH_WHERE,
  BATCH_SHARD, BATCH_F64, BATCH_KEY, BATCH_KLEN, BATCH_HASH, BATCH_DONE, BATCH_MORE, BATCH_BUSY, BATCH_NOT_COPIED,
  T_F64, VTYPE_MASK,
} from "./shared";
import { count } from "./counters";
import { tagOf, matchTag, groupCtrl } from "./ctrl";
import { hashKey } from "./hash";
import { seqRead, seqChanging, readFence, tableLoad, tryLock, unlock, busy, epochRead, stripeOf } from "./sync";
import {
  tableCtrl, tableGroupCount, vtypeOf, vlenOf, hasMeta, metaExpiry, publicWord, META_BYTES, MAIN_BIT,
} from "./words";
import { sketchBump } from "./policy";
import {
  FIND_TORN, find, memBytes, cellsOf, slotRef, refEntry, readableEntry, copyOut,
} from "./table";

/** Values up to this size are copied with 8-byte loads and stores: a call
 *  into memory.copy costs more than that for small sizes (measured ~4 ns). */
const SMALL_COPY_BYTES: u32 = 64;

/** Copy the value of the cell at `ref` (found by find; key length klen) to
 *  `out`, or, for a value longer than TAG_MIN_VLEN out of line, record its
 *  tag (value address, shard epoch `epoch`) at `tagOut` instead (the
 *  facade copies it with copyTagged only if it has no decoded copy of that
 *  tag); `tagOut`'s address word is 0 when the value was copied, and
 *  BATCH_NOT_COPIED if it is longer than `room` (the bytes `out` has). A cache
 *  entry's meta word is not copied: its expiry goes to `expiryOut`, and
 *  the word returned does not count it (publicWord). Returns the value
 *  word, or 0 if the entry is implausible (torn): an address outside
 *  `mem`, a value longer than `maxValue` or reaching past `mem`. */
// @ts-ignore: decorator
@inline function copyValue(
  ref: u32, klen: u32, out: usize, maxValue: u32, mem: u64, tagOut: usize, epoch: u32, room: u32, expiryOut: usize,
): u32 {
  const e = readableEntry(ref, mem);
  if (e == 0) return 0;
  let w = load<u32>(e, E_WORD);
  let vlen = vlenOf(w);
  let src = <u64>e + valueOffset(klen);
  if (hasMeta(w)) {
    // SAFETY: checked before the load: 8-aligned (a torn address may not
    // be; a misaligned atomic load traps) and below mem.
    if (vlen < META_BYTES || (src & 7) != 0 || src + META_BYTES > mem) return 0;
    store<f64>(expiryOut, <f64>metaExpiry(atomic.load<u64>(<usize>src)));
    src += META_BYTES;
    vlen -= META_BYTES;
    w -= META_BYTES;
  }
  w &= ~MAIN_BIT; // a cache entry's queue bit is the core's own
  if (vlen > maxValue || src + vlen > mem) return 0;
  if (vlen > <u32>TAG_MIN_VLEN && e != ref) {
    store<u32>(tagOut, <u32>src, TAG_ADDR);
    store<u32>(tagOut, epoch, TAG_EPOCH);
    return w;
  }
  if (vlen > room) {
    store<u32>(tagOut, BATCH_NOT_COPIED, TAG_ADDR);
    return w;
  }
  store<u32>(tagOut, 0, TAG_ADDR);
  if (vlen == 0) return w;
  // A real entry is 8-aligned, so its value is. A torn address may not be:
  // a misaligned atomic load traps, and the 8-byte steps of copySmall could
  // read up to 7 bytes past `mem`. Treat it as torn.
  if ((src & 7) != 0) return 0;
  if (vlen <= 8) {
    // One aligned atomic load: a value replaced in place (see replace in
    // writer.ts) is seen whole, old or new.
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

/** Where a single read tells the facade's read memo its key's stripe. */
// @ts-ignore: decorator
@inline function readStripe(scratch: usize, stripe: usize, c: u32): void {
  store<u32>(scratch, <u32>stripe, SCRATCH_READ_STRIPE);
  store<u32>(scratch, c, SCRATCH_READ_COUNT);
}

// Where copyValue puts a tag: [value address][shard heap epoch].
const TAG_ADDR = 0;
const TAG_EPOCH = 4;
/** Read key bytes [key, key + klen) of hash h in shard header `sh`.
 *  copy: copy the value to `out` (or tag it at `tagOut`, see copyValue),
 *  and count the read in a cache shard's sketch; else only look (has).
 *  A cache entry's expiry goes to `expiryOut`. With `memo`, the key's
 *  write stripe and its count at the read go to the scratch
 *  (SCRATCH_READ_STRIPE, SCRATCH_READ_COUNT: the facade's read memo keeps
 *  the value while the count stays). Returns the value's word
 *  (publicWord), ST_NOT_FOUND, or ST_BUSY (fell back to the lock and it
 *  is held). Hot path. */
// @ts-ignore: decorator
@inline function readHashed(
  hdr: usize, scratch: usize, id: u32, sh: usize, key: usize, klen: u32, h: u64, copy: bool, out: usize,
  tagOut: usize, room: u32, expiryOut: usize, memo: bool,
): i32 {
  const stripe = stripeOf(sh, h);
  const maxValue = load<u32>(hdr, HDR_MAX_VALUE);
  for (let i = 0; i < READ_RETRIES; i++) {
    const s = seqRead(sh);
    if (seqChanging(s)) continue;
    // The table word first, then the memory size: a table published after
    // a memory.grow must be checked against the grown size.
    const epoch = epochRead(sh);
    const t = tableLoad(sh);
    const mem = memBytes(hdr);
    const ref = find(t, h, key, klen, mem);
    let w: i32 = ST_NOT_FOUND;
    if (ref == FIND_TORN) {
      w = 0; // retry
    } else if (ref != 0) {
      // 0 from copyValue: an implausible (torn) entry; retry.
      w = <i32>copyValue(ref, klen, out, maxValue, mem, tagOut, epoch, copy ? room : 0, expiryOut);
    }
    // (Inside the bracket: the count goes with the value read.)
    const c = memo ? atomic.load<u32>(stripe) : 0;
    readFence(scratch + SCRATCH_FENCE);
    if (seqRead(sh) == s && w != 0) {
      if (i != 0) count(scratch, CNT_READ_RETRIES, <f64>i);
      if (memo) readStripe(scratch, stripe, c);
      if (copy && w > 0) sketchBump(sh, h);
      return w;
    }
  }
  // Fallback: a writer keeps changing this shard (or was preempted). Under
  // the lock the table is sound.
  count(scratch, CNT_READ_RETRIES, <f64>READ_RETRIES);
  if (!tryLock(sh + SH_LOCK, id)) return busy(scratch, sh + SH_LOCK);
  // (Still: writers change it only under the lock.)
  if (memo) readStripe(scratch, stripe, atomic.load<u32>(stripe));
  const ref = find(tableLoad(sh), h, key, klen, memBytes(hdr));
  let w: i32 = ST_NOT_FOUND;
  store<u32>(tagOut, 0, TAG_ADDR);
  if (ref != 0) {
    const e = refEntry(ref);
    const raw = load<u32>(e, E_WORD);
    w = <i32>publicWord(raw);
    if (hasMeta(raw)) store<f64>(expiryOut, <f64>metaExpiry(load<u64>(<usize>e + valueOffset(klen))));
    if (!copy || vlenOf(<u32>w) > room) store<u32>(tagOut, BATCH_NOT_COPIED, TAG_ADDR);
    else copyOut(ref, klen, out, 0);
  }
  unlock(sh + SH_LOCK);
  if (copy && w > 0) sketchBump(sh, h);
  return w;
}

/** Read the key in the owner's scratch (klen checked by the caller), its
 *  value copied to the aux area or tagged in the scratch's TAG words, and
 *  with `memo` its write stripe in the scratch's READ words (see
 *  readHashed). Hot path. */
// @ts-ignore: decorator
@inline export function readKey(hdr: usize, scratch: usize, id: u32, klen: u32, copy: bool, memo: bool): i32 {
  const key = scratch + SCRATCH_KEY;
  const h = hashKey(key, klen, load<u64>(hdr, HDR_SEED));
  const shard = shardIndexOfHash(hdr, h);
  store<u32>(scratch, shard, SCRATCH_TAG_SHARD);
  return readHashed(
    hdr, scratch, id, shardAt(hdr, shard), key, klen, h, copy, scratch + load<u32>(hdr, HDR_AUX_OFF),
    scratch + SCRATCH_TAG_ADDR, load<u32>(hdr, HDR_MAX_VALUE), scratch + SCRATCH_EXPIRY, memo,
  );
}

/** loadNumber's decoding of a read's result `w` (readKey's: a value
 *  word, ST_NOT_FOUND, ST_BUSY... or the caller's ST_BAD_ARG): the stored
 *  f64, or NaN with `w` in scratch word SCRATCH_WORD. A stored NaN also
 *  returns NaN (the caller tells them apart by the word), and so does a
 *  cache entry that expires (the facade checks expiries with its clock).
 *  Hot path. */
// @ts-ignore: decorator
@inline export function numberOf(hdr: usize, scratch: usize, w: i32): f64 {
  if (w > 0 && (vtypeOf(<u32>w) & VTYPE_MASK) == <u32>T_F64 && (!hasMeta(<u32>w) || load<f64>(scratch, SCRATCH_EXPIRY) == 0)) {
    const v = load<f64>(scratch + load<u32>(hdr, HDR_AUX_OFF));
    if (v == v) return v; // a stored NaN goes the slow way, with its word
  }
  store<i32>(scratch, w, SCRATCH_WORD);
  return NaN;
}

// ---- batch reads ------------------------------------------------------------------

/** Batch reads overlap the cache misses of independent lookups: a first
 *  pass hashes every key and touches its first group's control bytes and
 *  first candidate cell (independent loads, which the CPU has in flight
 *  together), a second pass does each seqlock read on warm lines. */

/** Records of a batch, one per key, in the aux area (BATCH_* in shared.ts):
 *  the first pass writes [key offset][klen][hash, 8 bytes], the second
 *  overwrites each with its result: [value word or status][value offset in
 *  the aux area, or the tag's address][tag epoch][shard]; in numbers mode
 *  [word or status][0][the f64, 8 bytes]. */
export function readBatch(hdr: usize, scratch: usize, id: u32, n: u32, start: u32, numbers: bool): u32 {
  const keys = scratch + load<u32>(hdr, HDR_VALUE_OFF);
  const aux = scratch + load<u32>(hdr, HDR_AUX_OFF);
  const auxEnd = aux + load<u32>(hdr, HDR_MAX_VALUE);
  const seed = load<u64>(hdr, HDR_SEED);
  if (start == 0) {
    let p = keys;
    let acc: u32 = 0;
    for (let i: u32 = 0; i < n; i++) {
      const rec = aux + (<usize>i << BATCH_RECORD_SHIFT);
      const klen = <u32>load<u16>(p);
      const h = hashKey(p + 2, klen, seed);
      store<u32>(rec, <u32>(p + 2 - keys), BATCH_KEY);
      store<u32>(rec, klen, BATCH_KLEN);
      store<u64>(rec, h, BATCH_HASH);
      acc ^= touch(hdr, h);
      p += 2 + klen;
    }
    store<u32>(scratch, acc, SCRATCH_KLEN); // keeps the touches
  }
  let values = aux + (<usize>n << BATCH_RECORD_SHIFT);
  for (let i = start; i < n; i++) {
    const rec = aux + (<usize>i << BATCH_RECORD_SHIFT);
    const key = keys + load<u32>(rec, BATCH_KEY);
    const klen = load<u32>(rec, BATCH_KLEN);
    const h = load<u64>(rec, BATCH_HASH);
    const shard = shardIndexOfHash(hdr, h);
    // Numbers: 8 bytes into the record (a longer value is not a number:
    // only its word is needed). Values: into the free part of aux.
    const out = numbers ? rec + BATCH_F64 : values;
    const room = numbers ? 8 : <u32>(auxEnd - values);
    const w = readHashed(
      hdr, scratch, id, shardAt(hdr, shard), key, klen, h, true, out, rec + BATCH_WHERE, room, rec + BATCH_EXPIRY, false,
    );
    const stop = w == ST_BUSY ? BATCH_BUSY
      : !numbers && w > 0 && load<u32>(rec, BATCH_WHERE) == BATCH_NOT_COPIED && i > start ? BATCH_MORE : BATCH_DONE;
    if (stop != BATCH_DONE) {
      // A lock to wait for, or no room left for this value: the facade
      // takes what is done and calls again from here, so this record gets
      // back the first pass's fields that the read's tag words overwrote.
      store<u32>(rec, klen, BATCH_KLEN);
      store<u64>(rec, h, BATCH_HASH);
      store<u32>(scratch, stop, SCRATCH_WORD);
      return i;
    }
    store<i32>(rec, w, BATCH_WORD);
    if (numbers) continue;
    store<u32>(rec, shard, BATCH_SHARD);
    if (w > 0 && load<u32>(rec, BATCH_WHERE) == 0) {
      store<u32>(rec, <u32>values, BATCH_WHERE);
      values += (vlenOf(<u32>w) + 7) & ~7;
    }
  }
  store<u32>(scratch, BATCH_DONE, SCRATCH_WORD);
  return n;
}

/** Load the control bytes of h's first group and the first cell whose tag
 *  matches (what the lookup will read first), for the batch's first pass.
 *  A table word that cannot be right is skipped (the real read checks). */
function touch(hdr: usize, h: u64): u32 {
  const sh = shardAt(hdr, shardIndexOfHash(hdr, h));
  const t = tableLoad(sh);
  const ctrl = tableCtrl(t);
  const n = tableGroupCount(t);
  if (ctrl == 0 || n == 0 || <u64>ctrl + tableBytes(n) > memBytes(hdr)) return 0;
  const g = firstGroup(h, n);
  const m = matchTag(groupCtrl(ctrl, g), tagOf(h));
  // SAFETY: the table lies below the committed size (checked above).
  return m == 0 ? <u32>m : load<u32>(slotRef(cellsOf(t), g, <u32>ctz(m)));
}

/** Copy `vlen` bytes of the value at `addr` in shard `shard` to `out`, if
 *  the shard's heap epoch is still `epoch` (then the bytes are those a
 *  `loadValue` tagged: an out-of-line value never changes within an epoch).
 *  ST_OK, ST_STALE (the epoch moved on: read the key again), or ST_BUSY
 *  (fell back to the lock and it is held). Arguments checked by the caller. */
export function copyTagged(
  hdr: usize, scratch: usize, id: u32, sh: usize, addr: u32, epoch: u32, vlen: u32, out: usize,
): i32 {
  for (let i = 0; i < READ_RETRIES; i++) {
    const s = seqRead(sh);
    if (seqChanging(s)) continue;
    if (epochRead(sh) != epoch) return ST_STALE;
    const mem = memBytes(hdr);
    const torn = <u64>addr + vlen > mem || (addr & 7) != 0;
    // SAFETY: addr + vlen <= mem and addr is 8-aligned, so the 8-byte steps
    // stay below mem (a multiple of 8).
    if (!torn) copySmall(out, <usize>addr, vlen);
    readFence(scratch + SCRATCH_FENCE);
    if (seqRead(sh) == s) return torn ? ST_STALE : ST_OK;
  }
  count(scratch, CNT_READ_RETRIES, <f64>READ_RETRIES);
  if (!tryLock(sh + SH_LOCK, id)) return busy(scratch, sh + SH_LOCK);
  let st = ST_STALE;
  if (epochRead(sh) == epoch && <u64>addr + vlen <= memBytes(hdr)) {
    memory.copy(out, <usize>addr, vlen);
    st = ST_OK;
  }
  unlock(sh + SH_LOCK);
  return st;
}
