// A trap or an AS abort inside the core becomes a typed error with the
// message and location; the lock it held is released; the map stays usable.
import { describe, it, expect } from 'vitest';
import { ShardedMap, ShardedMapError } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';

describe('faults inside the core', () => {
  for (const kind of ['abort', 'trap'] as const) {
    it(`an ${kind} while holding a shard lock`, async () => {
      const map = await ShardedMap.create({ shards: 2, lockTimeout: 500 });
      const other = await ShardedMap.attach(map.handle, { lockTimeout: 500 });
      for (let i = 0; i < 200; i++) map.store(`k${i}`, { i });
      const inner = internalsOf(map);
      inner.failNextWrite(kind);
      let err: unknown;
      try {
        map.store('k7', 'changed');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ShardedMapError);
      expect(err).toMatchObject({ code: 'ERR_SHARDEDMAP_INTERNAL' });
      const msg = (err as Error).message;
      if (kind === 'abort') expect(msg).toMatch(/test-induced abort at assembly\/doors\.ts:1:1/);
      else expect(msg).toMatch(/unreachable/);
      expect(msg).toMatch(/were repaired/);
      expect(inner.core.locksHeldBy(map.owner)).toBe(0);
      // Nothing lost, nothing half-written, both instances go on.
      for (let i = 0; i < 200; i++) expect(other.load(`k${i}`)).toEqual({ i });
      other.store('k7', 'other');
      map.store('k8', 'mine');
      expect(map.load('k7')).toBe('other');
      expect(other.load('k8')).toBe('mine');
      expect(map.size).toBe(200);
    });
  }

  it('a stop in the middle of an inline rewrite: recovery finishes the move', async () => {
    const map = await ShardedMap.create({ shards: 2, lockTimeout: 500 });
    const other = await ShardedMap.attach(map.handle, { lockTimeout: 500 });
    for (let i = 0; i < 100; i++) map.storeNumber(`k${i}`, i);
    const inner = internalsOf(map);
    const form = () => inner.core.cellForm(inner.token, inner.encodeKey('k7'));
    expect(form()).toBe(1); // inline
    inner.failNextWrite('staged');
    expect(() => map.store('k7', 'new value')).toThrow(/were repaired/);
    // The switch to the staging cell had published the new value: recovery
    // finished moving it into the cell.
    expect(form()).toBe(1);
    expect(map.load('k7')).toBe('new value');
    expect(other.load('k7')).toBe('new value');
    for (let i = 0; i < 100; i++) if (i !== 7) expect(other.loadNumber(`k${i}`, -1)).toBe(i);
    expect(map.check()).toMatchObject({ ok: true, problems: [], faults: 1 });
    // The staging cell is free for the next rewrite.
    other.store('k7', 'other');
    map.store('k8', 'mine');
    expect(map.load('k7')).toBe('other');
    expect(other.load('k8')).toBe('mine');
    expect(map.size).toBe(100);
  });
});
