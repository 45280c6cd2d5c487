// Keys and values of types the map cannot hold get a TypeError with a
// stable code, and the map loses nothing.
import { describe, it, expect } from 'vitest';
import { ShardedMap, ShardedMapTypeError } from 'shardedmap';

const code = (c: string) => expect.objectContaining({ code: c });

async function mapWithOneEntry(): Promise<ShardedMap<unknown>> {
  const m = await ShardedMap.create({ shards: 2 });
  m.store('keep', 'me');
  return m;
}

describe('wrong types', () => {
  it('keys of other types throw a TypeError with a code', async () => {
    const m = await mapWithOneEntry();
    for (const k of [{}, [], null, undefined, true, Symbol('s'), () => 1, new Date(), new Uint16Array(2)]) {
      expect(() => m.store(k as never, 1)).toThrow(ShardedMapTypeError);
      expect(() => m.load(k as never)).toThrow(code('ERR_SHARDEDMAP_KEY_TYPE'));
      expect(() => m.has(k as never)).toThrow(TypeError);
      expect(() => m.delete(k as never)).toThrow(TypeError);
    }
    expect(m.load('keep')).toBe('me');
    expect(m.size).toBe(1);
  });

  it('values that cannot be encoded throw a TypeError with a code', async () => {
    const m = await mapWithOneEntry();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = [deep]; // no cycle, just too deep for msgpackr
    for (const v of [Symbol('s'), () => 1, cyclic, { s: Symbol('x') }, { f() {} }, [1, [() => 2]], { a: { b: cyclic } }, deep]) {
      expect(() => m.store('keep', v)).toThrow(code('ERR_SHARDEDMAP_VALUE_TYPE'));
      expect(() => m.swap('keep', v)).toThrow(TypeError);
      expect(() => m.compareAndSwap('keep', v, 1)).toThrow(TypeError);
    }
    expect(m.load('keep')).toBe('me');
  });
});

