// Key types and their equality rules.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ShardedMap } from 'shardedmap';

describe('keys', async () => {
  const m = await ShardedMap.create({ shards: 4 });

  it('numbers follow SameValueZero: NaN is NaN, -0 is 0', () => {
    m.store(NaN, 'nan');
    expect(m.load(NaN)).toBe('nan');
    expect(m.load(0 / 0)).toBe('nan');
    m.store(-0, 'zero');
    expect(m.load(0)).toBe('zero');
    expect([...m.keys()].filter((k) => k === 0).length).toBe(1);
  });

  it('a number and the string of its digits are different keys', () => {
    m.store(12, 'number');
    m.store('12', 'string');
    m.store(12n, 'bigint');
    m.store(new Uint8Array([49, 50]), 'bytes'); // the bytes of '12'
    expect(m.load(12)).toBe('number');
    expect(m.load('12')).toBe('string');
    expect(m.load(12n)).toBe('bigint');
    expect(m.load(new Uint8Array([49, 50]))).toBe('bytes');
  });

  it('Uint8Array keys compare by bytes and come back as copies', () => {
    const k = new Uint8Array([1, 2, 3]);
    m.store(k, 'v');
    k[0] = 9;
    expect(m.load(new Uint8Array([1, 2, 3]))).toBe('v');
    expect(m.load(k)).toBeUndefined();
    const keys = [...m.keys()].filter((x) => x instanceof Uint8Array) as Uint8Array[];
    expect(keys.some((x) => x.length === 3 && x[0] === 1)).toBe(true);
  });

  it('every string round-trips, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer(), (s, v) => {
        m.store(s, v);
        expect(m.load(s)).toBe(v);
        const found = [...m.keys()].filter((k) => k === s);
        expect(found).toEqual([s]);
        m.delete(s);
      }),
      { numRuns: 300 },
    );
    m.store('\ud800', 1);
    m.store('\udc00', 2);
    m.store('\ufffd', 3); // what a lossy UTF-8 encoder would make of both
    expect([m.load('\ud800'), m.load('\udc00'), m.load('\ufffd')]).toEqual([1, 2, 3]);
  });

  it('bigints of any size and sign', () => {
    for (const b of [0n, -1n, 2n ** 200n, -(2n ** 64n) + 1n]) {
      m.store(b, String(b));
      expect(m.load(b)).toBe(String(b));
    }
    expect([...m.keys()].filter((k) => k === 2n ** 200n)).toEqual([2n ** 200n]);
  });
});
