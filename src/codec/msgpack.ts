/**
 * MessagePack as the map writes it, and the one part of the codec that
 * integrations may use: `pack` / `unpackBytes` are plain MessagePack (no
 * records), so any msgpack reader in another language can decode them (the
 * near cache writes them to Redis). The map itself stores objects as
 * records over its shared shapes (records.ts), through `safePack` /
 * `safeUnpack` with its own packr; both ways: functions are refused; lone
 * surrogates in object strings are stored as U+FFFD (a fixed point, see
 * safePack); maps with keys no object can have come back as Maps.
 */
import { Packr, Unpackr } from 'msgpackr';
import { ErrorCode, ShardedMapError, ShardedMapTypeError } from '../base/errors.js';

/** Raised (as a typed error) for a function anywhere in a value: msgpack
 *  would silently drop it. */
function refuseFunction(): never {
  throw new ShardedMapTypeError(
    ErrorCode.VALUE_TYPE,
    'a value must not contain a function; store plain data (msgpack would drop it)',
  );
}

/** msgpackr's options for values: plain MessagePack (no records, which
 *  other libraries cannot read), functions refused, binary fields decoded
 *  as copies (by default msgpackr returns views of its input, which is a
 *  reused private buffer here). Also the near cache's Redis format
 *  (redis.ts). */
export const MSGPACK_OPTIONS = {
  useRecords: false, moreTypes: true, copyBuffers: true, writeFunction: refuseFunction,
} as ConstructorParameters<typeof Packr>[0];
/** Plain MessagePack. */
export const plainPackr = new Packr(MSGPACK_OPTIONS);
/** For msgpack maps whose keys a JS object cannot have (a Map stored with
 *  object keys): every map decodes as a Map, then objectsFromMaps. */
const mapUnpackr = new Unpackr({ ...MSGPACK_OPTIONS, mapsAsObjects: false });
/** msgpackr's options for reading from [start, end) of a source, reused. */
const span = { start: 0, end: 0 };

/** Plain msgpack of a value (any value: the near cache packs strings and
 *  numbers too); see safePack. */
export function pack(value: object): Uint8Array {
  return safePack(plainPackr, value);
}

/** `packr`'s msgpack of a value, or the typed error msgpackr's failure
 *  means (a symbol, a cycle, a function: see refuseFunction). The bytes are
 *  msgpackr's reusable buffer: copy them before the next pack. With
 *  `flags` (msgpackr's REUSE_BUFFER_MODE | RESET_BUFFER_MODE) the result
 *  may be msgpackr's whole target instead: `packedBounds` tells where the
 *  bytes are (safePack leaves `packed` set for its result). */
export function safePack(packr: Packr, value: object, flags = 0): Uint8Array {
  try {
    const out = packr.pack(value, flags);
    // msgpackr writes a lone surrogate in a short string as its 3-byte form
    // (0xED 0xA0-0xBF ..), which every UTF-8 decoder (its own included)
    // reads back as three U+FFFD: then the value read would not encode to
    // the bytes stored, and a compareAndSwap with it could never succeed.
    // Such strings are stored as UTF-8 does (one U+FFFD per lone
    // surrogate), a fixed point. 0xED is also Hangul's lead byte, and any
    // binary byte: the walk tells.
    packedBounds(out);
    if (!holdsED(out, packed.start, packed.end) || !hasLoneSurrogate(value, 0)) return out;
    const again = packr.pack(wellFormed(value), flags);
    packedBounds(again);
    return again;
  } catch (e) {
    // Ours (a function refused, the record area's lock): as they are.
    if (e instanceof ShardedMapError) throw e;
    const cycle = e instanceof RangeError;
    throw new ShardedMapTypeError(
      ErrorCode.VALUE_TYPE,
      cycle
        ? 'a value must not contain a cycle (an object that contains itself) nor nest deeper than msgpackr can pack (about a thousand levels)'
        : `this value cannot be encoded with msgpack (${(e as Error).message}); store plain data without cycles, functions or symbols`,
    );
  }
}

/** Does out[start, end) hold the byte 0xED? Four bytes at a time where
 *  out is 4-aligned (a byte loop took 50 ns for a 40-byte object; a
 *  Buffer#indexOf is a native call, dearer still for so few bytes). The
 *  word view is kept on the buffer, as msgpackr keeps its DataView. */
function holdsED(out: Uint8Array, start: number, end: number): boolean {
  let i = start;
  if ((out.byteOffset & 3) === 0) {
    const t = out as Uint8Array & { words?: Int32Array };
    const words = (t.words ??= new Int32Array(out.buffer, out.byteOffset, out.length >>> 2));
    for (; i < end && (i & 3) !== 0; i++) if (out[i] === 0xed) return true;
    for (; i + 4 <= end; i += 4) {
      // Has a zero byte (the classic test, exact as to whether): one 0xED.
      const y = words[i >>> 2]! ^ 0xedededed;
      if (((y - 0x01010101) & ~y & 0x80808080) !== 0) return true;
    }
  }
  for (; i < end; i++) if (out[i] === 0xed) return true;
  return false;
}

