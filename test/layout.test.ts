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
    for (let s = 0; s < 8; s++) {
      expect(core.shardGroups(s)).toBe(1);
      expect(core.checkShard(s)).toBe(0);
    }
  });
});
