// The raw table: probing, reading, inserting, replacing, removing and
// rebuilding one shard. No argument checks here (index.ts does them); the
// functions state what they rely on. Writers must hold the shard lock.
//
// A slot reference ("ref") is its group's address with the slot index in
// the low 6 bits (groups are 64-aligned and have 12 slots); 0 means none.

import {
  SH_COUNT, SH_USED, SH_HEAP_TOP, SH_HEAP_END, SH_REGION, SH_REGION_BYTES,
  SH_DEAD, SH_PENDING, SH_PENDING_BYTES, SH_RETIRED, SH_RETIRED_BYTES,
  HDR_SEED, HDR_COUNT, HDR_MIN_GROUPS, HDR_MEM_BYTES,
  GROUP_SLOTS, GROUP_SHIFT, GROUP_BYTES, GROUP_ADDRS,
  E_WORD, E_KLEN, E_KEY, VLEN_MASK, entryBytes, valueOffset, align64,
  LOAD_NUM, LOAD_DEN, REBUILD_LOAD_NUM, REBUILD_LOAD_DEN,
  HEAP_SLACK_NUM, HEAP_SLACK_DEN, MIN_HEAP_BYTES, MAX_PROBE_GROUPS,
} from "./layout";
import {
  CTRL_EMPTY, CTRL_DELETED, tagOf, matchTag, matchEmpty, matchFree, matchFull,
  emptyGroupCtrl,
} from "./ctrl";
import { hashKey } from "./hash";
import {
  seqBegin, seqEnd, seqRetire, tableLoad, tablePublish, packTable, tableGroups,
  tableMask,
} from "./sync";
import { allocRegion, freeRegion, ALLOC_BUSY, ALLOC_FULL } from "./alloc";
import { ST_OK, ST_BUSY, ST_FULL } from "./shared";

// ---- slot references ----------------------------------------------------------

// @ts-ignore: decorator
@inline export function refGroup(r: u32): u32 {
  return r & ~(<u32>63);
}
// @ts-ignore: decorator
@inline export function refCtrl(r: u32): usize {
  return r; // group address + slot index = address of the control byte
}
// @ts-ignore: decorator
@inline export function refAddrWord(r: u32): usize {
  return refGroup(r) + GROUP_ADDRS + ((r & 63) << 2);
}
// @ts-ignore: decorator
@inline export function refEntry(r: u32): u32 {
  return load<u32>(refAddrWord(r));
}

/** The first FULL slot at or after slot number `from` (group * 12 + index)
 *  of table `t`, as a slot reference, or 0 past the end. The one way to
 *  walk a table's entries (rebuild, iteration, checks); under the shard
 *  lock, so the table is sound. */
export function nextFull(t: u64, from: u32): u32 {
  const groups = tableGroups(t);
  const mask = tableMask(t);
  let g = from / GROUP_SLOTS;
  let i = from % GROUP_SLOTS;
  while (g <= mask) {
    const grp = groups + (g << GROUP_SHIFT);
    const m = matchFull(v128.load(grp)) & ~((1 << i) - 1);
    if (m != 0) return grp | <u32>ctz(m);
    g++;
    i = 0;
  }
  return 0;
}

/** Slot number of a reference into table `t` (a walk goes on after it). */
// @ts-ignore: decorator
@inline export function slotNumber(t: u64, ref: u32): u32 {
  return ((refGroup(ref) - tableGroups(t)) >> GROUP_SHIFT) * GROUP_SLOTS + (ref & 63);
}

// ---- reading (safe on a torn table) ---------------------------------------------

