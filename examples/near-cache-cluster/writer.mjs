// The other process of examples/near-cache-cluster: renames users through
// its own near cache over the same cluster (its own L1 and trackers, as
// another service or host would have).
//   node writer.mjs '{"rootNodes":[{"url":"redis://..."}],"keys":["example:user:1"]}'
import { createNearCache } from 'shardedmap/redis';

const { rootNodes, keys } = JSON.parse(process.argv[2]);
const near = await createNearCache({ cluster: { rootNodes }, prefixes: ['example:user:'] });
for (const key of keys) {
  const user = await near.get(key);
  await near.set(key, { ...user, name: `${user.name} (renamed)` });
}
await near.close();
