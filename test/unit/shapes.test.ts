// Objects of published shapes written by the map itself (src/codec/shapes.ts),
// not by msgpackr: byte for byte what msgpackr's path writes, or left to it.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ShardedMap } from 'shardedmap';
import { internalsOf, packed, NOT_WRITTEN } from 'shardedmap/internals';

type Codec = ReturnType<typeof internalsOf>['records'];
const AREA = 1 << 18;
const u8 = new Uint8Array(AREA);
const buf = Buffer.from(u8.buffer);

/** What msgpackr's path (RecordCodec.pack) makes of v, in hex. */
function viaMsgpackr(rc: Codec, v: object): string {
  const out = rc.pack(v);
  return Buffer.from(out.buffer, out.byteOffset + packed.start, packed.end - packed.start).toString('hex');
}

/** What the map's writer makes of v, in hex, with or without a Buffer for
 *  long strings; null when it leaves v to msgpackr. */
function viaWriter(rc: Codec, v: object, withBuffer: boolean, end = AREA): string | null {
  const q = rc.write(v, u8, withBuffer ? buf : undefined, 0, end);
  return q === NOT_WRITTEN ? null : buf.toString('hex', 0, q);
}

// Values of a few shapes (keys from a small set), with every kind of
// string (lone surrogates, astral, 2- and 3-byte, long ones past msgpackr's
// 64-character split) and number (each integer range, floats, -0, NaN).
// (Ordered subsets of 5 keys up to 3: 86 shapes, within the 248 shared.)
const KEYS = ['id', 'name', '7', 'ü', 'a\u{1F600}'];
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.string({ unit: fc.constantFrom('a', 'é', '\u0800', '\ud800', '\udc00', '\ud83d\ude00'), maxLength: 300 }),
);
const number = fc.oneof(
  fc.integer({ min: -0x80000000, max: 0xffffffff }),
  fc.constantFrom(0, -0, 0x3f, 0x40, 0xff, 0x100, 0xffff, 0x10000, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, NaN, Infinity, 2 ** 53),
  fc.double(),
);
const leaf = fc.oneof(text, number, fc.boolean(), fc.constant(null), fc.constant(undefined));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 20 }),
  object: fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 3, noNullPrototype: true }),
}));
const top = fc.oneof(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 3, noNullPrototype: true }), fc.array(value, { maxLength: 5 }));

