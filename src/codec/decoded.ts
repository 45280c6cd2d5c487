/**
 * The decoded-value cache of one instance: a repeat `load` of a string,
 * bigint or object that has not changed since this instance last decoded
 * it returns the same decoded value, without decoding (or, for long values,
 * even copying) anything.
 *
 * Two 4-way set-associative tables (a value goes in one of the four slots
 * of its set, replaced round-robin; measured, 1,000 values read in turn
 * from 4,096 slots: direct-mapped missed 22 % of reads, 2-way 8 %, 4-way
 * under 2 %), keyed by what identifies a value for sure, so a hit can never
 * return a value that is not the stored one:
 * - by content, for values of up to CONTENT_MAX_VLEN bytes (the core
 *   copies them anyway, or, tagged, on a tag miss): the value word and its
 *   bytes are the key, so equal bytes give the same (immutable) decoded
 *   value, whoever wrote them;
 * - by tag, for values out of line over TAG_MIN_VLEN bytes, which the core
 *   does not copy (one up to CONTENT_MAX_VLEN is found by content on a tag
 *   miss, and kept under its tag at once):
 *   (value address, shard heap epoch). Within an epoch an out-of-line value
 *   is never changed in place (a new value is a new entry; anything that
 *   moves entries takes a new epoch, see SH_EPOCH), so the tag names one
 *   value forever.
 * A miss decodes and replaces the slot's entry. A long value (over
 * ADMIT_AFTER_SEEN_VLEN bytes) is only remembered on its second read: the
 * first one leaves a SEEN mark in its slot. Values that change between
 * every read (store-then-load churn) would otherwise fill the cache with
 * large strings that survive a few scavenges and die old: with 4 KB
 * strings that made V8 spend 80 % of the time in mark-compact (12.9 us per
 * store+load, 1.9 us with the mark). Objects of plain data are
 * deep-frozen before they are cached (they are shared by every later hit);
 * Uint8Array values, and objects holding anything freezing cannot make
 * immutable (a Date, Set, typed array...), are never cached: each load
 * returns a fresh, mutable copy.
 */
import { T_F64, T_BYTES } from '../../assembly/shared.js';
import { decodeValue, unpackingNow, type MemIO } from './codec.js';
import { vtypeOf, vlenOf, isObject } from './words.js';

/** Values up to this many bytes are also found by content: every value the
 *  core copies (out of line up to TAG_MIN_VLEN, inline up to a cell's 32
 *  bytes less its header and key), and a tagged one on a tag miss. */
const CONTENT_MAX_VLEN = 32;
/** i32 words of a content key's bytes. */
const CONTENT_WORDS = CONTENT_MAX_VLEN >>> 2;
/** Slots per set. */
const WAYS = 4;
/** Values longer than this are cached on their second read (see above). */
const ADMIT_AFTER_SEEN_VLEN = 512;
/** The value of a slot whose tag has been read once. */
const SEEN: unique symbol = Symbol('DecodedCache.seen');

/** A content key's words, kept while its value is decoded (reused). */
const contentWords = new Int32Array(CONTENT_WORDS);

/** The objects and arrays collectPlain found, to freeze (reused). */
const found: object[] = [];

/** Is object `v` plain data, which freezing makes immutable: a plain
 *  object or array of primitives and plain data? A Date, Set, typed array
 *  or other class instance that msgpackr returns keeps state Object.freeze
 *  cannot fix (setTime, add; a typed array with elements cannot be frozen
 *  at all), so a value holding one is never shared. Pushes every object
 *  and array it passes onto `found`: one walk, each object's keys listed
 *  once, then frozen by freezePlain (two walks, one to check and one to
 *  freeze, cost ~300 ns more on this project's test host for a 4-field
 *  object with an array). */
function collectPlain(v: object): boolean {
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return false;
    found.push(v);
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null && !collectPlain(x)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  found.push(v);
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const x = (v as Record<string, unknown>)[keys[i]!];
    if (typeof x === 'object' && x !== null && !collectPlain(x)) return false;
  }
  return true;
}

/** Deep-freeze `v` if it is plain data (collectPlain); false, and nothing
 *  frozen, if it is not. Primitives are plain. */
function freezePlain(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  found.length = 0;
  const plain = collectPlain(v);
  if (plain) for (let i = 0; i < found.length; i++) Object.freeze(found[i]);
  found.length = 0;
  return plain;
}

/** Is a tagged value with word `w` remembered only from its second read
 *  on? Long values (see above) and objects: an object read once after
 *  each change (store-then-load churn) is then never frozen, which cost
 *  more than its decode. */
