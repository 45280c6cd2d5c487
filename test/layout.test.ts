// The layout's promises about cache lines and alignment, pinned.
import { describe, it, expect } from 'vitest';
import { ShardedMap } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';

describe('layout', () => {
  it('puts the hot words where the design says', async () => {
    const map = await ShardedMap.create({ shards: 8 });
    const { core, owner } = internalsOf(map);
    // A group is 16 slots (one SIMD compare of their control bytes); a
    // cell is 32 bytes, so a cell (a short entry whole) is inside one line.
    expect(core.groupSlots()).toBe(16);
    expect(core.cellBytes()).toBe(32);
    expect(64 % core.cellBytes()).toBe(0);
    // A shard header is two lines: readers' seq/table word on the first,
    // the writers' lock word alone at the start of the second.
    expect(core.shardHeaderBytes()).toBe(128);
    expect(core.shardLockOffset()).toBe(64);
    expect(core.shardsAddress() % 64).toBe(0);
    expect(core.headerBase() % 64).toBe(0);
    // Scratch areas start on a line; the value and aux areas are 8-aligned
    // (f64 reads and writes, 8-byte copies).
    expect(core.scratchOf(owner) % 64).toBe(0);
    expect(core.valueOffset() % 8).toBe(0);
    expect(core.auxOffset() % 8).toBe(0);
    // Every shard starts with one group and a sound table.
    for (let s = 0; s < 8; s++) expect(core.shardGroups(s)).toBe(1);
    expect(map.check().problems).toEqual([]);
  });

  it('initialCapacity sizes every table up front: filling it resizes nothing', async () => {
    // A fixed seed: with a random one a shard overflows its room 1 time in ~7,500.
    const map = await ShardedMap.create({ shards: 4, initialCapacity: 10_000, seed: 7n });
    const { core } = internalsOf(map);
    const groups = [0, 1, 2, 3].map((s) => core.shardGroups(s));
    // 2,500 entries per shard, plus room for an uneven spread, at most 7/8
    // full: more than 2,858 slots.
    for (const g of groups) expect(g * core.groupSlots()).toBeGreaterThan(2858);
    for (let i = 0; i < 10_000; i++) map.storeNumber(`key:${i}`, i);
    for (let s = 0; s < 4; s++) expect(core.shardGroups(s)).toBe(groups[s]);
    for (let i = 0; i < 10_000; i++) map.delete(`key:${i}`);
    map.store('x', 1); // an insert after the deletes may rebuild, never below the start
    for (let s = 0; s < 4; s++) expect(core.shardGroups(s)).toBeGreaterThanOrEqual(groups[s]);
    map.close();
  });
});