describe('the map writes objects of published shapes itself', () => {
  it('byte for byte what msgpackr writes, for generated plain data (and most of it written)', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const rc = internalsOf(map).records;
    let written = 0;
    let runs = 0;
    fc.assert(
      fc.property(top, (v) => {
        runs++;
        const expected = viaMsgpackr(rc, v); // (publishes its shapes)
        for (const withBuffer of [true, false]) {
          const got = viaWriter(rc, v, withBuffer);
          if (got === null) continue;
          written++;
          expect(got).toBe(expected);
        }
      }),
      { numRuns: 2000 },
    );
    // Control: the comparison above ran, for every value (its shapes are
    // all published by the msgpackr pack before it).
    expect(written).toBe(runs * 2);
    map.close();
  });

  it('the issue object, {} and shapes published by another instance', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const other = await ShardedMap.attach(map.handle);
    const rc = internalsOf(other).records;
    const obj = { id: 7, name: 'user 7', score: 10.5, tags: ['alpha', 'beta', 'gamma'] };
    // Not published yet: left to msgpackr.
    expect(viaWriter(rc, obj, true)).toBeNull();
    expect(viaWriter(rc, {}, true)).toBeNull();
    map.store('a', obj);
    map.store('b', {});
    // Published by `map`: `other` writes them, the same bytes as msgpackr.
    expect(viaWriter(rc, obj, true)).toEqual(viaMsgpackr(internalsOf(map).records, obj));
    expect(viaWriter(rc, {}, true)).toEqual(viaMsgpackr(internalsOf(map).records, {}));
    other.store('c', { ...obj, id: 8 });
    expect(map.load('c')).toEqual({ ...obj, id: 8 });
    other.close();
    map.close();
  });

  it('leaves to msgpackr what it does not write, and the map stores it as before', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const rc = internalsOf(map).records;
    class Point {
      constructor(public x = 1, public y = 2) {}
    }
    const proto = Object.create({ inherited: 1 }) as Record<string, unknown>;
    proto.own = 1;
    const nullProto = Object.assign(Object.create(null) as object, { own: 1 });
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const cases: [string, object][] = [
      ['a Date', { own: new Date(5) }],
      ['a Map', { own: new Map([[[1], 2]]) }],
      ['a bigint', { own: 5n }],
      ['a class instance', { own: new Point() }],
      ['an object with a prototype of its own', proto],
      ['an object without a prototype', { own: nullProto }],
      ['a key with a lone surrogate', { ['k\ud800']: 1 }],
      ['an object made from Array.prototype', { own: Object.assign(Object.create(Array.prototype) as object, { 0: 'x', length: 1 }) }],
      ['nesting past DEPTH_MAX', deep as object],
      ['an array subclass', { own: new (class extends Array {})() }],
    ];
    for (const [what, v] of cases) {
      map.store(what, v); // (publishes what shapes msgpackr shares)
      expect(viaWriter(rc, v, true), what).toBeNull();
      if (what === 'an object made from Array.prototype') continue; // (msgpackr's to read back)
      expect(map.load(what), what).toEqual(what === 'a key with a lone surrogate' ? { ['k\ufffd']: 1 } : v);
    }
    // Too long for the room given: left to msgpackr (which says too long).
    const long = { own: 'x'.repeat(1000) };
    map.store('long', long);
    expect(viaWriter(rc, long, true, 500)).toBeNull();
    expect(viaWriter(rc, long, true)).not.toBeNull();
    // Object.prototype with an enumerable property: for…in would list it.
    const plain = { own: 1 };
    expect(viaWriter(rc, plain, true)).not.toBeNull();
    (Object.prototype as Record<string, unknown>).polluted = 1;
    try {
      expect(viaWriter(rc, plain, true)).toBeNull();
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    // ... or gets one from a getter of the value, mid-write (a shape with
    // that key published: for…in would match it where msgpackr does not).
    map.store('s1', { a: 1, polluted: 2 });
    map.store('s2', { g: { x: 1 }, o: { a: 1 } });
    const sneaky = {
      g: {
        get x() {
          Object.defineProperty(Object.prototype, 'polluted', { value: 9, enumerable: true, configurable: true, writable: true });
          return 1;
        },
      },
      o: { a: 1 },
    };
    try {
      expect(viaWriter(rc, sneaky, true)).toBeNull();
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    expect(viaWriter(rc, { g: { x: 1 }, o: { a: 1 } }, true)).not.toBeNull();
    map.close();
  });

  it("a shape with a '__proto__' key, published, does not spoil the writer's index when a getter pollutes Object.prototype mid-store", async () => {
    const map = await ShardedMap.create({ shards: 1 });
    map.store('s0', { x: 1 });
    map.store('s1', { x: 2 });
    // (JSON.parse makes '__proto__' an own key: the shape is published.)
    map.store('k1', JSON.parse('{"__proto__": 1, "b": "x"}'));
    // The writer indexes that shape while this value is written, after a
    // getter has added an enumerable property to Object.prototype.
    map.store('k2', [{ get x() { (Object.prototype as Record<string, unknown>).evil = 1; return 1; } }, { fresh: 1 }]);
    delete (Object.prototype as Record<string, unknown>).evil;
    map.store('k3', { evil: 1, b: 'y' });
    expect(map.load('k3')).toEqual({ evil: 1, b: 'y' });
    // (msgpackr's decoder names that key '__proto_', with or without this.)
    expect(map.load('k1')).toEqual({ __proto_: 1, b: 'x' });
  });

  it('keys with lone surrogates are never shared, and read back alike in every instance', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const other = await ShardedMap.attach(map.handle);
    map.store('k', { '\ud800': 1 });
    map.store('long', { ['\ud800' + 'x'.repeat(70)]: 1 });
    // Not published as they are (the log would read the short one back as
    // another key: '\ufffd\ufffd\ufffd', its 3-byte form read as UTF-8);
    // what is published is the shape of what is stored, U+FFFD for the
    // surrogate (the long key is written that way by msgpackr at once, and
    // stays inline).
    expect(internalsOf(map).records.table.published()).toEqual([['\ufffd']]);
    for (const m of [map, other]) {
      expect(m.load('k')).toEqual({ '\ufffd': 1 });
      expect(m.load('long')).toEqual({ ['\ufffd' + 'x'.repeat(70)]: 1 });
    }
    // The well-formed look-alikes: shared, and written as msgpackr writes
    // them in either instance.
    for (const v of [{ '\ufffd\ufffd\ufffd': 1 }, { '\ufffd': 2 }, { ['\ufffd' + 'x'.repeat(70)]: 3 }]) {
      map.store('v', v);
      for (const m of [map, other]) {
        const rc = internalsOf(m).records;
        expect(viaWriter(rc, v, true)).toBe(viaMsgpackr(rc, v));
      }
    }
    other.close();
    map.close();
  });
});