/** Where packedBounds found the bytes: out[start, end). */
export const packed = { start: 0, end: 0 };

/** Set `packed` to the bounds of the bytes in safePack's result `out`:
 *  msgpackr returns its target itself in REUSE_BUFFER_MODE, with the
 *  bounds as its `start` and `end` (an object it made the subarray of is
 *  a new one, without them); anything else is the bytes alone. */
function packedBounds(out: Uint8Array): void {
  const target = out as Uint8Array & { start?: number; end?: number };
  if (typeof target.end === 'number') {
    packed.start = target.start!;
    packed.end = target.end;
  } else {
    packed.start = 0;
    packed.end = out.length;
  }
}

/** A lone surrogate (no pair) in a JS string. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
/** Deeper than msgpackr packs (it throws first): the walks stop here. */
const WALK_DEPTH_MAX = 4096;

/** Does `v` hold a string (or a property name) with a lone surrogate, in
 *  what msgpackr packs as strings: object keys and values, arrays, Sets,
 *  Maps? */
function hasLoneSurrogate(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return LONE_SURROGATE.test(v);
  if (typeof v !== 'object' || v === null || depth > WALK_DEPTH_MAX) return false;
  if (Array.isArray(v)) return v.some((x) => hasLoneSurrogate(x, depth + 1));
  if (v instanceof Set) return [...v].some((x) => hasLoneSurrogate(x, depth + 1));
  if (v instanceof Map) return [...v].some(([k, x]) => hasLoneSurrogate(k, depth + 1) || hasLoneSurrogate(x, depth + 1));
  if (ArrayBuffer.isView(v) || v instanceof Date) return false;
  for (const k of Object.keys(v)) {
    if (LONE_SURROGATE.test(k) || hasLoneSurrogate((v as Record<string, unknown>)[k], depth + 1)) return true;
  }
  return false;
}

/** A copy of `v` with every lone surrogate in its strings replaced by
 *  U+FFFD (what UTF-8 encoders write), as far as hasLoneSurrogate looks. */
function wellFormed(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(LONE_SURROGATES, '\ufffd');
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(wellFormed);
  if (v instanceof Set) return new Set([...v].map(wellFormed));
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [wellFormed(k), wellFormed(x)]));
  if (ArrayBuffer.isView(v) || v instanceof Date || (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null)) return v;
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    // defineProperty: an own "__proto__" (from JSON.parse) stays a property.
    Object.defineProperty(o, wellFormed(k) as string, {
      value: wellFormed((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true,
    });
  }
  return o;
}

/** Decode msgpack bytes [0, n) of `bytes` (all of them by default) as
 *  values are decoded: maps as plain objects, except a map with a key no
 *  object can have (an object, an array), which comes back as a Map. */
export function unpackBytes(bytes: Uint8Array, n = bytes.length): unknown {
  return safeUnpack(bytes, n, plainPackr, mapUnpackr);
}

/** unpackBytes with `unpackr`, and `mapUnpackr` (its twin with
 *  mapsAsObjects off) for maps with keys no object can have. */
export function safeUnpack(bytes: Uint8Array, n = bytes.length, unpackr: Unpackr = plainPackr, maps: Unpackr = mapUnpackr): unknown {
  span.start = 0;
  span.end = n;
  try {
    return unpackr.unpack(bytes, span);
  } catch (e) {
    // msgpackr's mapsAsObjects refuses such keys (and only that fails on
    // bytes packr wrote); anything else fails here too.
    span.start = 0;
    span.end = n;
    let v: unknown;
    try {
      v = maps.unpack(bytes, span);
    } catch {
      throw e;
    }
    return objectsFromMaps(v);
  }
}

/** A key mapsAsObjects turns into a property name. */
function propertyKey(k: unknown): boolean {
  const t = typeof k;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint' || k == null;
}

/** What mapsAsObjects would have made of a value decoded with Maps:
 *  objects for maps whose keys can be property names (as msgpackr names
 *  them), Maps for the others. */
function objectsFromMaps(v: unknown): unknown {
  if (v instanceof Map) {
    let plain = true;
    for (const k of v.keys()) if (!propertyKey(k)) plain = false;
    if (plain) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of v) {
        const name = String(k);
        o[name === '__proto__' ? '__proto_' : name] = objectsFromMaps(x);
      }
      return o;
    }
    const m = new Map<unknown, unknown>();
    for (const [k, x] of v) m.set(objectsFromMaps(k), objectsFromMaps(x));
    return m;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = objectsFromMaps(v[i]);
    return v;
  }
  if (v instanceof Set) return new Set([...v].map(objectsFromMaps));
  return v;
}
