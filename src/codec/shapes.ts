/**
 * Objects of the map's published shapes, written as msgpackr writes them,
 * without msgpackr: the store path of the objects services cache (plain
 * data of a few shapes). msgpackr's record writer walks each object's keys
 * twice through a transition trie with a hasOwnProperty call per key, and
 * the map then scans its bytes for lone surrogates (msgpack.ts safePack);
 * here an object's keys are compared, in one walk, with a shape seen at
 * the same depth last time, and its values are written straight to the
 * place they go (measured on this machine, the harness's object
 * `{ id, name, score, tags: [3 strings] }`: ~200 ns against msgpackr's
 * 340-360 ns for its records or its plain MessagePack).
 *
 * Contract: `write` returns the end of the bytes it wrote at [p, end), the
 * very bytes RecordCodec.pack (msgpackr, then safePack's lone-surrogate
 * rule: such a character is written as U+FFFD) writes for the same value
 * with the same published shapes (test/unit/shapes.test.ts checks it on
 * generated values), so an object packs to the same bytes by either path
 * (compareAndSwap compares bytes). It returns NOT_WRITTEN, having written
 * anything in [p, end) and read the value's properties (getters run), for
 * what it leaves to msgpackr: an object of a shape not published, or with
 * a key that is not well-formed UTF-16; anything but plain objects, arrays
 * (Array.isArray), strings, numbers, booleans, null and undefined (a Date,
 * a Map, a bigint, a class instance, a function); nesting deeper than
 * DEPTH_MAX; more than fits before `end`; and every object while
 * Object.prototype has an
 * enumerable property (then `for…in` sees keys msgpackr skips), checked
 * before and after the write.
 */
import { isWellFormed } from '../base/platform.js';

/** A key list (msgpackr's "structure"). */
export type Shape = string[];

/** What `write` returns when it leaves the value to msgpackr. */
export const NOT_WRITTEN = -1;
/** #fields' answer for an object whose keys are not the shape's. */
const OTHER_SHAPE = -2;
/** Deeper values are left to msgpackr (which refuses cycles and
 *  ~thousand-level nesting with its own errors); cached objects nest a
 *  handful of levels. */
const DEPTH_MAX = 64;
/** Shapes seen last are kept per nesting depth up to this one (objects at
 *  one depth of a stored value mostly share a shape). */
const LAST_DEPTHS = 8;
/** msgpackr's first record id (msgpack's fixmap range is 0x80-0x8f and
 *  fixint 0x00-0x7f: it takes 0x40-0x7f for record ids, so its records
 *  write positive integers 0x40-0xff as uint8). */
const RECORD_ID_FIRST = 0x40;
/** Ids from here are two bytes (msgpackr's useTwoByteRecords, on since the
 *  map shares more than 32 shapes): 0x60 + the low 5 bits, then the rest. */
const TWO_BYTE_ID = 0x60;
/** Positive integers below this are one byte in records (see RECORD_ID_FIRST). */
const FIXINT_MAX = 0x40;
/** Strings up to this many characters are written by the loop below, and
 *  longer ones by Buffer#utf8Write where there is one (msgpackr's own
 *  split: the same bytes either way, U+FFFD for a lone surrogate). */
const LOOP_STRING_MAX = 0x40;
/** Every byte a number, a boolean, null, undefined or a container header
 *  takes at most (a float64: a type byte and 8). */
const SCALAR_MAX = 9;

/** Node's Buffer#utf8Write, where the target has it. */
interface Utf8Writer {
  utf8Write(s: string, offset: number, length: number): number;
}

/** A published shape and the bytes that start its records. */
interface Entry {
  readonly keys: Shape;
  /** The record id's bytes: one (`head1` < 0) or two. */
  readonly head0: number;
  readonly head1: number;
}

/** Private scratch for a float64's bytes (written big-endian, as msgpack). */
const f64 = new Float64Array(1);
const f64bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** An object whose `for…in` lists Object.prototype's enumerable keys. */
const EMPTY: object = Object.freeze({});

/** `k` as V8 keeps property names: the one (internalized) copy that
 *  `for…in` yields, so that #fields compares a shape's keys with an
 *  object's by reference (the shapes' own strings, decoded from the log,
 *  are other copies: each compare read both strings' characters). */
