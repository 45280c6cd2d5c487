/**
 * Key and value encodings, written straight into the instance's scratch area
 * (a view of shared memory) and read back from it.
 *
 * Keys: one type byte (K_*), then
 *   string   WTF-8: UTF-8, with a lone surrogate encoded as its 3-byte form,
 *            so every JS string (even a malformed one) round-trips exactly
 *   number   8 bytes little-endian f64; -0 folded into 0 and every NaN into
 *            one NaN (Map's SameValueZero)
 *   bigint   ASCII hex digits, '-' first if negative
 *   bytes    the Uint8Array's bytes
 * Values: the type goes in the value word (T_*), the bytes as above, with
 * objects and arrays as msgpackr records over the map's shared shapes
 * (records.ts; plain msgpack before an instance is attached, and for what
 * integrations write elsewhere: msgpack.ts).
 *
 * Where the bytes are read and written (`MemIO`): strings, in Node, through
 * a Buffer over the shared memory (its native UTF-8), elsewhere by hand when
 * short and through a private copy when long (Chromium refuses
 * TextEncoder/TextDecoder on shared views); objects of published shapes
 * written straight into the scratch by the map's own writer (shapes.ts),
 * others packed in place into the scratch's value area in Node (msgpackr
 * writes a Buffer over it; packRecords), decoded always from a private
 * copy (see unpack). Short
 * ASCII keys are encoded by hand everywhere: that loop is the fastest for
 * them (measured: 48 ns per facade lookup with it, 57 with encodeInto),
 * and TextEncoder cannot keep lone surrogates.
 */
import { pack, unpackBytes, packed } from './msgpack.js';
import type { RecordCodec } from './records.js';
import {
  K_STRING, K_NUMBER, K_BIGINT, K_BYTES,
  T_UNDEFINED, T_NULL, T_FALSE, T_TRUE, T_F64, T_STRING, T_WTF8, T_BIGINT, T_BYTES, T_PACKED, T_RECORDS,
} from '../../assembly/shared.js';
import { ErrorCode, ShardedMapRangeError, ShardedMapTypeError } from '../base/errors.js';
import { isWellFormed } from '../base/platform.js';
import { valueWord, vtypeOf, vlenOf } from './words.js';

/** A key the map accepts. */
export type Key = string | number | bigint | Uint8Array;

/** Node's Buffer, where there is one (the facade runs in browsers too). */
interface NodeBuffer extends Uint8Array {
  utf8Slice(start: number, end: number): string;
  utf8Write(s: string, offset: number, length: number): number;
  copy(target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number): number;
}
const BufferCtor = (globalThis as unknown as {
  Buffer?: { from(b: ArrayBufferLike): NodeBuffer; byteLength(s: string): number; allocUnsafeSlow(n: number): NodeBuffer };
}).Buffer;

/** The views one instance reads and writes the shared memory through. */
export interface MemIO {
  readonly u8: Uint8Array;
  readonly f64: Float64Array;
  readonly i32: Int32Array;
  /** A Node Buffer over the same memory; undefined outside Node. */
  readonly buf: NodeBuffer | undefined;
  /** How this instance stores objects: records over its map's shared
   *  shapes (set once the instance is attached), or plain msgpack. */
  records: RecordCodec | null;
  /** Where objects are packed in place: a Node Buffer over the scratch's
   *  value area (at `placeAt`), which msgpackr writes straight into; null
   *  where there is no Buffer (msgpackr's browser path encodes strings
   *  with TextEncoder, which refuses shared views) or the area is small. */
  place: Uint8Array | null;
  placeAt: number;
  /** Bumped by every write to the scratch's value area (encodeValue, a
   *  batch's keys, a flight's message): a pack in place that sees it move
   *  was overwritten by a getter of its value writing to this map, and
   *  packs again privately. */
  valWrites: number;
}

export function memIO(buffer: ArrayBufferLike): MemIO {
  return {
    u8: new Uint8Array(buffer),
    f64: new Float64Array(buffer),
    i32: new Int32Array(buffer),
    buf: BufferCtor?.from(buffer),
    records: null,
    place: null,
    placeAt: -1,
    valWrites: 0,
  };
}

