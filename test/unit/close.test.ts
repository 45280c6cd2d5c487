// close(): every later call on the instance throws CLOSED; the map lives on.
import { describe, it, expect } from 'vitest';
import { ShardedMap, ShardedMapError } from 'shardedmap';

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