/** Do the groups of table (groups, mask) lie inside the committed memory? */
// @ts-ignore: decorator
@inline function groupsInBounds(groups: u32, mask: u32, mem: u64): bool {
  return groups != 0 && <u64>groups + ((<u64>mask + 1) << GROUP_SHIFT) <= mem;
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

/** Does the entry at `e` hold the key? Bounds-checks `e` against `mem`
 *  first, since under the seqlock `e` may be torn. */
// @ts-ignore: decorator
@inline function entryHasKey(e: u32, key: usize, klen: u32, mem: u64): bool {
  if (<u64>e + E_KEY + klen > mem) return false;
  // SAFETY: e + E_KEY + klen <= mem was checked just above.
  if (<u32>load<u16>(e, E_KLEN) != klen) return false;
  return bytesEqual(<usize>e + E_KEY, key, klen);
}

/** find's answer for a table word that cannot be right (its groups reach
 *  past the committed memory): the reader saw a torn or too new state and
 *  must retry. Never a slot reference (those are >= 64). */
export const FIND_TORN: u32 = 1;

/** Look up a key in table word `t`. Safe on a torn table word or torn
 *  slots: every address is checked against `mem` (committed bytes) before
 *  it is read, and the probe is bounded by MAX_PROBE_GROUPS. `mem` must be
 *  loaded after `t` (a table published after a memory.grow is only in
 *  bounds of the grown size). Hot path. Returns a slot reference, 0 (not
 *  there), or FIND_TORN (never under the shard lock: the holder's table is
 *  complete and inside the memory it saw when it took the lock). */
export function find(t: u64, h: u64, key: usize, klen: u32, mem: u64): u32 {
  const groups = tableGroups(t);
  const mask = tableMask(t);
  if (!groupsInBounds(groups, mask, mem)) return FIND_TORN;
  const tag = tagOf(h);
  let g = <u32>h & mask;
  // mask + 1 cannot wrap: groupsInBounds refused a mask that large.
  const limit = min(MAX_PROBE_GROUPS, mask + 1);
  for (let p: u32 = 0; p < limit; p++) {
    const grp = groups + (g << GROUP_SHIFT);
    // SAFETY: grp + 64 <= mem by groupsInBounds and g <= mask.
    const ctrl = v128.load(grp);
    let m = matchTag(ctrl, tag);
    while (m != 0) {
      const i = <u32>ctz(m);
      m &= m - 1;
      const e = load<u32>(grp + GROUP_ADDRS + (i << 2));
      if (entryHasKey(e, key, klen, mem)) return grp | i;
    }
    if (matchEmpty(ctrl) != 0) return 0;
    g = (g + p + 1) & mask;
  }
  return 0;
}

/** Copy the value of entry `e` (key length klen) to `out`. Returns its
 *  header word, or 0 if the entry is implausible (torn): value longer than
 *  `maxValue` or reaching past `mem`. */
// @ts-ignore: decorator
@inline export function copyValue(e: u32, klen: u32, out: usize, maxValue: u32, mem: u64): u32 {
  const w = load<u32>(e, E_WORD);
  const vlen = w & VLEN_MASK;
  const src = <u64>e + valueOffset(klen);
  if (vlen > maxValue || src + vlen > mem) return 0;
  if (vlen == 0) return w;
  // A real entry is 8-aligned, so its value is. A torn address may not be:
  // a misaligned atomic load traps, and the 8-byte steps of copySmall could
  // read up to 7 bytes past `mem`. Treat it as torn.
  if ((src & 7) != 0) return 0;
  if (vlen <= 8) {
    // One aligned atomic load: a value replaced in place (see replace) is
    // seen whole, old or new.
    // SAFETY: src + 8 <= mem: value areas are padded to 8 bytes and the
    // entry was bounds-checked; out has at least 8 bytes.
    store<u64>(out, atomic.load<u64>(<usize>src));
    return w;
  }
  // SAFETY: src + vlen <= mem with src and mem multiples of 8, so the 8-byte
  // steps stay below mem; out has maxValue bytes rounded up to 8.
  copySmall(out, <usize>src, vlen);
  return w;
}

/** Values up to this size are copied with 8-byte loads and stores: a call
 *  into memory.copy costs more than that for small sizes (measured ~4 ns). */
const SMALL_COPY_BYTES: u32 = 64;

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

/** Is the value of entry `e` exactly (type, bytes at `exp` of length elen)? */
export function valueEquals(e: u32, klen: u32, eword: u32, exp: usize): bool {
  return load<u32>(e, E_WORD) == eword &&
    bytesEqual(<usize>e + valueOffset(klen), exp, eword & VLEN_MASK);
}

// ---- writing (the caller holds the shard lock) -------------------------------

/** First EMPTY or DELETED slot on the probe path of h, or 0 when the probe
 *  would pass MAX_PROBE_GROUPS (then the table must grow). */
function findFree(t: u64, h: u64): u32 {
  const groups = tableGroups(t);
  const mask = tableMask(t);
  let g = <u32>h & mask;
  const limit = <u32>min(<u64>MAX_PROBE_GROUPS, <u64>mask + 1);
  for (let p: u32 = 0; p < limit; p++) {
    const grp = groups + (g << GROUP_SHIFT);
    const m = matchFree(v128.load(grp)) & 0xfff;
    if (m != 0) return grp | <u32>ctz(m);
    g = (g + p + 1) & mask;
  }
  return 0;
}

/** Write a complete entry into reserved heap space; returns its address.
 *  The heap must have room (checked by the caller). */
function appendEntry(sh: usize, key: usize, klen: u32, word: u32, val: usize): u32 {
  const e = load<u32>(sh, SH_HEAP_TOP);
  // Reserve first: a stop after this leaks the bytes, never reuses them.
  store<u32>(sh, e + entryBytes(klen, word & VLEN_MASK), SH_HEAP_TOP);
  store<u32>(e, word, E_WORD);
  store<u32>(e, klen, E_KLEN);
  memory.copy(<usize>e + E_KEY, key, klen);
  memory.copy(<usize>e + valueOffset(klen), val, word & VLEN_MASK);
  return e;
}

/** Room in the heap for `bytes` more? */
// @ts-ignore: decorator
@inline function heapHasRoom(sh: usize, bytes: u32): bool {
  return <u64>load<u32>(sh, SH_HEAP_TOP) + bytes <= <u64>load<u32>(sh, SH_HEAP_END);
}

/** Heaps up to this size are compacted in place when full of dead entries,
 *  rather than rebuilt into a new region: for the many small shards of a
 *  churning map this keeps the shared allocator (and its lock) out of the
 *  way. Readers retry during it (seq is odd), for at most a few µs. */
const COMPACT_IN_PLACE_MAX: u32 = 4096;

/** Make room for `size` heap bytes by sliding live entries down over dead
 *  ones, in address order, when the heap is small and mostly dead. An
 *  entry moves only to space that does not overlap it, and its slot is
 *  repointed with one store after the copy, so a stop at any instruction
 *  leaves every slot pointing at an intact entry. True if there is room. */
function compactInPlace(hdr: usize, sh: usize, size: u32): bool {
  const t = tableLoad(sh);
  const heapStart = tableGroups(t) + ((tableMask(t) + 1) << GROUP_SHIFT);
  const top = load<u32>(sh, SH_HEAP_TOP);
  const end = load<u32>(sh, SH_HEAP_END);
  const dead = load<u32>(sh, SH_DEAD);
  if (end - heapStart > COMPACT_IN_PLACE_MAX || <u64>top - dead + size > <u64>end) return false;
  const seed = load<u64>(hdr, HDR_SEED);
  const mem = <u64>atomic.load<u32>(hdr, HDR_MEM_BYTES);
  seqBegin(sh);
  let dst = heapStart;
  let e = heapStart;
  while (e < top) {
    const klen = <u32>load<u16>(e, E_KLEN);
    const bytes = entryBytes(klen, load<u32>(e, E_WORD) & VLEN_MASK);
    const ref = find(t, hashKey(<usize>e + E_KEY, klen, seed), <usize>e + E_KEY, klen, mem);
    if (ref != 0 && refEntry(ref) == e) {
      if (dst + bytes <= e) {
        memory.copy(dst, e, bytes);
        store<u32>(refAddrWord(ref), dst);
        dst += bytes;
      } else {
        // It would overlap its new place: leave it where it is, and turn
        // the gap before it into one dead filler entry (klen 0, which no
        // key matches) so that the heap still parses entry by entry.
        if (e > dst) {
          store<u32>(dst, e - dst - E_KEY, E_WORD);
          store<u32>(dst, 0, E_KLEN);
        }
        dst = e + bytes;
      }
    }
    e += bytes;
  }
  store<u32>(sh, dst, SH_HEAP_TOP);
  store<u32>(sh, load<u32>(sh, SH_DEAD) - (top - dst), SH_DEAD);
  seqEnd(sh);
  return heapHasRoom(sh, size);
}

/** Insert a key known to be absent. ST_OK, ST_FULL or ST_BUSY (allocator). */
export function insert(
  hdr: usize, sh: usize, owner: u32, h: u64, key: usize, klen: u32, word: u32, val: usize,
): i32 {
  const size = entryBytes(klen, word & VLEN_MASK);
  const count = load<u32>(sh, SH_COUNT);
  const slots = (<u64>tableMask(tableLoad(sh)) + 1) * GROUP_SLOTS;
  const crowded = (<u64>load<u32>(sh, SH_USED) + 1) * LOAD_DEN > slots * LOAD_NUM;
  if (crowded || (!heapHasRoom(sh, size) && !compactInPlace(hdr, sh, size))) {
    const st = rebuild(hdr, sh, owner, count + 1, size, 0, true);
    if (st != ST_OK) return st;
  }
  let ref = findFree(tableLoad(sh), h);
  while (ref == 0) {
    // The probe path is crowded (colliding hashes): double the groups until
    // it is not; the memory maximum bounds this.
    const groups = tableMask(tableLoad(sh)) + 1;
    if (groups >= 0x4000000) return ST_FULL;
    const st = rebuild(hdr, sh, owner, count + 1, size, groups * 2, true);
    if (st != ST_OK) return st;
    ref = findFree(tableLoad(sh), h);
  }
  const e = appendEntry(sh, key, klen, word, val);
  const wasEmpty = load<u8>(refCtrl(ref)) == CTRL_EMPTY;
  seqBegin(sh);
  store<u32>(refAddrWord(ref), e);
  store<u8>(refCtrl(ref), tagOf(h)); // publishes the entry
  seqEnd(sh);
  store<u32>(sh, count + 1, SH_COUNT);
  if (wasEmpty) store<u32>(sh, load<u32>(sh, SH_USED) + 1, SH_USED);
  atomic.add<u32>(hdr, 1, HDR_COUNT);
  return ST_OK;
}

/** Give the key at `ref` a new value. ST_OK, ST_FULL or ST_BUSY. */
export function replace(
  hdr: usize, sh: usize, owner: u32, ref: u32, h: u64, key: usize, klen: u32, word: u32,
  val: usize,
): i32 {
  let e = refEntry(ref);
  const old = load<u32>(e, E_WORD);
  const vlen = word & VLEN_MASK;
  // In place, with no seq bump: a reader loads the word and an 8-byte
  // value with single aligned loads, so it sees the old or the new one,
  // never a mix, and a seq bump would only make every reader of the shard
  // miss its cache line (the seq word is on the readers' line).
  if (old == word && vlen <= 8) {
    // Same type and length, at most 8 bytes: one atomic 8-byte store.
    if (vlen > 0) atomic.store<u64>(<usize>e + valueOffset(klen), load<u64>(val));
    return ST_OK;
  }
  if ((old & VLEN_MASK) == 0 && vlen == 0) {
    // Only the type changes (true -> null ...): one store of the word.
    atomic.store<u32>(e, word, E_WORD);
    return ST_OK;
  }
  const size = entryBytes(klen, vlen);
  if (!heapHasRoom(sh, size) && !compactInPlace(hdr, sh, size)) {
    const st = rebuild(hdr, sh, owner, load<u32>(sh, SH_COUNT), size, 0, true);
    if (st != ST_OK) return st;
    ref = find(tableLoad(sh), h, key, klen, <u64>atomic.load<u32>(hdr, HDR_MEM_BYTES));
  }
  e = refEntry(ref); // it may have moved (rebuild or compaction)
  const dead = entryBytes(klen, load<u32>(e, E_WORD) & VLEN_MASK);
  const ne = appendEntry(sh, key, klen, word, val);
  seqBegin(sh);
  store<u32>(refAddrWord(ref), ne); // publishes the new entry
  seqEnd(sh);
  store<u32>(sh, load<u32>(sh, SH_DEAD) + dead, SH_DEAD);
  return ST_OK;
}

/** Remove the key at `ref`. */
export function remove(hdr: usize, sh: usize, ref: u32, klen: u32): void {
  const e = refEntry(ref);
  const dead = entryBytes(klen, load<u32>(e, E_WORD) & VLEN_MASK);
  // A slot may go back to EMPTY when its group still has an EMPTY slot: no
  // probe ever went past this group, so none needs the tombstone.
  const toEmpty = matchEmpty(v128.load(refGroup(ref))) != 0;
  seqBegin(sh);
  store<u8>(refCtrl(ref), toEmpty ? CTRL_EMPTY : CTRL_DELETED);
  seqEnd(sh);
  store<u32>(sh, load<u32>(sh, SH_COUNT) - 1, SH_COUNT);
  if (toEmpty) store<u32>(sh, load<u32>(sh, SH_USED) - 1, SH_USED);
  store<u32>(sh, load<u32>(sh, SH_DEAD) + dead, SH_DEAD);
  atomic.sub<u32>(hdr, 1, HDR_COUNT);
}

/** Copy the value of the entry at `ref` out; returns its header word. */
export function copyOut(ref: u32, klen: u32, out: usize): u32 {
  const e = refEntry(ref);
  const w = load<u32>(e, E_WORD);
  memory.copy(out, <usize>e + valueOffset(klen), w & VLEN_MASK);
  return w;
}

/** Free the shard's retired region if any; false if the allocator is busy. */
export function freeRetired(hdr: usize, sh: usize, owner: u32): bool {
  const r = load<u32>(sh, SH_RETIRED);
  if (r == 0) return true;
  if (!freeRegion(hdr, owner, r, load<u32>(sh, SH_RETIRED_BYTES))) return false;
  store<u32>(sh, 0, SH_RETIRED);
  return true;
}

/** Build a new region for the shard and switch to it (see "Resize" in
 *  layout.ts). It holds `want` live entries at most REBUILD_LOAD full (and
 *  at least `minGroups` groups) and `extraBytes` more heap than the live
 *  entries take. With keep = false the new table is empty (clear).
 *  ST_OK, ST_FULL (nothing changed) or ST_BUSY (allocator; nothing changed). */
export function rebuild(
  hdr: usize, sh: usize, owner: u32, want: u32, extraBytes: u32, minGroups: u32, keep: bool,
): i32 {
  if (!freeRetired(hdr, sh, owner)) return ST_BUSY;
  const seed = load<u64>(hdr, HDR_SEED);
  const old = tableLoad(sh);
  const oldGroups = tableGroups(old);
  const oldMask = tableMask(old);
  const oldRegion = load<u32>(sh, SH_REGION);
  let groups = <u64>max(minGroups, load<u32>(hdr, HDR_MIN_GROUPS));
  while (groups * GROUP_SLOTS * REBUILD_LOAD_NUM < <u64>want * REBUILD_LOAD_DEN) groups <<= 1;
  let liveBytes: u64 = 0;
  if (keep && oldRegion != 0) {
    const heapStart = <u64>oldGroups + ((<u64>oldMask + 1) << GROUP_SHIFT);
    liveBytes = <u64>load<u32>(sh, SH_HEAP_TOP) - heapStart - load<u32>(sh, SH_DEAD);
  }
  const heap = max(<u64>MIN_HEAP_BYTES, (liveBytes + extraBytes) * HEAP_SLACK_NUM / HEAP_SLACK_DEN);
  for (;;) {
    const total = align64((groups << GROUP_SHIFT) + heap);
    if (total > <u64>0xffff0000) return ST_FULL;
    const region = allocRegion(hdr, owner, total);
    if (region == ALLOC_FULL) return ST_FULL;
    if (region == ALLOC_BUSY) return ST_BUSY;
    store<u32>(sh, region, SH_PENDING);
    store<u32>(sh, <u32>total, SH_PENDING_BYTES);
    const mask = <u32>groups - 1;
    const t = packTable(region, mask);
    for (let g: u32 = 0; g <= mask; g++) {
      v128.store(<usize>region + (<usize>g << GROUP_SHIFT), emptyGroupCtrl());
    }
    let top = region + (<u32>groups << GROUP_SHIFT);
    let fits = true;
    if (keep && oldRegion != 0) {
      for (let r = nextFull(old, 0); r != 0; r = nextFull(old, slotNumber(old, r) + 1)) {
        const e = refEntry(r);
        const klen = <u32>load<u16>(e, E_KLEN);
        const size = entryBytes(klen, load<u32>(e, E_WORD) & VLEN_MASK);
        memory.copy(top, e, size);
        const h = hashKey(<usize>top + E_KEY, klen, seed);
        const ref = findFree(t, h);
        if (ref == 0) {
          fits = false;
          break;
        }
        store<u32>(refAddrWord(ref), top);
        store<u8>(refCtrl(ref), tagOf(h));
        top += size;
      }
    }
    if (!fits) {
      // A probe ran too long (never seen at this load): twice the groups.
      store<u32>(sh, 0, SH_PENDING);
      while (!freeRegion(hdr, owner, region, <u32>total)) {}
      groups <<= 1;
      continue;
    }
    // Switch: record the old region as retired, publish, make readers that
    // may still be in the old region retry, then free it.
    store<u32>(sh, load<u32>(sh, SH_REGION_BYTES), SH_RETIRED_BYTES);
    store<u32>(sh, oldRegion, SH_RETIRED);
    tablePublish(sh, region, mask);
    seqRetire(sh);
    store<u32>(sh, region, SH_REGION);
    store<u32>(sh, <u32>total, SH_REGION_BYTES);
    store<u32>(sh, top, SH_HEAP_TOP);
    store<u32>(sh, region + <u32>total, SH_HEAP_END);
    store<u32>(sh, 0, SH_DEAD);
    const live = keep ? load<u32>(sh, SH_COUNT) : 0;
    store<u32>(sh, live, SH_USED);
    store<u32>(sh, live, SH_COUNT);
    store<u32>(sh, 0, SH_PENDING);
    freeRetired(hdr, sh, owner);
    return ST_OK;
  }
}

/** Iteration: copy the first FULL slot at or after `cursor` (a slot number:
 *  group * 12 + index) into key/value buffers. Returns the next cursor and
 *  writes the key length and header word to `klenOut`/`wordOut`, or -1 at
 *  the end. The caller holds the shard lock. */
export function entryAt(
  sh: usize, cursor: u32, keyOut: usize, valOut: usize, klenOut: usize, wordOut: usize,
): i32 {
  const t = tableLoad(sh);
  const r = nextFull(t, cursor);
  if (r == 0) return -1;
  const e = refEntry(r);
  const klen = <u32>load<u16>(e, E_KLEN);
  memory.copy(keyOut, <usize>e + E_KEY, klen);
  store<u32>(klenOut, klen);
  store<u32>(wordOut, copyOut(r, klen, valOut));
  return <i32>(slotNumber(t, r) + 1);
}