// Private (non-shared) buffers: number bit patterns, hand decoding, and
// copies of shared bytes for APIs that refuse shared views.
const f64tmp = new Float64Array(1);
const u8tmp = new Uint8Array(f64tmp.buffer);
/** Strings up to this many bytes are decoded by hand where there is no
 *  Buffer; longer well-formed ones by TextDecoder on a private copy
 *  (faster past ~100 bytes). */
const HAND_DECODE_MAX = 128;
/** Strings up to this many characters are encoded by the hand loop; longer
 *  well-formed ones by Buffer#utf8Write where there is one (measured: the
 *  hand loop costs ~3 ns per character, utf8Write ~50 ns plus 0.05 ns per
 *  byte). */
const HAND_ENCODE_MAX = 24;
const decoder = new TextDecoder('utf-8', { fatal: false });
let units = new Uint16Array(256);
/** A private buffer (a Node Buffer where there is one, for msgpackr's
 *  Buffer paths). */
const privateBuffer = (n: number): Uint8Array => (BufferCtor ? BufferCtor.allocUnsafeSlow(n) : new Uint8Array(n));
let privateBytes = privateBuffer(256);
/** privateBytes as words (it starts its own buffer: 4-aligned). */
let privateWords = new Int32Array(privateBytes.buffer, privateBytes.byteOffset, privateBytes.length >>> 2);

/** Up to this many bytes, a private copy is made by a loop: a view for
 *  `set` would be an allocation per copy, and Buffer#copy costs more than
 *  the loop for so few. */
const LOOP_COPY_MAX = 64;
/** The same for 4-aligned bytes copied by words. */
const WORD_COPY_MAX = 256;

/** msgpackr decodes under way: user code inside one (an extension's
 *  read) may load from a map, whose decode must not overwrite the private
 *  copy the outer one is still reading. */
let unpacking = 0;

/** Is a msgpackr decode under way (so that a decode now is nested in it)? */
export function unpackingNow(): boolean {
  return unpacking !== 0;
}

/** A private copy of io.u8[p, p + n) (valid until the next call; while a
 *  decode is under way, a fresh one). */
function privateCopy(io: MemIO, p: number, n: number): Uint8Array {
  if (unpacking !== 0) return io.u8.slice(p, p + n);
  if (privateBytes.length < n) {
    privateBytes = privateBuffer(Math.max(n, privateBytes.length * 2));
    privateWords = new Int32Array(privateBytes.buffer, privateBytes.byteOffset, privateBytes.length >>> 2);
  }
  const u8 = io.u8;
  if (n <= WORD_COPY_MAX && (p & 3) === 0) {
    // Word by word (values read are 8-aligned and padded to 8): the bytes
    // past n are the padding, or anything; never read as the value.
    const i32 = io.i32;
    const from = p >>> 2;
    for (let i = 0, words = (n + 3) >>> 2; i < words; i++) privateWords[i] = i32[from + i]!;
  } else if (n <= LOOP_COPY_MAX) for (let i = 0; i < n; i++) privateBytes[i] = u8[p + i]!;
  else if (io.buf !== undefined) io.buf.copy(privateBytes, 0, p, p + n);
  else privateBytes.set(u8.subarray(p, p + n));
  return privateBytes;
}

/** Set by encodeString: did the string hold a lone surrogate? */
let lastHadLone = false;

/**
 * Encode `s` as WTF-8 into u8[p, end). Returns the end position, or -1 if it
 * does not fit. Sets `lastHadLone`.
 */
