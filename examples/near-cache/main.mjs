// The near cache across processes: this process's main thread creates the
// L1 (shardedmap/redis) and two workers read user profiles through it; a
// second process (writer.mjs, as another service or host would) renames a
// user in Redis; the invalidation reaches this process's L1 and the
// workers read the new name on their next get.
//
//   node examples/near-cache/main.mjs                        # Redis on 127.0.0.1:6379
//   node examples/near-cache/main.mjs redis://127.0.0.1:6380
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { createNearCache } from 'shardedmap/redis';

/**
 * Run the example against the Redis at `url`: seed `users` profiles, let
 * `workers` workers read each twice, rename user 1 from another process,
 * wait for its invalidation, and have every worker read it again. Resolves
 * with what the workers counted and read. The profiles are deleted again.
 */
export async function runNearCacheExample({ url = 'redis://127.0.0.1:6379', workers = 2, users = 100 } = {}) {
  const invalidated = [];
  const near = await createNearCache({
    url, prefixes: ['example:user:'], ttl: 60_000, maxEntries: 10_000,
    onInvalidate: (key) => invalidated.push(key),
  });
  const key = (i) => `example:user:${i}`;
  try {
    for (let i = 0; i < users; i++) await near.set(key(i), { id: i, name: `user ${i}`, tags: ['example'] });

    const ws = Array.from({ length: workers }, () =>
      new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { handle: near.handle, users } }));
    const ask = (w, msg) => {
      w.postMessage(msg);
      return once(w, 'message').then(([reply]) => reply);
    };
    // Round 1: every worker reads every profile twice (the L1 fills once).
    const reads = await Promise.all(ws.map((w) => ask(w, { do: 'read' })));

    // Another process renames user 1 through its own near cache.
    const before = invalidated.length;
    const writer = fork(new URL('./writer.mjs', import.meta.url), [url, key(1)], { stdio: 'inherit' });
    const [code] = await once(writer, 'exit');
    if (code !== 0) throw new Error(`the writer process exited with ${code}`);
    // Its invalidation arrives over this process's tracking connection.
    for (let t = 0; !invalidated.slice(before).includes(key(1)); t++) {
      if (t > 2000) throw new Error('no invalidation of user 1 within 2 s');
      await new Promise((r) => setTimeout(r, 1));
    }

    // Round 2: every worker reads user 1 again: the new name, from Redis
    // once, then from the L1.
    const rereads = await Promise.all(ws.map((w) => ask(w, { do: 'reread', key: key(1) })));
    // (Listening for 'exit' first: a worker that closes while another one
    // is still answering would otherwise exit unheard.)
    const exited = ws.map((w) => once(w, 'exit'));
    await Promise.all(ws.map((w) => ask(w, { do: 'close' })));
    await Promise.all(exited);
    return { reads, rereads, invalidated: invalidated.slice(before), l1: near.stats().l1 };
  } finally {
    for (let i = 0; i < users; i++) await near.delete(key(i));
    await near.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runNearCacheExample({ url: process.argv[2] });
  for (const [w, x] of r.reads.entries()) console.log(`worker ${w}: ${x.l1Hits} L1 hits, ${x.l1Misses} GETs (fills) for ${x.reads} reads`);
  console.log(`invalidated by the other process's write: ${r.invalidated.join(', ')}`);
  for (const [w, x] of r.rereads.entries()) console.log(`worker ${w} reads user 1 again: ${JSON.stringify(x.value)}`);
}
