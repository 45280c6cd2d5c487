/**
 * The read memo of one instance: a repeat `load` of a key that no one has
 * changed since this instance last read it returns the value it returned
 * then, checked by one word load instead of a lookup in the core.
 *
 * Contract: `get` returns a value only if it is the key's value now, so a
 * load it answers is as linearizable as one the core answers: the value was
 * read together with its key's write stripe count `c` (the core reads the
 * count inside its seqlock bracket and hands it back in SCRATCH_READ_*),
 * and every change of the key's value bumps the stripe inside the change's
 * own bracket (sync.ts: replaced, removed, the shard cleared or repaired),
 * so a core read can return a new value only after its stripe moved on. A
 * stripe still at `c` therefore means the value read is still the key's
 * (a 32-bit count: 2^32 changes of one stripe between the read and the
 * check would wrap it, as the seqlock's own seq could). Two exceptions, not
 * kept: values of at most IN_PLACE_MAX_VLEN bytes, which a writer replaces
 * in place with no bracket (writer.ts replace), and cache maps, whose
 * entries expire and are evicted without a change a stripe counts, and
 * whose reads feed the eviction policy's counts. The owner's state word is
 * checked too: a released instance gets no answer here and finds out from
 * the core, as before.
 *
 * Keyed by the encoded key (the bytes the core hashes, in the scratch's
 * key area), so every key type compares as the map compares it; keys over
 * KEY_MAX_BYTES encoded are not kept. A four-way set-associative table
 * like the decoded cache's (decoded.ts), of `size` slots, replaced
 * round-robin: no allocation per key. Kept: values the decoded-value cache
 * returned from its tables (read before: immutable strings and bigints,
 * deep-frozen plain objects).
 *
 * A workload it rarely answers (keys far more numerous than its slots, or
 * keys changed between most reads) pauses it: after MEMO_WINDOW lookups
 * with fewer than one in MEMO_MIN_SHARE answered, the next MEMO_PAUSE loads
 * neither look it up nor fill it (each would cost a few ns for nothing).
 */
import { MISS } from '../codec/decoded.js';
/** Longest encoded key kept (a type byte and 47: a prefix and a UUID). */
const KEY_MAX_BYTES = 48;
/** A slot's row of i32 words (one 64-byte cache line): the key's length,
 *  its write stripe's byte address, the stripe's count at the read, a
 *  spare word, then the key's words. */
const ROW_WORDS = 16;
const R_KLEN = 0;
const R_STRIPE = 1;
const R_COUNT = 2;
const R_KEY = 4;
/** Slots per set. */
const WAYS = 4;
/** Lookups per judgement of the memo's use. */
export const MEMO_WINDOW = 512;
/** Fewer answers than one in MEMO_MIN_SHARE of a window's lookups pause it. */
const MEMO_MIN_SHARE = 8;
/** Loads a pause lasts (the next window judges again). */
export const MEMO_PAUSE = 64 * MEMO_WINDOW;

export class ReadMemo {
  readonly #i32: Int32Array;
  /** The core's stripeIs (the stripe check: an atomic load in Wasm). */
  readonly #stripeIs: (addr: number, count: number) => number;
  /** Index (in i32) of the scratch's key area (4-aligned). */
  readonly #key: number;
  /** Index of this owner's state word, and its value while attached. */
  readonly #stateIdx: number;
  readonly #state: number;
  readonly #bits: number;
  /** Per slot, the key's hash (odd; 0: empty): a set's four are 16 bytes,
   *  so a lookup reads one line of them and then one row, that of the
   *  slot whose hash matches (a table of separate arrays per field cost a
   *  cache miss per field: ~20 ns a lookup in a mixed workload). */
  readonly #hash: Int32Array;
  readonly #rows: Int32Array;
  readonly #value: unknown[];
  readonly #next: Uint8Array;
  /** The last lookup: its key's hash and set, the slot holding the key (-1). */
  #h = 0;
  #set = 0;
  #slot = -1;
  /** Lookups and answers in this window; the pause it decided. */
  #lookups = 0;
  #answers = 0;
  #paused = 0;
  /** Loads the memo answered (tests and the harness read it). */
  hits = 0;