function admitOnSecondRead(w: number): boolean {
  return isObject(vtypeOf(w)) || vlenOf(w) > ADMIT_AFTER_SEEN_VLEN;
}

/** Can a decoded value of this type be shared between loads? */
function cacheable(vtype: number): boolean {
  return vtype !== T_BYTES && vtype !== T_F64;
}

export class DecodedCache {
  readonly #io: MemIO;
  readonly #bits: number;
  // By content: the value word (0 = empty slot) and the bytes.
  readonly #cWord: Int32Array;
  readonly #cBytes: Int32Array;
  readonly #cValue: unknown[];
  /** Per set: the way replaced next (round-robin). */
  readonly #cNext: Uint8Array;
  // By tag: address (0 = empty slot), epoch.
  readonly #tAddr: Int32Array;
  readonly #tEpoch: Int32Array;
  readonly #tWord: Int32Array;
  readonly #tValue: unknown[];
  readonly #tNext: Uint8Array;
  // The last tag byTag missed: its set, and its SEEN slot (-1: none).
  #missAddr = 0;
  #missEpoch = 0;
  #missWord = 0;
  #missSet = 0;
  #missSeen = -1;
  /** Did the last byContent return a value it keeps (shared, frozen)? */
  #shared = false;
  /** Did the last call return a value from a table (one decoded before:
   *  shared, immutable)? The read memo keeps only such values. */
  hit = false;

  /** `size`: slots of each table, a power of two >= WAYS. */
  constructor(io: MemIO, size: number) {
    this.#io = io;
    this.#bits = 32 - Math.log2(size);
    this.#cWord = new Int32Array(size);
    this.#cBytes = new Int32Array(size * CONTENT_WORDS);
    this.#cValue = new Array(size).fill(undefined);
    this.#cNext = new Uint8Array(size / WAYS);
    this.#tAddr = new Int32Array(size);
    this.#tEpoch = new Int32Array(size);
    this.#tWord = new Int32Array(size);
    this.#tValue = new Array(size).fill(undefined);
    this.#tNext = new Uint8Array(size / WAYS);
  }