export function encodeString(s: string, u8: Uint8Array, p: number, end: number): number {
  const n = s.length;
  let lone = false;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      if (p >= end) return -1;
      u8[p++] = c;
    } else if (c < 0x800) {
      if (p + 2 > end) return -1;
      u8[p++] = 0xc0 | (c >> 6);
      u8[p++] = 0x80 | (c & 0x3f);
    } else {
      if ((c & 0xfc00) === 0xd800 && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if ((d & 0xfc00) === 0xdc00) {
          if (p + 4 > end) return -1;
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          u8[p++] = 0xf0 | (c >> 18);
          u8[p++] = 0x80 | ((c >> 12) & 0x3f);
          u8[p++] = 0x80 | ((c >> 6) & 0x3f);
          u8[p++] = 0x80 | (c & 0x3f);
          i++;
          continue;
        }
      }
      if ((c & 0xf800) === 0xd800) lone = true;
      if (p + 3 > end) return -1;
      u8[p++] = 0xe0 | (c >> 12);
      u8[p++] = 0x80 | ((c >> 6) & 0x3f);
      u8[p++] = 0x80 | (c & 0x3f);
    }
  }
  lastHadLone = lone;
  return p;
}

/** Encode a string value at [p, end): Buffer#utf8Write for long
 *  well-formed strings in Node, the hand loop otherwise. */
function encodeStringValue(s: string, io: MemIO, p: number, end: number): number {
  const buf = io.buf;
  if (buf !== undefined && s.length > HAND_ENCODE_MAX && isWellFormed(s)) {
    // 3 bytes per UTF-16 unit at most: surely fits, or measure first.
    if (s.length * 3 > end - p && BufferCtor!.byteLength(s) > end - p) return -1;
    lastHadLone = false;
    return p + buf.utf8Write(s, p, end - p);
  }
  return encodeString(s, io.u8, p, end);
}

/** Decode WTF-8 (or UTF-8) bytes u8[p, p + n) by hand. */
function decodeStringByHand(u8: Uint8Array, p: number, n: number): string {
  if (units.length < n) units = new Uint16Array(Math.max(n, units.length * 2));
  const end = p + n;
  let k = 0;
  while (p < end) {
    const b = u8[p++]!;
    if (b < 0x80) {
      units[k++] = b;
    } else if (b < 0xe0) {
      units[k++] = ((b & 0x1f) << 6) | (u8[p++]! & 0x3f);
    } else if (b < 0xf0) {
      units[k++] = ((b & 0x0f) << 12) | ((u8[p++]! & 0x3f) << 6) | (u8[p++]! & 0x3f);
    } else {
      const c =
        (((b & 0x07) << 18) | ((u8[p++]! & 0x3f) << 12) | ((u8[p++]! & 0x3f) << 6) | (u8[p++]! & 0x3f)) -
        0x10000;
      units[k++] = 0xd800 + (c >> 10);
      units[k++] = 0xdc00 + (c & 0x3ff);
    }
  }
  if (k <= 4096) return String.fromCharCode.apply(null, units.subarray(0, k) as unknown as number[]);
  let s = '';
  for (let i = 0; i < k; i += 4096) {
    s += String.fromCharCode.apply(null, units.subarray(i, Math.min(k, i + 4096)) as unknown as number[]);
  }
  return s;
}

/** Decode a string of n bytes at p: well-formed UTF-8 through the fastest
 *  path the platform has, WTF-8 (lone surrogates) by hand. */
function decodeString(io: MemIO, p: number, n: number, wellFormed: boolean): string {
  if (wellFormed) {
    if (io.buf !== undefined) return io.buf.utf8Slice(p, p + n);
    if (n > HAND_DECODE_MAX) return decoder.decode(privateCopy(io, p, n).subarray(0, n));
  }
  return decodeStringByHand(io.u8, p, n);
}

/** Write an f64 at u8[p..p+8), canonical (one NaN; -0 folded if `fold`). */
function writeF64(u8: Uint8Array, p: number, x: number, fold: boolean): void {
  f64tmp[0] = x !== x ? NaN : fold && x === 0 ? 0 : x;
  if (x !== x) {
    // One bit pattern for every NaN (x86 makes 0xfff8..., NaN literals 0x7ff8...).
    u8tmp.fill(0);
    u8tmp[6] = 0xf8;
    u8tmp[7] = 0x7f;
  }
  for (let i = 0; i < 8; i++) u8[p + i] = u8tmp[i]!;
}

