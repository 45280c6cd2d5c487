// The sync.Map-style API and the Map interface, on one instance.
import { describe, it, expect, beforeEach } from 'vitest';
import { ShardedMap } from 'shardedmap';

let m: ShardedMap<unknown>;
beforeEach(async () => {
  m = await ShardedMap.create({ shards: 8 });
});

describe('sync.Map API', () => {
  it('load / store / has / delete', () => {
    expect(m.load('a')).toBeUndefined();
    m.store('a', 1);
    expect(m.load('a')).toBe(1);
    expect(m.has('a')).toBe(true);
    expect(m.has('b')).toBe(false);
    m.store('a', 'two');
    expect(m.load('a')).toBe('two');
    expect(m.delete('a')).toBe(true);
    expect(m.delete('a')).toBe(false);
    expect(m.has('a')).toBe(false);
    expect(m.size).toBe(0);
  });

  it('loadOrStore returns the existing value or stores', () => {
    expect(m.loadOrStore('k', { v: 1 })).toEqual({ value: { v: 1 }, loaded: false });
    expect(m.loadOrStore('k', { v: 2 })).toEqual({ value: { v: 1 }, loaded: true });
    expect(m.load('k')).toEqual({ v: 1 });
  });

  it('loadAndDelete', () => {
    expect(m.loadAndDelete('k')).toEqual({ value: undefined, loaded: false });
    m.store('k', [1, 2]);
    expect(m.loadAndDelete('k')).toEqual({ value: [1, 2], loaded: true });
    expect(m.has('k')).toBe(false);
  });

  it('swap', () => {
    expect(m.swap('k', 1)).toEqual({ previous: undefined, loaded: false });
    expect(m.swap('k', 2)).toEqual({ previous: 1, loaded: true });
    expect(m.load('k')).toBe(2);
  });

  it('compareAndSwap compares by content', () => {
    expect(m.compareAndSwap('k', 1, 2)).toBe(false); // absent
    m.store('k', { a: 1, b: [1, 2] });
    expect(m.compareAndSwap('k', { a: 1, b: [1, 3] }, 'x')).toBe(false);
    expect(m.compareAndSwap('k', { a: 1, b: [1, 2] }, 'x')).toBe(true);
    expect(m.load('k')).toBe('x');
    expect(m.compareAndSwap('k', 'x', 'y')).toBe(true);
    expect(m.compareAndSwap('k', 'x', 'z')).toBe(false);
    expect(m.load('k')).toBe('y');
    m.store('n', NaN);
    expect(m.compareAndSwap('n', NaN, 1)).toBe(true);
    m.store('z', -0);
    expect(m.compareAndSwap('z', 0, 1)).toBe(false); // SameValue: -0 is not 0
    expect(m.compareAndSwap('z', -0, 1)).toBe(true);
    m.store('t', 1);
    expect(m.compareAndSwap('t', '1', 2)).toBe(false); // type matters
  });

  it('compareAndDelete', () => {
    expect(m.compareAndDelete('k', 1)).toBe(false);
    m.store('k', 1);
    expect(m.compareAndDelete('k', 2)).toBe(false);
    expect(m.has('k')).toBe(true);
    expect(m.compareAndDelete('k', 1)).toBe(true);
    expect(m.has('k')).toBe(false);
  });

  it('range visits every entry once and stops on false', () => {
    for (let i = 0; i < 500; i++) m.store(i, `v${i}`);
    const seen = new Map<unknown, unknown>();
    m.range((k, v) => {
      expect(seen.has(k)).toBe(false);
      seen.set(k, v);
    });
    expect(seen.size).toBe(500);
    for (let i = 0; i < 500; i++) expect(seen.get(i)).toBe(`v${i}`);
    let n = 0;
    m.range(() => ++n < 10);
    expect(n).toBe(10);
  });

  it('range callbacks may write to the map', () => {
    for (let i = 0; i < 100; i++) m.store(i, i);
    m.range((k, v) => {
      m.store(k, (v as number) + 1);
    });
    for (let i = 0; i < 100; i++) expect(m.load(i)).toBe(i + 1);
  });

  it('clear empties every shard', () => {
    for (let i = 0; i < 1000; i++) m.store(`k${i}`, i);
    expect(m.size).toBe(1000);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.load('k1')).toBeUndefined();
    expect([...m.keys()]).toEqual([]);
    m.store('again', 1);
    expect(m.load('again')).toBe(1);
  });

  it('loadNumber / storeNumber', () => {
    expect(m.loadNumber('n')).toBeNaN();
    expect(m.loadNumber('n', -1)).toBe(-1);
    m.storeNumber('n', 1.5);
    expect(m.loadNumber('n', -1)).toBe(1.5);
    m.storeNumber('n', -0);
    expect(Object.is(m.loadNumber('n'), -0)).toBe(true);
    m.store('s', 'str');
    expect(() => m.loadNumber('s')).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_NOT_A_NUMBER' }));
    expect(() => m.storeNumber('n', '1' as unknown as number)).toThrow(TypeError);
  });

  it('size is the number of keys', () => {
    for (let i = 0; i < 300; i++) m.store(i, i);
    for (let i = 0; i < 300; i++) m.store(i, i + 1); // overwrites
    expect(m.size).toBe(300);
    for (let i = 0; i < 100; i++) m.delete(i);
    expect(m.size).toBe(200);
  });
});

describe('Map interface', () => {
  it('can stand in for a Map', () => {
    const ref = new Map<unknown, unknown>();
    for (const target of [ref, m]) {
      expect(target.set('a', 1)).toBe(target);
      target.set('b', 2).set('c', 3);
      target.delete('b');
    }
    expect(m.get('a')).toBe(1);
    expect(m.has('b')).toBe(false);
    expect(m.size).toBe(ref.size);
    expect(new Map(m)).toEqual(ref);
    expect(new Set(m.keys())).toEqual(new Set(ref.keys()));
    expect([...m.values()].sort()).toEqual([...ref.values()].sort());
    expect(new Map(m.entries())).toEqual(ref);
    const fe: unknown[] = [];
    m.forEach(function (this: unknown, v, k, map) {
      fe.push([k, v, map === m, this]);
    }, 'ctx');
    expect(fe).toHaveLength(2);
    expect(fe).toContainEqual(['a', 1, true, 'ctx']);
    expect(Object.prototype.toString.call(m)).toBe('[object ShardedMap]');
  });
});
