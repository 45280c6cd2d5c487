// Short entries live inline in their 32-byte cell (one cache line per
// lookup); longer ones out of line in the shard's heap. A new value that
// fits keeps (or brings back) the entry inline; one that does not moves it
// out of line.
import { describe, it, expect } from 'vitest';
import { ShardedMap, type Key } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';
import { expectSound } from '../helpers/sound';
import { CELL_FORM_ABSENT, CELL_FORM_INLINE, CELL_FORM_OUTLINE } from '../../assembly/shared';

const ABSENT = CELL_FORM_ABSENT;
const INLINE = CELL_FORM_INLINE;
const OUT_OF_LINE = CELL_FORM_OUTLINE;

function formOf(map: ShardedMap<unknown>, key: Key): number {
  const { core, token, encodeKey } = internalsOf(map);
  return core.cellForm(token, encodeKey(key));
}



describe('inline cells', () => {
  it('keeps short keys with short values in the cell, longer ones in the heap', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const cases: [Key, unknown, number][] = [
      ['user:1001', 42.5, INLINE], // 10 key bytes + an f64: 24 + 8 = 32
      ['key:999999', 1, INLINE], // 11 key bytes: still 32
      [7, true, INLINE],
      [12345678901234567890n, null, INLINE],
      [new Uint8Array([1, 2, 3]), 'sixteen chars!!!', INLINE], // 4 + 16 bytes
      ['abcdefghijklmnopqrs', 1, OUT_OF_LINE], // 20 key bytes + 8: 40
      ['k', 'a string of more than 24 bytes', OUT_OF_LINE],
      ['obj', { a: 1, b: [1, 2, 3], c: 'text' }, INLINE], // records: its keys are in the shared shape
      ['obj2', { a: 1, b: [1, 2, 3], c: 'a text too long for a cell' }, OUT_OF_LINE],
    ];
    for (const [k, v] of cases) map.store(k, v);
    for (const [k, v, form] of cases) {
      expect(formOf(map, k)).toBe(form);
      expect(map.load(k)).toEqual(v);
    }
    expect(formOf(map, 'missing')).toBe(ABSENT);
    expectSound(map);
    map.close();
  });

  it('keeps a rewritten entry inline while it fits, out of line while it does not', async () => {
    const map = await ShardedMap.create({ shards: 1 });
    map.store('a', 1.5);
    expect(formOf(map, 'a')).toBe(INLINE);
    // Same type and length: one atomic store in place.
    map.storeNumber('a', 2.5);
    // Another type or length that still fits: rewritten in the cell
    // through the staging cell.
    for (const v of [true, null, 'hello', 'sixteen bytes!!!', 7n, new Uint8Array([9]), 'x'.repeat(24)]) {
      map.store('a', v);
      expect(formOf(map, 'a')).toBe(INLINE);
      expect(map.load('a')).toEqual(v);
    }
    const used = map.usedBytes;
    // Too long: the entry goes to the heap, the cell points at it...
    map.store('a', 'x'.repeat(25));
    expect(formOf(map, 'a')).toBe(OUT_OF_LINE);
    expect(map.load('a')).toBe('x'.repeat(25));
    // ...and comes back when it fits again (the heap entry is dead then).
    expect(map.compareAndSwap('a', 'x'.repeat(25), 'short')).toBe(true);
    expect(formOf(map, 'a')).toBe(INLINE);
    expect(map.load('a')).toBe('short');
    expect(map.usedBytes).toBe(used); // the heap had room: nothing allocated
    expectSound(map);
    // A rebuild (growth) keeps every entry, and every short one inline.
    map.store('long', 'y'.repeat(100));
    for (let i = 0; i < 500; i++) map.storeNumber(`k${i}`, i);
    expect(map.stats().slots).toBeGreaterThan(16);
    expect(formOf(map, 'a')).toBe(INLINE);
    expect(map.load('a')).toBe('short');
    expect(formOf(map, 'long')).toBe(OUT_OF_LINE);
    expect(map.load('long')).toBe('y'.repeat(100));
    for (let i = 0; i < 500; i++) {
      expect(formOf(map, `k${i}`)).toBe(INLINE);
      expect(map.loadNumber(`k${i}`, -1)).toBe(i);
    }
    expectSound(map);
    map.close();
  });

  it('short entries take no heap; long ones do (control)', async () => {
    // Heap bytes of live entries after 1000 entries of one kind.
    async function heapBytes(key: (i: number) => string): Promise<number> {
      const map = await ShardedMap.create({ shards: 1 });
      for (let i = 0; i < 1000; i++) map.storeNumber(key(i), i);
      const heap = map.stats().heapLiveBytes;
      // In-place overwrites of numbers allocate nothing, inline or not.
      const before = map.usedBytes;
      for (let i = 0; i < 1000; i++) map.storeNumber(key(i), i + 0.5);
      expect(map.usedBytes).toBe(before);
      expectSound(map);
      map.close();
      return heap;
    }
    const short = await heapBytes((i) => `key:${i}`);
    const long = await heapBytes((i) => `a key that is too long for a cell:${i}`);
    console.log(`inline: heap bytes for 1000 entries: short keys ${short}, long keys ${long}`);
    expect(short).toBe(0);
    expect(long).toBeGreaterThanOrEqual(1000 * 48); // 6 + 36 key bytes -> 48, + 8
  });
});