function readF64(u8: Uint8Array, p: number): number {
  for (let i = 0; i < 8; i++) u8tmp[i] = u8[p + i]!;
  return f64tmp[0]!;
}

/** Store a number value at f64 index p >> 3 (8-aligned): NaN canonical (as
 *  writeF64), -0 kept. */
export function storeF64(io: MemIO, p: number, x: number): void {
  if (x === x) io.f64[p >>> 3] = x;
  else writeF64(io.u8, p, x, false);
}

function encodeAscii(s: string, u8: Uint8Array, p: number, end: number): number {
  const n = s.length;
  if (p + n > end) return -1;
  for (let i = 0; i < n; i++) u8[p + i] = s.charCodeAt(i);
  return p + n;
}

function decodeAscii(u8: Uint8Array, p: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(u8[p + i]!);
  return s;
}

function bigintToHex(b: bigint): string {
  return b.toString(16);
}

function hexToBigint(s: string): bigint {
  return s.charCodeAt(0) === 45 /* - */ ? -BigInt('0x' + s.slice(1)) : BigInt('0x' + s);
}

function keyTooLarge(max: number): never {
  throw new ShardedMapRangeError(
    ErrorCode.KEY_TOO_LARGE,
    `key is longer than maxKeyBytes (${max} bytes encoded, including 1 type byte); raise maxKeyBytes when creating the map`,
  );
}

/**
 * Encode a key at u8[p..]. Returns the encoded length (> 0).
 * @throws ShardedMapTypeError for another type, ShardedMapRangeError if too long.
 */
export function encodeKey(key: unknown, u8: Uint8Array, p: number, max: number): number {
  const end = p + max;
  let q: number;
  if (typeof key === 'string') {
    u8[p] = K_STRING;
    // Hot path: ASCII that fits, inline; anything else, encodeString.
    const n = key.length;
    if (n < max) {
      let i = 0;
      for (; i < n; i++) {
        const c = key.charCodeAt(i);
        if (c >= 0x80) break;
        u8[p + 1 + i] = c;
      }
      if (i === n) return n + 1;
    }
    q = encodeString(key, u8, p + 1, end);
  } else if (typeof key === 'number') {
    if (max < 9) keyTooLarge(max);
    u8[p] = K_NUMBER;
    writeF64(u8, p + 1, key, true);
    q = p + 9;
  } else if (typeof key === 'bigint') {
    u8[p] = K_BIGINT;
    q = encodeAscii(bigintToHex(key), u8, p + 1, end);
  } else if (key instanceof Uint8Array) {
    u8[p] = K_BYTES;
    if (key.length + 1 > max) keyTooLarge(max);
    u8.set(key, p + 1);
    q = p + 1 + key.length;
  } else {
    throw new ShardedMapTypeError(
      ErrorCode.KEY_TYPE,
      `a key must be a string, number, bigint or Uint8Array, not ${describe(key)}`,
    );
  }
  if (q < 0) keyTooLarge(max);
  return q - p;
}

/** Decode a key of length n at p. */
export function decodeKey(io: MemIO, p: number, n: number): Key {
  const u8 = io.u8;
  switch (u8[p]) {
    case K_STRING:
      return decodeString(io, p + 1, n - 1, false);
    case K_NUMBER:
      return readF64(u8, p + 1);
    case K_BIGINT:
      return hexToBigint(decodeAscii(u8, p + 1, n - 1));
    default:
      return u8.slice(p + 1, p + n);
  }
}

function valueTooLarge(max: number): never {
  throw new ShardedMapRangeError(
    ErrorCode.VALUE_TOO_LARGE,
    `value is longer than maxValueBytes (${max} bytes encoded); raise maxValueBytes when creating the map`,
  );
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return `an object (${Object.prototype.toString.call(x).slice(8, -1)})`;
  return `a ${typeof x}`;
}

/**
 * Encode a value at [p, p + max). Returns its value word (words.ts).
 * @throws ShardedMapTypeError if it cannot be stored, ShardedMapRangeError if too long.
 */
