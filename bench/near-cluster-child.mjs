// The other process of bench/near-cluster.mjs's invalidation measure: a
// near cache over the cluster whose onInvalidate records when each write's
// key left the L1 ([key number, time]). Arg: JSON { rootNodes, n }.
import { createNearCache } from 'shardedmap/redis';

const { rootNodes, n } = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now();
const arrivals = [];
const near = await createNearCache({
  cluster: { rootNodes },
  prefixes: ['k:'],
  onInvalidate: (key) => {
    if (key !== null) arrivals.push([Number(key.slice(2)), now()]);
  },
});
process.once('message', async () => {
  const until = Date.now() + 10_000;
  while (arrivals.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  process.send({ arrivals });
  await near.close();
  process.exit(0);
});
process.send({ ready: true });
