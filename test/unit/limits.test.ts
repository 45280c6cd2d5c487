// Keys and values over their limits, a full memory and too many workers
// get a RangeError with a stable code, and the map loses nothing.
import { describe, it, expect } from 'vitest';
import { ShardedMap, ShardedMapRangeError } from 'shardedmap';

const code = (c: string) => expect.objectContaining({ code: c });

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

