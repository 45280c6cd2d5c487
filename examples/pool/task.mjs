// A piscina task module: each pool thread attaches to the shared map once
// (on its first task) and every task stores its keys into it.
import { workerData } from 'piscina';
import { ShardedMap } from 'shardedmap';

let map;

/** Store `count` entries `${prefix}${i}`; returns how many it stored. */
export default async function storeMany({ prefix, count }) {
  map ??= await ShardedMap.attach(workerData.handle, { lockTimeout: workerData.lockTimeout });
  for (let i = 0; i < count; i++) map.store(`${prefix}${i}`, { i, by: prefix, pad: 'p'.repeat(i % 64) });
  return count;
}