  /** The value with word `w` whose bytes the core copied to `p` (8-aligned,
   *  padded to 8): from the table if the same bytes were decoded before. */
  byContent(p: number, w: number): unknown {
    const n = vlenOf(w);
    this.#shared = false;
    this.hit = false;
    if (n > CONTENT_MAX_VLEN || !cacheable(vtypeOf(w))) return decodeValue(this.#io, p, w);
    const i32 = this.#io.i32;
    const base = p >>> 2;
    const full = n >>> 2;
    const tail = n & 3;
    const tailMask = tail === 0 ? 0 : (1 << (tail * 8)) - 1;
    // Hash the word and the bytes (the padding past n masked off).
    let h = Math.imul(w ^ 0x9e3779b9, 0x85ebca6b);
    for (let k = 0; k < full; k++) h = Math.imul(h ^ i32[base + k]!, 0xc2b2ae35);
    const last = tail === 0 ? 0 : i32[base + full]! & tailMask;
    h = Math.imul(h ^ last, 0x27d4eb2f);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    const set = ((h ^ (h >>> 16)) >>> this.#bits) & ~(WAYS - 1);
    const bytes = this.#cBytes;
    for (let way = 0; way < WAYS; way++) {
      const s = set | way;
      if (this.#cWord[s] !== w) continue;
      const at = s * CONTENT_WORDS;
      let same = true;
      for (let k = 0; k < full && same; k++) same = bytes[at + k] === i32[base + k];
      if (same && (tail === 0 || bytes[at + full] === last)) {
        this.#shared = true;
        this.hit = true;
        return this.#cValue[s];
      }
    }
    // The bytes aside first: the decode may run user code (a msgpackr
    // extension's read) that loads from this map over them, and over
    // these words too if this decode is itself nested in one.
    const words = unpackingNow() ? new Int32Array(CONTENT_WORDS) : contentWords;
    for (let k = 0; k < full; k++) words[k] = i32[base + k]!;
    const v = decodeValue(this.#io, p, w);
    if (!this.#share(v, w)) return v;
    this.#shared = true;
    const slot = set | this.#victim(this.#cNext, set);
    const at = slot * CONTENT_WORDS;
    this.#cWord[slot] = w;
    for (let k = 0; k < full; k++) bytes[at + k] = words[k]!;
    if (tail !== 0) bytes[at + full] = last;
    this.#cValue[slot] = v;
    return v;
  }

  /** First slot of the set of tag (addr, epoch) in the tag table: both
   *  mixed through murmur3's finalizer (heap addresses are 8-aligned and
   *  close together, epochs small: a plain product left sets crowded). */
  #tagSet(addr: number, epoch: number): number {
    let h = addr ^ Math.imul(epoch, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> this.#bits) & ~(WAYS - 1);
  }

  /** The way of set `set` to replace next, round-robin. */
  #victim(next: Uint8Array, set: number): number {
    const i = set / WAYS;
    const way = next[i]!;
    next[i] = (way + 1) & (WAYS - 1);
    return way;
  }

  /** The value tagged (addr, epoch) with word `w` if decoded before, else
   *  MISS. */
  byTag(addr: number, epoch: number, w: number): unknown {
    const set = this.#tagSet(addr, epoch);
    let seen = -1;
    for (let way = 0; way < WAYS; way++) {
      const s = set | way;
      if (this.#tAddr[s] === addr && this.#tEpoch[s] === epoch && this.#tWord[s] === w) {
        const v = this.#tValue[s];
        if (v !== SEEN) {
          this.hit = true;
          return v;
        }
        seen = s;
        break;
      }
    }
    // A miss: what fillTag needs of this lookup, if it comes next for this tag.
    this.#missAddr = addr;
    this.#missEpoch = epoch;
    this.#missWord = w;
    this.#missSet = set;
    this.#missSeen = seen;
    return MISS;
  }

  /** Decode the tagged value the core just copied to `p`, and remember it. */
  fillTag(addr: number, epoch: number, w: number, p: number): unknown {
    this.hit = false;
    if (vlenOf(w) <= CONTENT_MAX_VLEN) {
      // Short: found (or decoded and kept) by content, then by this tag
      // too, at once (the same bytes stored again, as a new entry, then
      // decode nothing).
      const v = this.byContent(p, w);
      if (this.#shared) this.#put(this.#setOf(addr, epoch, w), addr, epoch, w, v);
      return v;
    }
    const v = decodeValue(this.#io, p, w);
    if (!cacheable(vtypeOf(w))) return v;
    const set = this.#setOf(addr, epoch, w);
    if (admitOnSecondRead(w)) {
      const seen = this.#missedLast(addr, epoch, w) ? this.#missSeen : this.#seenSlot(set, addr, epoch, w);
      if (seen >= 0 && this.#tValue[seen] === SEEN && this.#tAddr[seen] === addr && this.#tEpoch[seen] === epoch && this.#tWord[seen] === w) {
        // The second read: remember it (if it can be shared).
        if (this.#share(v, w)) this.#tValue[seen] = v;
        return v;
      }
    } else if (!this.#share(v, w)) return v;
    this.#put(set, addr, epoch, w, admitOnSecondRead(w) ? SEEN : v);
    return v;
  }

  /** Was tag (addr, epoch) with word `w` the last one byTag missed (the
   *  common case right before fillTag)? */
  #missedLast(addr: number, epoch: number, w: number): boolean {
    return this.#missAddr === addr && this.#missEpoch === epoch && this.#missWord === w;
  }

  /** The set of tag (addr, epoch): byTag's, without hashing again, when it
   *  just missed this tag. */
  #setOf(addr: number, epoch: number, w: number): number {
    return this.#missedLast(addr, epoch, w) ? this.#missSet : this.#tagSet(addr, epoch);
  }

  /** Put `value` (a shared value, or SEEN) under the tag in set `set`,
   *  over the set's next victim. */
  #put(set: number, addr: number, epoch: number, w: number, value: unknown): void {
    const slot = set | this.#victim(this.#tNext, set);
    this.#tAddr[slot] = addr;
    this.#tEpoch[slot] = epoch;
    this.#tWord[slot] = w;
    this.#tValue[slot] = value;
  }

  /** The slot of set `set` holding the SEEN mark of tag (addr, epoch)
   *  with word `w`, or -1. */
  #seenSlot(set: number, addr: number, epoch: number, w: number): number {
    for (let way = 0; way < WAYS; way++) {
      const s = set | way;
      if (this.#tValue[s] === SEEN && this.#tAddr[s] === addr && this.#tEpoch[s] === epoch && this.#tWord[s] === w) return s;
    }
    return -1;
  }

  /** Can decoded value `v` (word `w`) be shared between loads? Objects
   *  only if they are plain data, which this deep-freezes. */
  #share(v: unknown, w: number): boolean {
    return !isObject(vtypeOf(w)) || freezePlain(v);
  }
}

/** byTag's "not there". */
export const MISS: unique symbol = Symbol('DecodedCache.miss');