function asPropertyKey(k: string): string {
  // (A computed key defines an own property, never a setter's: '__proto__'
  // too; and own keys come first in for…in, whatever Object.prototype has.)
  const o = { [k]: 0 };
  for (const name in o) return name === k ? name : k;
  return k;
}

/** Does `for…in` of o list exactly `keys`, in order? */
function hasKeys(o: object, keys: Shape): boolean {
  const n = keys.length;
  let i = 0;
  for (const k in o) {
    if (i === n || keys[i] !== k) return false;
    i++;
  }
  return i === n;
}

/** Is Object.prototype free of enumerable properties (so that `for…in` of
 *  a plain object lists its own keys alone, as msgpackr's walk does)? */
function prototypeClean(): boolean {
  for (const _ in EMPTY) return false;
  return true;
}

/** Writes objects of published shapes as records (see the contract above). */
export class ShapeWriter {
  /** The published shapes, as msgpackr numbers them (index + 0x40), read
   *  through `published` (it reads the log's new entries). */
  readonly #published: () => readonly Shape[];
  /** Shapes indexed so far (a prefix of the published ones). */
  #indexed = 0;
  /** Indexed shapes by their first key (the empty shape apart). */
  readonly #byFirst = new Map<string, Entry[]>();
  #empty: Entry | null = null;
  /** The shape matched last at each depth. */
  readonly #last: (Entry | null)[] = new Array<Entry | null>(LAST_DEPTHS).fill(null);

  constructor(published: () => readonly Shape[]) {
    this.#published = published;
  }

  /**
   * Write `value` (an object or array) at [p, end) of `u8` as records,
   * with `utf8` (a Node Buffer over the same bytes, if any) for long
   * strings. Returns the end of its bytes, or NOT_WRITTEN (see above).
   */
  write(value: object, u8: Uint8Array, utf8: Utf8Writer | undefined, p: number, end: number): number {
    if (!prototypeClean()) return NOT_WRITTEN;
    const q = this.#value(value, u8, utf8, p, end, 0);
    // (Again: a getter of the value may have added one meanwhile.)
    return prototypeClean() ? q : NOT_WRITTEN;
  }