export function encodeValue(value: unknown, io: MemIO, p: number, max: number): number {
  io.valWrites++;
  switch (typeof value) {
    case 'number':
      storeF64(io, p, value);
      return valueWord(T_F64, 8);
    case 'string': {
      const q = encodeStringValue(value, io, p, p + max);
      if (q < 0) valueTooLarge(max);
      return valueWord(lastHadLone ? T_WTF8 : T_STRING, q - p);
    }
    case 'boolean':
      return valueWord(value ? T_TRUE : T_FALSE, 0);
    case 'undefined':
      return valueWord(T_UNDEFINED, 0);
    case 'bigint': {
      const q = encodeAscii(bigintToHex(value), io.u8, p, p + max);
      if (q < 0) valueTooLarge(max);
      return valueWord(T_BIGINT, q - p);
    }
    case 'object': {
      if (value === null) return valueWord(T_NULL, 0);
      if (value instanceof Uint8Array) {
        if (value.length > max) valueTooLarge(max);
        io.u8.set(value, p);
        return valueWord(T_BYTES, value.length);
      }
      if (io.records) return packRecords(value, io, p, max);
      const bytes = pack(value);
      if (bytes.length > max) valueTooLarge(max);
      io.u8.set(bytes, p);
      return valueWord(T_PACKED, bytes.length);
    }
    default:
      throw new ShardedMapTypeError(
        ErrorCode.VALUE_TYPE,
        `a value must be a number, string, boolean, null, undefined, bigint, Uint8Array, object or array, not ${describe(value)}`,
      );
  }
}

/** msgpackr starts a buffer of its own when fewer than 2 KiB are left in
 *  its target: a value area smaller than this is not packed in place. */
const PLACE_MIN_BYTES = 4096;

/** Pack objects in place at [at, at + bytes) of `io`'s memory (the
 *  scratch's value area), where the platform allows it (see MemIO). */
export function packInPlace(io: MemIO, at: number, bytes: number): void {
  if (io.buf === undefined || bytes < PLACE_MIN_BYTES) return;
  io.place = io.buf.subarray(at, at + bytes);
  io.placeAt = at;
}

/** Pack an object as records at [p, p + max) (see encodeValue): written
 *  there by the map where its shapes are published (records.ts write),
 *  else by msgpackr: in place where the value area is (no copy), else
 *  privately and copied. */
function packRecords(value: object, io: MemIO, p: number, max: number): number {
  const records = io.records!;
  let writes = io.valWrites;
  const q = records.write(value, io.u8, io.buf, p, p + max);
  // (Unless a getter of the value stored into this map meanwhile, over the
  // bytes written so far: then msgpackr's private path, below.)
  const reentered = io.valWrites !== writes;
  if (q >= 0 && !reentered) return valueWord(T_RECORDS, q - p);
  writes = io.valWrites;
  const place = p === io.placeAt && !reentered ? io.place : null;
  let out = records.pack(value, place);
  // Reentered: a getter of the value wrote to the value area meanwhile
  // (stored into this map), over the bytes packed so far. Once more,
  // privately: the getter's own writes then go where they belong.
  if (place !== null && io.valWrites !== writes) out = records.pack(value, null);
  const n = packed.end - packed.start;
  if (n > max) valueTooLarge(max);
  if (out !== place || packed.start !== 0) io.u8.set(out.subarray(packed.start, packed.end), p);
  return valueWord(T_RECORDS, n);
}

/** Decode msgpack bytes [p, p + n) from a private copy: msgpackr's native
 *  string extraction (msgpackr-extract) crashed the process on a Buffer over
 *  the shared memory once that memory had grown; one memcpy costs less
 *  than a fifth of the decode (measured: 286 ns against 235 for msgpackr
 *  alone on its own Buffer). */
function unpack(io: MemIO, p: number, n: number): unknown {
  return unpacked(privateCopy(io, p, n), n, null);
}

/** msgpackr's decode of `bytes` [0, n): with `records`' shapes, or plain;
 *  counted in `unpacking` while it runs. */
