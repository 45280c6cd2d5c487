// Lookups without the lock: the seqlock reader.
//
// Contract: everything read here between the two seq loads may be garbage
// (a table being replaced, a region freed and reused by another shard, an
// entry half written). So every address and length is checked against the
// memory's committed size before it is dereferenced, every loop is bounded,
// nothing is written but the reader's own scratch area, and a result is
// used only if seq was even and unchanged around it. The worst a torn read
// does is fail that check and retry. (Overview in layout.ts: "Seqlock and
// write lock".)

import {
  HDR_SEED, HDR_MEM_BYTES, HDR_AUX_OFF, HDR_MAX_VALUE, SH_LOCK, CELL_ADDR, E_WORD, E_KLEN, E_KEY,
  MIN_ENTRY_BYTES, tableBytes, firstGroup, nextGroup, valueOffset, shardIndexOfHash, shardAt,
  MAX_PROBE_GROUPS, READ_RETRIES,
} from "./layout";
import {
  ST_OK, ST_NOT_FOUND, ST_STALE, SCRATCH_KEY, SCRATCH_FENCE, SCRATCH_TAG_ADDR, SCRATCH_TAG_EPOCH,
  SCRATCH_TAG_SHARD, TAG_MIN_VLEN, CNT_READ_RETRIES,
} from "./shared";
import { count } from "./counters";
import { tagOf, matchTag, matchEmpty, groupCtrl } from "./ctrl";
import { hashKey } from "./hash";
import { seqRead, seqChanging, readFence, tableLoad, tryLock, unlock, busy, epochRead } from "./sync";
import { tableCtrl, tableGroupCount, vlenOf } from "./words";
import { cellsOf, slotRef, isOutline } from "./cells";
import { copyOut } from "./writer";

/** find's answer for a table word that cannot be right (its cells reach
 *  past the committed memory): the reader saw a torn or too new state and
 *  must retry. Never a slot reference (those are 32-aligned). */
export const FIND_TORN: u32 = 1;

/** Values up to this size are copied with 8-byte loads and stores: a call
 *  into memory.copy costs more than that for small sizes (measured ~4 ns). */
const SMALL_COPY_BYTES: u32 = 64;

/** The map's committed memory size (only grows). */
// @ts-ignore: decorator
@inline export function memBytes(hdr: usize): u64 {
  return <u64>atomic.load<u32>(hdr, HDR_MEM_BYTES);
}

/** Bytewise equality of n bytes, 8 at a time. */
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

/** The entry of the cell at `ref` for a reader, or 0 if its address is
 *  implausible (torn): an out-of-line address is checked against `mem`
 *  before anything there is read. `ref` itself must be in bounds. */
// @ts-ignore: decorator
@inline function readableEntry(ref: u32, mem: u64): u32 {
  if (!isOutline(ref)) return ref;
  const e = load<u32>(ref, CELL_ADDR);
  return <u64>e + MIN_ENTRY_BYTES <= mem ? e : 0;
}

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
    g = nextGroup(g, n);
  }
  return 0;
}

/** Copy the value of the cell at `ref` (found by find; key length klen) to
 *  `out`, or, for a value longer than TAG_MIN_VLEN out of line, record its
 *  tag (value address, shard epoch `epoch`) in `scratch` instead (the
 *  facade copies it with copyTagged only if it has no decoded copy of that
 *  tag). Returns its value word, or 0 if the entry is implausible (torn):
 *  an address outside `mem`, a value longer than `maxValue` or reaching past
 *  `mem`. */
// @ts-ignore: decorator
@inline function copyValue(
  ref: u32, klen: u32, out: usize, maxValue: u32, mem: u64, scratch: usize, epoch: u32,
): u32 {
  const e = readableEntry(ref, mem);
  if (e == 0) return 0;
  const w = load<u32>(e, E_WORD);
  const vlen = vlenOf(w);
  const src = <u64>e + valueOffset(klen);
  if (vlen > maxValue || src + vlen > mem) return 0;
  if (vlen > <u32>TAG_MIN_VLEN && e != ref) {
    store<u32>(scratch, <u32>src, SCRATCH_TAG_ADDR);
    store<u32>(scratch, epoch, SCRATCH_TAG_EPOCH);
    return w;
  }
  store<u32>(scratch, 0, SCRATCH_TAG_ADDR);
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

/** Read the key in the owner's scratch (klen checked by the caller).
 *  copy: copy the value to the aux area. Returns the value's word (or 1 if
 *  not copying), ST_NOT_FOUND, or ST_BUSY (fell back to the lock and it is
 *  held). Hot path. */
// @ts-ignore: decorator
@inline export function readKey(hdr: usize, scratch: usize, id: u32, klen: u32, copy: bool): i32 {
  const key = scratch + SCRATCH_KEY;
  const out = scratch + load<u32>(hdr, HDR_AUX_OFF);
  const maxValue = load<u32>(hdr, HDR_MAX_VALUE);
  const h = hashKey(key, klen, load<u64>(hdr, HDR_SEED));
  const shard = shardIndexOfHash(hdr, h);
  const sh = shardAt(hdr, shard);
  store<u32>(scratch, shard, SCRATCH_TAG_SHARD);
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
      w = copy ? <i32>copyValue(ref, klen, out, maxValue, mem, scratch, epoch) : 1;
    }
    readFence(scratch + SCRATCH_FENCE);
    if (seqRead(sh) == s && w != 0) {
      if (i != 0) count(scratch, CNT_READ_RETRIES, <f64>i);
      return w;
    }
  }
  // Fallback: a writer keeps changing this shard (or was preempted). Under
  // the lock the table is sound.
  count(scratch, CNT_READ_RETRIES, <f64>READ_RETRIES);
  if (!tryLock(sh + SH_LOCK, id)) return busy(scratch, sh + SH_LOCK);
  const ref = find(tableLoad(sh), h, key, klen, memBytes(hdr));
  const w: i32 = ref == 0 ? ST_NOT_FOUND : <i32>copyOut(ref, klen, out);
  store<u32>(scratch, 0, SCRATCH_TAG_ADDR);
  unlock(sh + SH_LOCK);
  return w;
}

/** Copy `vlen` bytes of the value at `addr` in shard `shard` to `out`, if
 *  the shard's heap epoch is still `epoch` (then the bytes are those a
 *  `get` tagged: an out-of-line value never changes within an epoch).
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
