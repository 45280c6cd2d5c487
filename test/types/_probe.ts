import { ShardedMap } from 'shardedmap';
const m = await ShardedMap.create<{ name: string }>({ shards: 4 });
const v = m.load('a');
type T = typeof v;
export const x: T = 1 as never;
m.store('a', 5);