  /** `keyAt`: the scratch's key area and `stateAddress` this owner's state
   *  word (byte addresses); `stripeIs`: the core's export; `size`: slots,
   *  a power of two >= WAYS. */
  constructor(i32: Int32Array, keyAt: number, stateAddress: number, stripeIs: (addr: number, count: number) => number, size: number) {
    this.#i32 = i32;
    this.#stripeIs = stripeIs;
    this.#key = keyAt >>> 2;
    this.#stateIdx = stateAddress >>> 2;
    this.#state = Atomics.load(i32, this.#stateIdx);
    this.#bits = 32 - Math.log2(size);
    this.#hash = new Int32Array(size);
    this.#rows = new Int32Array(size * ROW_WORDS);
    this.#value = new Array(size).fill(undefined);
    this.#next = new Uint8Array(size / WAYS);
  }

  /** The value of the key encoded in the scratch (`klen` bytes) if it is
   *  the one kept (see above), else MISS. After a MISS, the caller asks
   *  takePause whether to skip the memo for a while. */
  get(klen: number): unknown {
    if (++this.#lookups === MEMO_WINDOW) this.#judge();
    this.#slot = -1;
    if (klen > KEY_MAX_BYTES) return MISS;
    const i32 = this.#i32;
    const base = this.#key;
    const full = klen >>> 2;
    const tail = klen & 3;
    // The bytes past klen in the last word are an earlier key's: masked.
    const last = tail === 0 ? 0 : i32[base + full]! & ((1 << (tail * 8)) - 1);
    let h = Math.imul(klen ^ 0x9e3779b9, 0x85ebca6b);
    for (let k = 0; k < full; k++) h = Math.imul(h ^ i32[base + k]!, 0xc2b2ae35);
    h = Math.imul(h ^ last, 0x27d4eb2f);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    const set = (h >>> this.#bits) & ~(WAYS - 1);
    h |= 1;
    this.#h = h;
    this.#set = set;
    const hashes = this.#hash;
    const rows = this.#rows;
    for (let way = 0; way < WAYS; way++) {
      const s = set | way;
      if (hashes[s] !== h) continue;
      const r = s * ROW_WORDS;
      if (rows[r + R_KLEN] !== klen) continue;
      const at = r + R_KEY;
      let same = tail === 0 || rows[at + full] === last;
      for (let k = 0; k < full && same; k++) same = rows[at + k] === i32[base + k];
      if (!same) continue;
      this.#slot = s;
      // The stripe last (the linearization point of a load answered here:
      // an atomic load, in the core, whose call costs less than JS's
      // Atomics.load, a builtin call in Node 20); the state word only
      // tells a released instance, a plain read does.
      if (i32[this.#stateIdx] !== this.#state || this.#stripeIs(rows[r + R_STRIPE]!, rows[r + R_COUNT]!) === 0) return MISS;
      this.#answers++;
      this.hits++;
      return this.#value[s];
    }
    return MISS;
  }

  /** Keep `value`, read when write stripe `stripe` (its byte address) had
   *  count `count`, for the key the last `get` missed (still in the
   *  scratch). */
  put(klen: number, stripe: number, count: number, value: unknown): void {
    if (klen > KEY_MAX_BYTES) return;
    const rows = this.#rows;
    let s = this.#slot;
    if (s < 0) {
      // A new key: over the set's next victim, its bytes copied.
      const set = this.#set;
      const i = set / WAYS;
      const way = this.#next[i]!;
      this.#next[i] = (way + 1) & (WAYS - 1);
      s = set | way;
      const i32 = this.#i32;
      const at = s * ROW_WORDS + R_KEY;
      const full = klen >>> 2;
      const tail = klen & 3;
      for (let k = 0; k < full; k++) rows[at + k] = i32[this.#key + k]!;
      if (tail !== 0) rows[at + full] = i32[this.#key + full]! & ((1 << (tail * 8)) - 1);
      rows[s * ROW_WORDS + R_KLEN] = klen;
      this.#hash[s] = this.#h;
    }
    const r = s * ROW_WORDS;
    rows[r + R_STRIPE] = stripe;
    rows[r + R_COUNT] = count;
    this.#value[s] = value;
  }

  /** Loads to skip the memo for (0: none), once. */
  takePause(): number {
    const n = this.#paused;
    this.#paused = 0;
    return n;
  }

  /** End of a window: pause if it answered too few. */
  #judge(): void {
    if (this.#answers * MEMO_MIN_SHARE < this.#lookups) this.#paused = MEMO_PAUSE;
    this.#lookups = 0;
    this.#answers = 0;
  }
}
