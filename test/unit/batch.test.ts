// Batch reads (getMany, loadNumbers): the same answers as single loads for
// every kind of value and key, in chunks, through a stalled shard, with the
// decoded-value cache on and off.
import { describe, it, expect } from 'vitest';
import { ShardedMap, type Key } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';
import { startAttached } from '../helpers/workers';

const VALUES: unknown[] = [
  1.5, -0, NaN, 'short', 'a longer string that will not fit in a cell at all', '', true, false, null, undefined,
  12345678901234567890n, new Uint8Array([1, 2, 3]), { id: 7, tags: ['a', 'b'] }, [1, [2, [3]]],
  { big: 'x'.repeat(3000) },
];
const KEYS: Key[] = ['k', 0, -0, 1e300, 42n, new Uint8Array([9]), 'é', 'a key too long to fit in any cell, surely'];

describe('batch reads', () => {
  for (const decodedCache of [4096, 0]) {
    it(`getMany gives what load gives, for every kind of key and value (decodedCache ${decodedCache})`, async () => {
      const map = await ShardedMap.create({ shards: 8, decodedCache });
      const keys: Key[] = [];
      KEYS.forEach((k, i) => {
        map.store(k, VALUES[i % VALUES.length]);
        keys.push(k);
      });
      for (let i = 0; i < 2000; i++) {
        map.store(`key:${i}`, VALUES[i % VALUES.length]);
        keys.push(`key:${i}`);
      }
      keys.push('absent', 77, 'key:0', 'key:0'); // misses and repeats
      for (let round = 0; round < 2; round++) {
        // The second round finds long values in the decoded-value cache.
        const many = map.getMany(keys);
        expect(many.length).toBe(keys.length);
        keys.forEach((k, i) => expect(many[i]).toEqual(map.load(k)));
      }
      const before = map.stats().instance;
      map.getMany(['key:0', 'absent', 'key:1']);
      const after = map.stats().instance;
      expect([after.hits - before.hits, after.misses - before.misses]).toEqual([2, 1]);
      expect(map.getMany([])).toEqual([]);
      map.close();
    });
  }

  it('loadNumbers: values, fallback, a reused out array, and a value that is not a number', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const keys = Array.from({ length: 1000 }, (_, i) => `n:${i}`);
    keys.forEach((k, i) => map.storeNumber(k, i * 0.5));
    const out = new Float64Array(1001);
    expect(map.loadNumbers([...keys, 'none'], out, -1)).toBe(out);
    keys.forEach((_, i) => expect(out[i]).toBe(i * 0.5));
    expect(out[1000]).toBe(-1);
    expect(Array.from(map.loadNumbers(['none']))).toEqual([NaN]);
    map.store('s', 'not a number');
    expect(() => map.loadNumbers(['n:1', 's'])).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_NOT_A_NUMBER' }));
    expect(() => map.loadNumbers(keys, new Float64Array(3))).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_INVALID_ARGUMENT' }));
    expect(() => map.loadNumbers('n:1' as never)).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_INVALID_ARGUMENT' }));
    expect(() => map.getMany([{}] as never)).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_KEY_TYPE' }));
    map.close();
  });

  it('small scratch areas: chunks, values that do not fit beside the records, keys read alone', async () => {
    const map = await ShardedMap.create({ shards: 2, maxValueBytes: 64, maxKeyBytes: 200 });
    const keys = Array.from({ length: 300 }, (_, i) => `key:${i}`);
    keys.forEach((k, i) => map.store(k, i % 2 ? 'v'.repeat(i % 60) : i));
    const long = 'L'.repeat(150); // does not fit the 64-byte value area beside a record
    map.store(long, 'long key');
    const many = map.getMany([...keys, long]);
    keys.forEach((k, i) => expect(many[i]).toEqual(map.load(k)));
    expect(many[300]).toBe('long key');
    const nums = map.loadNumbers([long.slice(0, 0) + 'key:0', 'key:2', long].slice(0, 2));
    expect(Array.from(nums)).toEqual([0, 2]);
    map.close();
  });

  it('a stalled shard (a writer preempted mid-write): batch and single reads wait for it, then answer', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const keys: string[] = [];
    for (let i = 0; i < 400; i++) {
      const k = i % 2 ? `n:${i}` : `s:${i}`;
      map.store(k, i % 2 ? i : `v${i}`.repeat(10));
      keys.push(k);
    }
    const { core, token } = internalsOf(map);
    expect(core.testStall(token, 0, 1)).toBe(0);
    const w = startAttached('stalled-reader', { handle: map.handle, keys });
    await w.owner;
    await new Promise((r) => setTimeout(r, 200));
    expect(core.testStall(token, 0, 0)).toBe(0);
    await new Promise((r) => w.worker.once('exit', r));
    const [r] = w.messages as { many: unknown[]; numbers: number[]; waits: number }[];
    expect(r!.many).toEqual(keys.map((k) => map.load(k)));
    expect(r!.numbers).toEqual(keys.filter((k) => k.startsWith('n:')).map((k) => map.load(k)));
    expect(r!.waits).toBeGreaterThan(0); // it did meet the stalled shard
  });
});
