// The other process of examples/near-cache: renames one user through its
// own near cache (its own L1, as another service or host would have).
//   node writer.mjs <redis url> <key>
import { createNearCache } from 'shardedmap/redis';

const [url, key] = process.argv.slice(2);
const near = await createNearCache({ url, prefixes: ['example:user:'] });
const user = await near.get(key);
await near.set(key, { ...user, name: `${user.name} (renamed)` });
await near.close();
