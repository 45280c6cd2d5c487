import { expect } from 'vitest';
import type { ShardedMap } from 'shardedmap';

/** The map checks sound (map.check(): every shard and the allocator), and
 *  no instance hit an internal error. */
export function expectSound(map: ShardedMap<unknown>): void {
  expect(map.check()).toMatchObject({ ok: true, problems: [], faults: 0 });
}
