// Bad input gets a typed error with a stable code, and the map loses nothing.
import { describe, it, expect } from 'vitest';
import { ShardedMap, ShardedMapTypeError, ShardedMapRangeError, ShardedMapError } from 'shardedmap';

const code = (c: string) => expect.objectContaining({ code: c });

describe('wrong types', async () => {
  const m = await ShardedMap.create({ shards: 2 });
  m.store('keep', 'me');

  it('keys of other types throw a TypeError with a code', () => {
    for (const k of [{}, [], null, undefined, true, Symbol('s'), () => 1, new Date(), new Uint16Array(2)]) {
      expect(() => m.store(k as never, 1)).toThrow(ShardedMapTypeError);
      expect(() => m.load(k as never)).toThrow(code('ERR_SHARDEDMAP_KEY_TYPE'));
      expect(() => m.has(k as never)).toThrow(TypeError);
      expect(() => m.delete(k as never)).toThrow(TypeError);
    }
    expect(m.load('keep')).toBe('me');
    expect(m.size).toBe(1);
  });

  it('values that cannot be encoded throw a TypeError with a code', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const v of [Symbol('s'), () => 1, cyclic, { s: Symbol('x') }, { f() {} }, [1, [() => 2]], { a: { b: cyclic } }]) {
      expect(() => m.store('keep', v)).toThrow(code('ERR_SHARDEDMAP_VALUE_TYPE'));
      expect(() => m.swap('keep', v)).toThrow(TypeError);
      expect(() => m.compareAndSwap('keep', v, 1)).toThrow(TypeError);
    }
    expect(m.load('keep')).toBe('me');
  });
});