function unpacked(bytes: Uint8Array, n: number, records: RecordCodec | null): unknown {
  unpacking++;
  try {
    return records ? records.unpack(bytes, n) : unpackBytes(bytes, n);
  } finally {
    unpacking--;
  }
}

/** Decode records [p, p + n) (with this instance's shapes) from a private
 *  copy, as unpack. */
function unpackRecords(io: MemIO, p: number, n: number): unknown {
  if (!io.records) throw new ShardedMapTypeError(ErrorCode.VALUE_TYPE, 'a value stored as records read without its map');
  return unpacked(privateCopy(io, p, n), n, io.records);
}

// ---- Stamped values (fetch with stale windows) --------------------------------
// fetch() with staleWhileRevalidate / staleIfError keeps an entry past its
// ttl (the core's expiry is ttl + the stale window) and stores, with the
// value, when it stops being fresh. Such a value is stored as T_PACKED
// bytes that begin with STAMP_MARK, the one byte msgpack never uses (so no
// packed value begins with it):
//   byte 0      STAMP_MARK
//   byte 1      the inner value's vtype (T_*)
//   bytes 2..7  0
//   bytes 8..15 fresh until: f64, ms since the Unix epoch (the map's clock)
//   bytes 16..  the inner value's bytes, as it would be stored alone
// Every read decodes the inner value (decodeValue); only fetch reads the
// stamp (stampOf). Plain values never pay for it: the mark is looked at on
// the msgpack path only, after T_F64 and strings are decoded.
export const STAMP_MARK = 0xc1;
/** Bytes a stamp adds in front of the value. */
export const STAMP_BYTES = 16;

/** Encode `value` stamped fresh until `freshUntil` at [p, p + max) (p
 *  8-aligned, as the value area is). Returns its value word. */
export function encodeStamped(value: unknown, freshUntil: number, io: MemIO, p: number, max: number): number {
  if (max < STAMP_BYTES + 8) valueTooLarge(max);
  const inner = encodeValue(value, io, p + STAMP_BYTES, max - STAMP_BYTES);
  io.u8.fill(0, p, p + 8);
  io.u8[p] = STAMP_MARK;
  io.u8[p + 1] = vtypeOf(inner);
  writeF64(io.u8, p + 8, freshUntil, false);
  return valueWord(T_PACKED, vlenOf(inner) + STAMP_BYTES);
}

/** Is the value of word `w` at p stamped? */
export function isStamped(io: MemIO, p: number, w: number): boolean {
  return vtypeOf(w) === T_PACKED && vlenOf(w) >= STAMP_BYTES && io.u8[p] === STAMP_MARK;
}

/** The fresh-until time of a stamped value at p (see isStamped). */
export function stampOf(io: MemIO, p: number): number {
  return readF64(io.u8, p + 8);
}

/** The inner value of a stamped value (word `w`) at p. */
function decodeStamped(io: MemIO, p: number, w: number): unknown {
  const vtype = io.u8[p + 1]!;
  // readF64: the copy a batch read made need not be 8-aligned.
  if (vtype === T_F64) return readF64(io.u8, p + STAMP_BYTES);
  return decodeValue(io, p + STAMP_BYTES, valueWord(vtype, vlenOf(w) - STAMP_BYTES));
}

/** Decode a value with value word `w` at p; a fresh copy. */
export function decodeValue(io: MemIO, p: number, w: number): unknown {
  const n = vlenOf(w);
  switch (vtypeOf(w)) {
    case T_F64:
      return io.f64[p >>> 3];
    case T_STRING:
      return decodeString(io, p, n, true);
    case T_WTF8:
      return decodeString(io, p, n, false);
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_NULL:
      return null;
    case T_UNDEFINED:
      return undefined;
    case T_BIGINT:
      return hexToBigint(decodeAscii(io.u8, p, n));
    case T_BYTES:
      return io.u8.slice(p, p + n);
    case T_RECORDS:
      return unpackRecords(io, p, n);
    default:
      if (io.u8[p] === STAMP_MARK && n >= STAMP_BYTES) return decodeStamped(io, p, w);
      return unpack(io, p, n);
  }
}
