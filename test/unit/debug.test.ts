// Debug mode: the last N operations of each shard, from every instance,
// readable from any instance; off by default.
import { describe, it, expect } from 'vitest';
import { ShardedMap } from 'shardedmap';
import { runWorker } from '../helpers/workers';

describe('debug ring', () => {
  it('is off (and empty) by default', async () => {
    const m = await ShardedMap.create({ shards: 2 });
    m.store('a', 1);
    expect(m.debug()).toEqual([]);
  });

  it('records op, owner, key hash and result from every instance', async () => {
    const m = await ShardedMap.create({ shards: 1, debugRing: 8 });
    m.store('a', 1);
    m.load('a');
    m.load('missing');
    m.delete('nope');
    await runWorker('writer', { handle: m.handle, prefix: 'w:', from: 0, to: 2 });
    const reader = await ShardedMap.attach(m.handle);
    const [ring] = reader.debug();
    expect(ring!.shard).toBe(0);
    const ops = ring!.entries.map((e) => [e.op, e.result]);
    expect(ops).toEqual([
      ['store', 0], ['load', expect.any(Number)], ['load', 'NOT_FOUND'], ['delete', 'NOT_FOUND'],
      ['store', 0], ['store', 0],
    ]);
    const owners = new Set(ring!.entries.map((e) => e.owner));
    expect(owners.size).toBe(2); // the creator and the worker
    expect(owners.has(m.owner)).toBe(true);
    expect(ring!.entries[0]!.keyHash).toBe(ring!.entries[1]!.keyHash); // both on key 'a'
    expect(ring!.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('keeps only the last N', async () => {
    const m = await ShardedMap.create({ shards: 1, debugRing: 4 });
    for (let i = 0; i < 10; i++) m.storeNumber(i, i);
    const [ring] = m.debug();
    expect(ring!.entries.map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    await expect(ShardedMap.create({ debugRing: 3 })).rejects.toThrow(/power of two/);
  });
});