describe('limits', () => {
  it('keys and values over the limits throw a RangeError and change nothing', async () => {
    const m = await ShardedMap.create({ shards: 2, maxKeyBytes: 16, maxValueBytes: 64 });
    m.store('x'.repeat(15), 'fits'); // 1 type byte + 15
    expect(m.load('x'.repeat(15))).toBe('fits');
    expect(() => m.store('x'.repeat(16), 1)).toThrow(ShardedMapRangeError);
    expect(() => m.load('é'.repeat(8))).toThrow(code('ERR_SHARDEDMAP_KEY_TOO_LARGE')); // 16 UTF-8 bytes + 1
    expect(() => m.store(new Uint8Array(16), 1)).toThrow(RangeError);
    expect(() => m.store(2n ** 100n, 1)).toThrow(RangeError);
    m.store('v', 'y'.repeat(64));
    expect(() => m.store('v', 'y'.repeat(65))).toThrow(code('ERR_SHARDEDMAP_VALUE_TOO_LARGE'));
    expect(() => m.store('v', { big: 'z'.repeat(64) })).toThrow(RangeError);
    expect(() => m.store('v', new Uint8Array(65))).toThrow(RangeError);
    expect(m.load('v')).toBe('y'.repeat(64));
    expect(m.size).toBe(2);
  });

  it('reaching maxMemory throws MEMORY_FULL, keeps every entry, and the map stays usable', async () => {
    const m = await ShardedMap.create({ shards: 4, maxMemory: 2 << 20, maxValueBytes: 1024 });
    const value = 'v'.repeat(200);
    let stored = 0;
    let error: unknown;
    try {
      for (;;) {
        m.store(`k${stored}`, value);
        stored++;
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ShardedMapRangeError);
    expect(error).toEqual(code('ERR_SHARDEDMAP_MEMORY_FULL'));
    expect(stored).toBeGreaterThan(1000);
    expect(m.size).toBe(stored);
    expect(m.has(`k${stored}`)).toBe(false);
    for (let i = 0; i < stored; i++) expect(m.load(`k${i}`)).toBe(value);
    expect(m.memoryBytes).toBeLessThanOrEqual(2 << 20);
    // Still usable: reads, deletes, in-place number updates, clear.
    expect(m.delete('k0')).toBe(true);
    m.clear();
    expect(m.size).toBe(0);
    for (let i = 0; i < 100; i++) m.store(`again${i}`, value);
    expect(m.load('again99')).toBe(value);
  });

  it('maxWorkers bounds attached instances; close() frees a slot', async () => {
    const m = await ShardedMap.create({ shards: 1, maxWorkers: 2 });
    const b = await ShardedMap.attach(m.handle);
    await expect(ShardedMap.attach(m.handle)).rejects.toEqual(code('ERR_SHARDEDMAP_TOO_MANY_WORKERS'));
    b.close();
    const c = await ShardedMap.attach(m.handle);
    c.store('ok', 1);
    expect(m.load('ok')).toBe(1);
  });
});

describe('options', () => {
  const bad: [Record<string, unknown>, string, typeof TypeError | typeof RangeError][] = [
    [{ shards: 3 }, 'shards', RangeError],
    [{ shards: 0 }, 'shards', RangeError],
    [{ shards: 8192 }, 'shards', RangeError],
    [{ shards: '4' }, 'shards', TypeError],
    [{ maxKeyBytes: 1 }, 'maxKeyBytes', RangeError],
    [{ maxKeyBytes: 70000 }, 'maxKeyBytes', RangeError],
    [{ maxValueBytes: 4 }, 'maxValueBytes', RangeError],
    [{ maxValueBytes: 2 ** 24 }, 'maxValueBytes', RangeError],
    [{ maxMemory: 1000 }, 'maxMemory', RangeError],
    [{ maxMemory: 2 ** 32 }, 'maxMemory', RangeError],
    [{ maxWorkers: 0 }, 'maxWorkers', RangeError],
    [{ maxWorkers: 1.5 }, 'maxWorkers', TypeError],
    [{ initialCapacity: -1 }, 'initialCapacity', RangeError],
    [{ lockTimeout: -1 }, 'lockTimeout', RangeError],
    [{ lockTimeout: 'soon' }, 'lockTimeout', TypeError],
    [{ seed: 5 }, 'seed', TypeError],
    [{ shard: 4 }, 'shard', TypeError],
  ];
  it.each(bad)('%o is refused naming the option', async (options, name, cls) => {
    const p = ShardedMap.create(options);
    await expect(p).rejects.toBeInstanceOf(cls);
    await expect(p).rejects.toEqual(code('ERR_SHARDEDMAP_INVALID_OPTION'));
    await expect(p).rejects.toThrow(name);
  });
  it('a non-object is refused', async () => {
    await expect(ShardedMap.create(5 as never)).rejects.toThrow(TypeError);
  });
});

describe('handles', async () => {
  const m = await ShardedMap.create({ shards: 2 });
  m.store('a', 1);
  const other = await ShardedMap.create({ shards: 2 });

  it('a foreign or malformed handle is refused', async () => {
    const bad = [
      null, {}, { memory: {} }, { ...m.handle, memory: new WebAssembly.Memory({ initial: 1 }) },
      { ...m.handle, memory: new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true }) },
      { ...m.handle, mapId: [1] }, { ...m.handle, memory: other.handle.memory },
    ];
    for (const h of bad) {
      await expect(ShardedMap.attach(h as never)).rejects.toEqual(code('ERR_SHARDEDMAP_BAD_HANDLE'));
    }
  });

  it('a handle of another layout version is refused with a clear error', async () => {
    const p = ShardedMap.attach({ ...m.handle, layoutVersion: m.handle.layoutVersion + 1 });
    await expect(p).rejects.toEqual(code('ERR_SHARDEDMAP_LAYOUT_VERSION'));
    await expect(p).rejects.toThrow(/same shardedmap version/);
  });

  it('a valid handle attaches, and nothing was lost', async () => {
    const b = await ShardedMap.attach(m.handle);
    expect(b.load('a')).toBe(1);
    b.close();
  });
});

describe('close', () => {
  it('every call after close() throws CLOSED; other instances go on', async () => {
    const m = await ShardedMap.create({ shards: 2 });
    const b = await ShardedMap.attach(m.handle);
    b.store('x', 1);
    b.close();
    b.close(); // idempotent
    const calls: (() => unknown)[] = [
      () => b.load('x'), () => b.store('x', 2), () => b.has('x'), () => b.delete('x'), () => b.get('x'),
      () => b.set('x', 1), () => b.loadNumber('x'), () => b.storeNumber('x', 1), () => b.loadOrStore('x', 1),
      () => b.loadAndDelete('x'), () => b.swap('x', 1), () => b.compareAndSwap('x', 1, 2),
      () => b.compareAndDelete('x', 1), () => b.clear(), () => b.range(() => {}), () => b.size,
      () => [...b.keys()], () => [...b], () => b.forEach(() => {}), () => b.memoryBytes,
    ];
    for (const call of calls) {
      expect(call).toThrow(ShardedMapError);
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_CLOSED' }));
    }
    expect(m.load('x')).toBe(1);
  });
});
