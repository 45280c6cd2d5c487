// Bounded waits: a held shard makes writers wait at most their timeout,
// then throw a typed error naming the shard and its owner; signals and
// tryStore give up early; release() frees what a dead worker held.
import { describe, it, expect } from 'vitest';
import { ShardedMap, LockTimeoutError } from 'shardedmap';
import { startAttached } from '../helpers/workers';

async function holder(map: ShardedMap<unknown>) {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { worker, owner } = startAttached('holder', { handle: map.handle, flag });
  return { worker, owner: await owner, flag };
}

describe('waiting for a held shard', () => {
  it('times out with LockTimeoutError naming shard and owner; the map is unchanged', async () => {
    const map = await ShardedMap.create({ shards: 1, lockTimeout: 100 });
    map.store('k', 'before');
    const h = await holder(map);
    const t0 = performance.now();
    let err: unknown;
    try {
      map.store('k', 'after');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toMatchObject({ code: 'ERR_SHARDEDMAP_LOCK_TIMEOUT', shard: 0, owner: h.owner });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
    // Per call timeout, and timeout 0.
    expect(() => map.delete('k', { timeout: 10 })).toThrow(LockTimeoutError);
    expect(() => map.swap('k', 1, { timeout: 0 })).toThrow(/still locked by owner/);
    expect(map.tryStore('k', 'try')).toBe(false);
    // Reads never wait for a writer's lock: they are optimistic.
    expect(map.load('k')).toBe('before');
    // A signal aborted before the call: its reason is thrown.
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    expect(() => map.store('k', 'x', { signal: ac.signal })).toThrow('stop');
    expect(() => map.store('k', 'x', { timeout: -1 })).toThrow(RangeError);
    Atomics.store(h.flag, 0, 1);
    Atomics.notify(h.flag, 0);
    await new Promise((r) => h.worker.once('exit', r));
    expect(map.load('k')).toBe('before');
    expect(map.tryStore('k', 'try')).toBe(true);
    map.store('k', 'after', { timeout: 10 });
    expect(map.load('k')).toBe('after');
  });

  it('a worker that dies holding a lock blocks nobody after release(owner)', async () => {
    const map = await ShardedMap.create({ shards: 1, lockTimeout: 100 });
    map.store('k', 1);
    const h = await holder(map);
    await h.worker.terminate();
    expect(() => map.store('k', 2)).toThrow(LockTimeoutError);
    map.release(h.owner);
    map.store('k', 2);
    expect(map.load('k')).toBe(2);
    expect(map.size).toBe(1);
    // Its slot is free again: maxWorkers is not eaten by the dead.
    const again = await ShardedMap.attach(map.handle);
    again.close();
  });

  it('release() refuses itself and non-owners; a released live instance is closed', async () => {
    const map = await ShardedMap.create({ shards: 2, maxWorkers: 4 });
    const other = await ShardedMap.attach(map.handle);
    const third = await ShardedMap.attach(map.handle);
    expect(() => map.release(map.owner)).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_BAD_OWNER' }));
    expect(() => map.release(0)).toThrow(RangeError);
    expect(() => map.release(1.5)).toThrow(RangeError);
    // Past maxWorkers there is no owner (it was silently ignored up to 8191).
    for (const id of [5, 100, 8191]) expect(() => map.release(id)).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_BAD_OWNER' }));
    map.release(other.owner);
    expect(() => other.store('x', 1)).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_CLOSED' }));
    expect(() => other.load('x')).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_CLOSED' }));
    // Calls that only read shared state too (they answered before).
    const released = await ShardedMap.attach(map.handle);
    map.release(released.owner);
    for (const read of [() => released.size, () => released.memoryBytes, () => released.usedBytes, () => released.shardCount,
      () => released.purgeStale(), () => released.debug()]) {
      expect(read).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_CLOSED' }));
    }
    // Released, it cannot release others either (it threw INTERNAL).
    const other2 = await ShardedMap.attach(map.handle);
    map.release(other2.owner);
    expect(() => other2.release(third.owner)).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_CLOSED' }));
    third.close();
    map.store('x', 1);
    expect(map.load('x')).toBe(1);
  });
});
