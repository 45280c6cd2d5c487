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
 * Keyed by the key itself, before it is encoded, in a JS `Map` (V8 keeps a
 * string's hash in the string: a lookup reads no characters of a key it
 * has seen, where encoding the key and hashing its bytes cost ~20 ns).
 * The `Map`'s SameValueZero is the map's own key equality for the kinds
 * kept: strings (the map encodes them as WTF-8, one to one), numbers (the
 * map folds -0 into 0 and every NaN into one, as a `Map` does) and
 * bigints. Uint8Array keys are not kept (a `Map` compares them by
 * identity, and their bytes can change in place). At most `size` keys,
 * replaced in CLOCK order (see #ring). Kept: values the decoded-value cache
 * returned from its tables (read before: immutable strings and bigints,
 * deep-frozen plain objects).
 *
 * A workload it rarely answers (keys far more numerous than its size, or
 * keys changed between most reads) pauses it: after MEMO_WINDOW lookups
 * with fewer than one in MEMO_MIN_SHARE answered, the next MEMO_PAUSE loads
 * neither look it up nor fill it (each would cost a few ns for nothing).
 */
import { MISS } from '../codec/decoded.js';
/** Lookups per judgement of the memo's use. */
export const MEMO_WINDOW = 512;
/** Fewer answers than one in MEMO_MIN_SHARE of a window's lookups pause it. */
const MEMO_MIN_SHARE = 8;
/** Loads a pause lasts (the next window judges again). */
export const MEMO_PAUSE = 64 * MEMO_WINDOW;

/** The kinds of key a `Map` compares as the map does (see above). */
export type MemoKey = string | number | bigint;

/** Strings at least this long may be slices of a longer string (V8's
 *  SlicedString::kMinLength), which V8 keeps whole while the slice lives:
 *  a key cut from a request line would keep the line. */
const SLICE_MIN_LENGTH = 13;

/** `key` as the memo keeps it: a long string as a flat copy of its own
 *  (the one V8 keeps as a property name), so that the memo holds no more
 *  than its keys' characters; measured: 300 keys sliced from 1 MB lines
 *  kept 257 MiB alive before, 1 MiB now. Equal to `key` (a Map finds
 *  either). */
function ownKey(key: MemoKey): MemoKey {
  if (typeof key !== 'string' || key.length < SLICE_MIN_LENGTH) return key;
  // (A computed key defines an own property, even '__proto__'.)
  const o = { [key]: 0 };
  for (const name in o) return name === key ? name : key;
  return key;
}

/** What the memo keeps of one key (reused for another key when it is
 *  replaced: no allocation once the memo is full). */
class Kept {
  /** Answered since the clock hand last passed it (its second chance). */
  used = false;
  constructor(
    public key: MemoKey,
    /** The key's write stripe (byte address) and its count at the read. */
    public stripe: number,
    public count: number,
    public value: unknown,
  ) {}
}

export class ReadMemo {
  /** The core's stripeIs (the stripe check: an atomic load in Wasm). */
  readonly #stripeIs: (addr: number, count: number) => number;
  readonly #i32: Int32Array;
  /** Index of this owner's state word, and its value while attached. */
  readonly #stateIdx: number;
  readonly #state: number;
  readonly #size: number;
  readonly #kept = new Map<MemoKey, Kept>();
  /** Every entry, in the order the clock hand visits them to replace one
   *  (CLOCK: an entry answered since the hand last passed is skipped once;
   *  a plain oldest-first order cost 1.17x the time in YCSB C, 10K keys
   *  over 4,096, its misses replacing hot keys and allocating each entry
   *  anew). */
  readonly #ring: Kept[] = [];
  #hand = 0;
  /** The last key `get` looked up and what it found there (a stale entry
   *  `put` refreshes without a second lookup). */
  #lastKey: MemoKey | undefined = undefined;
  #last: Kept | undefined = undefined;
  /** Lookups and answers in this window; the pause it decided. */
  #lookups = 0;
  #answers = 0;
  #paused = 0;
  /** Loads the memo answered (tests and the harness read it). */
  hits = 0;

  /** `stateAddress`: this owner's state word (byte address); `stripeIs`:
   *  the core's export; `size`: keys kept at most. */
  constructor(i32: Int32Array, stateAddress: number, stripeIs: (addr: number, count: number) => number, size: number) {
    this.#i32 = i32;
    this.#stripeIs = stripeIs;
    this.#stateIdx = stateAddress >>> 2;
    this.#state = Atomics.load(i32, this.#stateIdx);
    this.#size = size;
  }

  /** The value of `key` if it is the one kept (see above), else MISS.
   *  After a MISS, the caller asks takePause whether to skip the memo for
   *  a while. */
  get(key: MemoKey): unknown {
    if (++this.#lookups === MEMO_WINDOW) this.#judge();
    const e = this.#kept.get(key);
    this.#lastKey = key;
    this.#last = e;
    if (e === undefined) return MISS;
    // The stripe last (the linearization point of a load answered here:
    // an atomic load, in the core, whose call costs less than JS's
    // Atomics.load, a builtin call in Node 20); the state word only tells
    // a released instance, a plain read does.
    if (this.#i32[this.#stateIdx] !== this.#state || this.#stripeIs(e.stripe, e.count) === 0) return MISS;
    e.used = true;
    this.#answers++;
    this.hits++;
    return e.value;
  }

  /** Keep `value` for `key`, read when write stripe `stripe` (its byte
   *  address) had count `count`. */
  put(key: MemoKey, stripe: number, count: number, value: unknown): void {
    const kept = this.#kept;
    let e = key === this.#lastKey ? this.#last : kept.get(key);
    // (Cannot differ: put follows its own get, session.ts loadedFor; but
    // an entry is reused for other keys, so put never trusts it blindly.)
    if (e !== undefined && e.key !== key) e = kept.get(key);
    if (e !== undefined) {
      e.stripe = stripe;
      e.count = count;
      e.value = value;
      return;
    }
    const ring = this.#ring;
    let n: Kept;
    key = ownKey(key);
    if (ring.length < this.#size) {
      n = new Kept(key, stripe, count, value);
      ring.push(n);
    } else {
      let hand = this.#hand;
      n = ring[hand]!;
      while (n.used) {
        n.used = false;
        hand = hand + 1 === ring.length ? 0 : hand + 1;
        n = ring[hand]!;
      }
      this.#hand = hand + 1 === ring.length ? 0 : hand + 1;
      kept.delete(n.key);
      n.key = key;
      n.stripe = stripe;
      n.count = count;
      n.value = value;
    }
    kept.set(key, n);
    this.#lastKey = key;
    this.#last = n;
  }

  /** Keys kept now (at most `size`). */
  get size(): number {
    return this.#kept.size;
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