  #value(v: unknown, u8: Uint8Array, utf8: Utf8Writer | undefined, p: number, end: number, depth: number): number {
    // (`typeof v === '…'` tests, not a switch on typeof: V8 compiles each
    // test to a type check, where a switch calls its typeof builtin and
    // compares the strings it returns: ~10 % of a store's time.)
    if (typeof v === 'string') return writeString(v, u8, utf8, p, end);
    if (typeof v === 'number') return p + SCALAR_MAX > end ? NOT_WRITTEN : writeNumber(v, u8, p);
    if (typeof v === 'object') {
      if (v === null) {
        if (p >= end) return NOT_WRITTEN;
        u8[p] = 0xc0;
        return p + 1;
      }
      if (depth >= DEPTH_MAX) return NOT_WRITTEN;
      // msgpackr's own tests, in its order: a record for constructor
      // Object, an array for constructor Array, anything else its way.
      const c = (v as { constructor?: unknown }).constructor;
      if (c === Object) {
        // (An object of Object.create(proto) has proto's keys in for…in.)
        if (Object.getPrototypeOf(v) !== Object.prototype) return NOT_WRITTEN;
        return this.#object(v, u8, utf8, p, end, depth);
      }
      // (An object of Object.create(Array.prototype) is an array to
      // msgpackr, but not to safePack's lone-surrogate walk.)
      if (c === Array && Array.isArray(v)) return this.#array(v as unknown[], u8, utf8, p, end, depth);
      return NOT_WRITTEN;
    }
    if (typeof v === 'boolean') {
      if (p >= end) return NOT_WRITTEN;
      u8[p] = v ? 0xc3 : 0xc2;
      return p + 1;
    }
    if (v === undefined) {
      // msgpackr's undefined: fixext 1, type 0, data 0.
      if (p + 3 > end) return NOT_WRITTEN;
      u8[p] = 0xd4;
      u8[p + 1] = 0;
      u8[p + 2] = 0;
      return p + 3;
    }
    return NOT_WRITTEN;
  }

  #array(a: unknown[], u8: Uint8Array, utf8: Utf8Writer | undefined, p: number, end: number, depth: number): number {
    const n = a.length;
    if (p + SCALAR_MAX > end) return NOT_WRITTEN;
    if (n < 0x10) u8[p++] = 0x90 | n;
    else if (n < 0x10000) {
      u8[p] = 0xdc;
      u8[p + 1] = n >>> 8;
      u8[p + 2] = n & 0xff;
      p += 3;
    } else {
      u8[p++] = 0xdd;
      p = writeU32(n, u8, p);
    }
    for (let i = 0; i < n && p >= 0; i++) p = this.#value(a[i], u8, utf8, p, end, depth + 1);
    return p;
  }

  #object(o: object, u8: Uint8Array, utf8: Utf8Writer | undefined, p: number, end: number, depth: number): number {
    // The shape seen last at this depth first, its keys checked as the
    // values are written (one walk of the object); on a difference, the
    // shape the keys are, written again from the start.
    const d = depth < LAST_DEPTHS ? depth : LAST_DEPTHS - 1;
    const last = this.#last[d]!;
    if (last !== null) {
      const q = this.#fields(o, last, u8, utf8, p, end, depth);
      if (q !== OTHER_SHAPE) return q;
    }
    let e = this.#find(o);
    // Not among those indexed: published since? (Read on a miss alone.)
    if (e === null && this.#index()) e = this.#find(o);
    // (The last shape found again: a getter changed the keys mid-walk.)
    if (e === null || e === last) return NOT_WRITTEN;
    this.#last[d] = e;
    const q = this.#fields(o, e, u8, utf8, p, end, depth);
    return q === OTHER_SHAPE ? NOT_WRITTEN : q;
  }

  /** Write `o` as a record of shape `e`: the end of its bytes, OTHER_SHAPE
   *  if its keys are not e's, or NOT_WRITTEN. */
  #fields(o: object, e: Entry, u8: Uint8Array, utf8: Utf8Writer | undefined, p: number, end: number, depth: number): number {
    if (p + 2 > end) return NOT_WRITTEN;
    u8[p++] = e.head0;
    if (e.head1 >= 0) u8[p++] = e.head1;
    const keys = e.keys;
    const n = keys.length;
    const values = o as Record<string, unknown>;
    // The values in for…in's order (its field loads are V8's fastest), each
    // key checked as it comes: a getter may also add or delete some.
    let i = 0;
    for (const k in values) {
      if (i === n || keys[i] !== k) return OTHER_SHAPE;
      p = this.#value(values[k], u8, utf8, p, end, depth + 1);
      if (p < 0) return NOT_WRITTEN;
      i++;
    }
    return i === n ? p : OTHER_SHAPE;
  }

  #find(o: object): Entry | null {
    let first: string | undefined;
    for (const k in o) {
      first = k;
      break;
    }
    if (first === undefined) return this.#empty;
    const list = this.#byFirst.get(first);
    // The last one published first: msgpackr, rebuilding its lookup from
    // the log, lets a later copy of a shape win (a log restored from an
    // older snapshot may hold one twice).
    if (list !== undefined) for (let i = list.length - 1; i >= 0; i--) if (hasKeys(o, list[i]!.keys)) return list[i]!;
    return null;
  }

  /** Index the shapes published since the last call; were there any? */
  #index(): boolean {
    const shapes = this.#published();
    if (shapes.length === this.#indexed) return false;
    for (let i = this.#indexed; i < shapes.length; i++) {
      const shape = shapes[i]!;
      // A key with a lone surrogate (never shared since records.ts
      // shouldShare refuses them; a log from an older snapshot may hold
      // one): msgpackr's path stores such an object in its own way.
      if (!shape.every((k) => typeof k === 'string' && isWellFormed(k))) continue;
      const keys = shape.map(asPropertyKey);
      const id = RECORD_ID_FIRST + i;
      const entry: Entry = id < TWO_BYTE_ID
        ? { keys, head0: id, head1: -1 }
        : { keys, head0: TWO_BYTE_ID + ((id - TWO_BYTE_ID) & 0x1f), head1: (id - TWO_BYTE_ID) >>> 5 };
      if (keys.length === 0) {
        this.#empty = entry;
        continue;
      }
      const list = this.#byFirst.get(keys[0]!);
      // (A shape is published once, the log refusing a second writer's;
      // but see #find.)
      if (list === undefined) this.#byFirst.set(keys[0]!, [entry]);
      else list.push(entry);
    }
    this.#indexed = shapes.length;
    return true;
  }
}


