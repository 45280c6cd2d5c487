// The layout's promises about cache lines and alignment, measured on a
// live map (addresses and sizes the core reports), not read off constants.
import { describe, it, expect } from 'vitest';
import { ShardedMap } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';

const LINE = 64;

describe('layout', () => {
  it('shard headers: three lines each (readers, writers, cache state), the lock word alone at the start of the second', async () => {
    const map = await ShardedMap.create({ shards: 8 });
    const { core } = internalsOf(map);
    expect(core.headerAddress() % LINE).toBe(0);
    const at = [...Array(8).keys()].map((s) => core.shardAddress(s));
    for (let s = 0; s < 8; s++) {
      expect(at[s]! % LINE).toBe(0);
      // The readers' seq and table word are on the header's first line; the
      // lock word, which waiting writers hammer, starts the next one.
      expect(core.shardLockAddress(s) - at[s]!).toBe(LINE);
      if (s > 0) expect(at[s]! - at[s - 1]!).toBe(3 * LINE);
    }
    map.close();
  });

  it('scratch areas start on a line; value and aux areas are 8-aligned', async () => {
    const map = await ShardedMap.create({ shards: 2, maxKeyBytes: 13, maxValueBytes: 21 });
    const other = await ShardedMap.attach(map.handle);
    for (const m of [map, other]) {
      const { core, token } = internalsOf(m);
      expect(core.scratchOf(token) % LINE).toBe(0);
      expect(core.scratchValueOffset() % 8).toBe(0);
      expect(core.scratchAuxOffset() % 8).toBe(0);
    }
    other.close();
    map.close();
  });

  it('cells: 32-byte aligned, so an inline entry (one cell) never straddles a line', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const { core, token, encodeKey } = internalsOf(map);
    const sizes = new Set<number>();
    for (let i = 0; i < 2000; i++) map.storeNumber(`key:${i}`, i);
    for (let i = 0; i < 2000; i++) {
      const klen = encodeKey(`key:${i}`);
      const cell = core.cellAddress(token, klen);
      expect(core.entryAddress(token, klen)).toBe(cell); // inline: the entry is the cell
      expect(cell % 32).toBe(0);
      expect(Math.floor(cell / LINE)).toBe(Math.floor((cell + 31) / LINE));
      sizes.add(cell % LINE);
    }
    expect([...sizes].sort()).toEqual([0, 32]); // two cells per line, both used
    map.close();
  });

  /** Store 20K numbers into a 4-shard map, noting each shard's load just
   *  before and its growth factor at each growth (sampled every 50
   *  stores, so "just before" is up to 50 entries early). */
  async function growthOf(seed?: bigint) {
    const map = await ShardedMap.create({ shards: 4, ...(seed === undefined ? {} : { seed }) });
    const before = map.stats({ perShard: true }).perShard!;
    for (const s of before) expect(s.slots).toBe(16);
    const last = before.map(() => ({ slots: 16, entries: 0 }));
    const ratios: number[] = [];
    const growth: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      map.storeNumber(i, i);
      if (i % 50 !== 0) continue;
      map.stats({ perShard: true }).perShard!.forEach((s, k) => {
        if (s.slots !== last[k]!.slots) {
          ratios.push(last[k]!.entries / last[k]!.slots);
          if (last[k]!.slots >= 256) growth.push(s.slots / last[k]!.slots);
        }
        last[k] = { slots: s.slots, entries: s.entries };
      });
    }
    map.close();
    return { ratios, growth };
  }

  function expectGrowth({ ratios, growth }: { ratios: number[]; growth: number[] }) {
    for (const r of ratios.filter((_, i) => i > 8)) expect(r).toBeLessThanOrEqual(36 / 40);
    for (const g of growth) {
      expect(g).toBeGreaterThan(1.1);
      expect(g).toBeLessThan(1.3);
    }
    expect(growth.length).toBeGreaterThan(8);
  }

  it('a group is 16 slots; a table holds 33/40 to 36/40 of its slots before it grows, by 1.15-1.25x', async () => {
    expectGrowth(await growthOf());
  });

  it('a probe past its bound grows the table by 1/4 too, not 2x', async () => {
    // Seeds under which some insert of these keys meets a crowded probe
    // path in the test build (found by search; the release build's shard
    // headers sit elsewhere, so its shards' max loads, and its seeds,
    // differ): when such a probe doubled the table, each of them showed a
    // 2x growth here.
    for (const seed of [56n, 89n, 96n]) expectGrowth(await growthOf(seed));
  });

  it('a table costs 33 bytes per slot: a 32-byte cell and a control byte', async () => {
    const map = await ShardedMap.create({ shards: 1 });
    for (let i = 0; i < 50_000; i++) map.storeNumber(`key:${i}`, i);
    const s = map.stats({ perShard: true });
    const shard = s.perShard![0]!;
    const tableOnly = shard.regionBytes - shard.heapLiveBytes - shard.heapDeadBytes;
    // Besides the slots: one staging cell, line padding and the (empty)
    // heap's slack, a few hundred bytes.
    expect(tableOnly / shard.slots).toBeGreaterThanOrEqual(33);
    expect(tableOnly / shard.slots).toBeLessThan(33.1);
    map.close();
  });

  it('initialCapacity sizes every table up front: filling it resizes nothing', async () => {
    // A fixed seed: with a random one a shard overflows its room 1 time in ~7,500.
    const map = await ShardedMap.create({ shards: 4, initialCapacity: 10_000, seed: 7n });
    const slots = () => map.stats({ perShard: true }).perShard!.map((s) => s.slots);
    const start = slots();
    // 2,500 entries per shard, plus room for an uneven spread, at most 7/8
    // full: more than 2,858 slots.
    for (const n of start) expect(n).toBeGreaterThan(2858);
    for (let i = 0; i < 10_000; i++) map.storeNumber(`key:${i}`, i);
    expect(slots()).toEqual(start);
    for (let i = 0; i < 10_000; i++) map.delete(`key:${i}`);
    map.store('x', 1); // an insert after the deletes may rebuild, never below the start
    slots().forEach((n, s) => expect(n).toBeGreaterThanOrEqual(start[s]!));
    map.close();
  });
});
