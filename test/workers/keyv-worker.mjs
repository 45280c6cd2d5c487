// shardedmap/keyv from a worker. Attaches to the map, posts { owner }, then
// by `mode`:
// - 'write': a Keyv (namespace `ns`) over the map; sets `<prefix><i>` for
//   i < n, then reads `read` (keys another thread set); posts { seen }.
// - 'wrap': cache-manager over that Keyv; when the go flag rises, `calls`
//   concurrent cache.wrap(key, fn) where fn runs the loader (counting its
//   runs in `runs`, resolving `value` once the gate opens) — through the
//   map's own fetch when `crossWorker` (the single flight across workers
//   under cache-manager's per-process one). Counts itself in `entered`;
//   posts { values }.
// - 'cacheable': cacheable with the map as L1 (primary) and @keyv/redis at
//   `url` as L2; `set` then posts { done }, or `get` posts { got }.
import { parentPort, workerData } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { KeyvShardedMap } from 'shardedmap/keyv';
import { Keyv } from 'keyv';

const d = workerData;
const map = await ShardedMap.attach(d.handle);
parentPort.postMessage({ owner: map.owner });
const keyv = new Keyv({ store: new KeyvShardedMap(map), namespace: d.ns ?? 'keyv' });
const flag = (i32) => new Promise((resolve) => {
  const poll = () => (Atomics.load(i32, 0) === 1 ? resolve() : setTimeout(poll, 2));
  poll();
});

if (d.mode === 'write') {
  for (let i = 0; i < d.n; i++) await keyv.set(`${d.prefix}${i}`, { i, by: d.prefix });
  const seen = await keyv.getMany(d.read);
  parentPort.postMessage({ seen });
} else if (d.mode === 'wrap') {
  const { createCache } = await import('cache-manager');
  const cache = createCache({ stores: [keyv] });
  await flag(d.go);
  const loader = async () => {
    Atomics.add(d.runs, 0, 1);
    await flag(d.gate);
    return d.value;
  };
  const fn = d.crossWorker ? () => map.fetch(`load:${d.key}`, loader, { ttl: 1000 }) : loader;
  Atomics.add(d.entered, 0, 1);
  const values = await Promise.all(Array.from({ length: d.calls }, () => cache.wrap(d.key, fn, 60_000)));
  parentPort.postMessage({ values });
  await cache.disconnect();
} else if (d.mode === 'cacheable') {
  const { Cacheable } = await import('cacheable');
  const { default: KeyvRedis } = await import('@keyv/redis');
  const l2 = new Keyv({ store: new KeyvRedis(d.url), namespace: 'keyv' });
  const cache = new Cacheable({ primary: keyv, secondary: l2 });
  if (d.op === 'set') {
    await cache.set(d.key, d.value, d.ttl);
    parentPort.postMessage({ done: true });
  } else {
    parentPort.postMessage({ got: await cache.get(d.key) });
  }
  await l2.disconnect();
}
map.close();