/** A number as msgpackr's records write it: the smallest integer form for
 *  an int32 or uint32 (-0 as 0, as msgpackr), else a float64. Room for
 *  SCALAR_MAX bytes at p is the caller's to check. */
function writeNumber(v: number, u8: Uint8Array, p: number): number {
  if (v >>> 0 === v) {
    if (v < FIXINT_MAX) u8[p++] = v;
    else if (v < 0x100) {
      u8[p] = 0xcc;
      u8[p + 1] = v;
      p += 2;
    } else if (v < 0x10000) {
      u8[p] = 0xcd;
      u8[p + 1] = v >>> 8;
      u8[p + 2] = v & 0xff;
      p += 3;
    } else {
      u8[p++] = 0xce;
      p = writeU32(v, u8, p);
    }
  } else if (v >> 0 === v) {
    if (v >= -0x20) u8[p++] = 0x100 + v;
    else if (v >= -0x80) {
      u8[p] = 0xd0;
      u8[p + 1] = v + 0x100;
      p += 2;
    } else if (v >= -0x8000) {
      u8[p] = 0xd1;
      u8[p + 1] = (v >> 8) & 0xff;
      u8[p + 2] = v & 0xff;
      p += 3;
    } else {
      u8[p++] = 0xd2;
      p = writeU32(v >>> 0, u8, p);
    }
  } else {
    u8[p++] = 0xcb;
    f64[0] = v;
    if (LITTLE_ENDIAN) for (let i = 7; i >= 0; i--) u8[p++] = f64bytes[i]!;
    else for (let i = 0; i < 8; i++) u8[p++] = f64bytes[i]!;
  }
  return p;
}

/** A uint32, big-endian. */
function writeU32(v: number, u8: Uint8Array, p: number): number {
  u8[p] = v >>> 24;
  u8[p + 1] = (v >>> 16) & 0xff;
  u8[p + 2] = (v >>> 8) & 0xff;
  u8[p + 3] = v & 0xff;
  return p + 4;
}

/** A string as msgpack str (the smallest header for its UTF-8 length, as
 *  msgpackr writes), a lone surrogate as U+FFFD. */
function writeString(s: string, u8: Uint8Array, utf8: Utf8Writer | undefined, p: number, end: number): number {
  const n = s.length;
  // The most it can take: a 5-byte header and 3 bytes per UTF-16 unit.
  if (p + 5 + 3 * n > end) return NOT_WRITTEN;
  // The header's size for n characters (the bytes may need a longer one).
  const guess = n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  const from = p + guess;
  let q = from;
  if (n >= LOOP_STRING_MAX && utf8 !== undefined) q += utf8.utf8Write(s, from, end - from);
  else {
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) u8[q++] = c;
      else if (c < 0x800) {
        u8[q] = (c >> 6) | 0xc0;
        u8[q + 1] = (c & 0x3f) | 0x80;
        q += 2;
      } else {
        if ((c & 0xf800) === 0xd800) {
          const d = s.charCodeAt(i + 1);
          if (c < 0xdc00 && (d & 0xfc00) === 0xdc00) {
            c = 0x10000 + ((c & 0x3ff) << 10) + (d & 0x3ff);
            i++;
            u8[q] = (c >> 18) | 0xf0;
            u8[q + 1] = ((c >> 12) & 0x3f) | 0x80;
            u8[q + 2] = ((c >> 6) & 0x3f) | 0x80;
            u8[q + 3] = (c & 0x3f) | 0x80;
            q += 4;
            continue;
          }
          c = 0xfffd; // a lone surrogate
        }
        u8[q] = (c >> 12) | 0xe0;
        u8[q + 1] = ((c >> 6) & 0x3f) | 0x80;
        u8[q + 2] = (c & 0x3f) | 0x80;
        q += 3;
      }
    }
  }
  const len = q - from;
  const header = len < 0x20 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
  if (header !== guess) u8.copyWithin(p + header, from, q);
  if (header === 1) u8[p] = 0xa0 | len;
  else if (header === 2) {
    u8[p] = 0xd9;
    u8[p + 1] = len;
  } else if (header === 3) {
    u8[p] = 0xda;
    u8[p + 1] = len >>> 8;
    u8[p + 2] = len & 0xff;
  } else {
    u8[p] = 0xdb;
    writeU32(len, u8, p + 1);
  }
  return p + header + len;
}
