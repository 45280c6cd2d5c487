// A long store/delete churn runs in bounded memory: dead entries and
// tombstones are compacted away and freed regions are reused.
import { describe, it, expect } from 'vitest';
import { ShardedMap } from 'shardedmap';

describe('churn', () => {
  it('memory stops growing under a steady store/delete load', async () => {
    const m = await ShardedMap.create({ shards: 8, maxValueBytes: 4096 });
    const live = 2_000;
    const ops = 400_000;
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let half = 0;
    let peakUsedFirstHalf = 0;
    for (let i = 0; i < ops; i++) {
      const k = `key:${Math.floor(rand() * live)}`;
      if (rand() < 0.5) m.store(k, 'x'.repeat(10 + Math.floor(rand() * 400)));
      else m.delete(k);
      if (i < ops / 2) peakUsedFirstHalf = Math.max(peakUsedFirstHalf, m.usedBytes);
      if (i === ops / 2) half = m.memoryBytes;
    }
    // No growth of the committed memory in the second half, and the bytes
    // in use stay within a small multiple of the live data.
    expect(m.memoryBytes).toBe(half);
    // Live data: key + value bytes plus entry and slot overhead (~30 B).
    const liveBytes = [...m.entries()].reduce<number>((s, [k, v]) => s + String(k).length + (v as string).length + 30, 0);
    const fixed = 64 * 1024 + 2 * 4096; // header, registry, shard headers, one scratch area
    expect(m.usedBytes).toBeLessThan(fixed + 4 * liveBytes);
    expect(m.usedBytes).toBeLessThan(peakUsedFirstHalf * 1.5);
    console.log(`churn: ${ops} ops, ${m.size} live (${liveBytes} B), used ${m.usedBytes} B, committed ${m.memoryBytes} B`);
  });
});
