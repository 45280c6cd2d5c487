// The near cache over a Redis Cluster: this process's main thread creates
// the L1 (shardedmap/redis, with `cluster`: one tracking connection per
// master) and two workers read user profiles through it; a second process
// (writer.mjs, as another service or host would) renames one user per
// master; each master's invalidation reaches this process's L1 and the
// workers read the new names on their next get.
//
//   node examples/near-cache-cluster/main.mjs                      # starts its own 3+3 cluster
//   node examples/near-cache-cluster/main.mjs redis://10.0.0.1:7000  # a cluster node of yours
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { createNearCache } from 'shardedmap/redis';

const key = (i) => `example:user:${i}`;

/**
 * Run the example against the cluster reachable at `rootNodes`: seed
 * `users` profiles, let `workers` workers read each twice, rename the
 * first user found on each master from another process, wait for their
 * invalidations, and have every worker read them again. Resolves with what
 * the workers counted and read, and the near cache's per-master stats.
 * The profiles are deleted again.
 */
export async function runNearCacheClusterExample({ rootNodes, workers = 2, users = 60 }) {
  const invalidated = [];
  const near = await createNearCache({
    cluster: { rootNodes },
    prefixes: ['example:user:'], ttl: 60_000, maxEntries: 10_000,
    onInvalidate: (k) => invalidated.push(k),
  });
  try {
    for (let i = 0; i < users; i++) await near.set(key(i), { id: i, name: `user ${i}`, tags: ['example'] });
    // One user per master: the master whose tracker pushed its own invalidation.
    const byMaster = new Map();
    const nodes = () => near.stats().nodes;
    for (let i = 0; i < users && byMaster.size < nodes().length; i++) {
      const before = nodes().map((n) => n.invalidations);
      await near.set(key(i), { id: i, name: `user ${i}`, tags: ['example'] });
      for (let t = 0; ; t++) {
        const n = nodes().find((x, j) => x.invalidations > before[j]);
        if (n) {
          if (!byMaster.has(n.address)) byMaster.set(n.address, i);
          break;
        }
        if (t > 2000) throw new Error(`no invalidation of ${key(i)} within 2 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
    }

    const ws = Array.from({ length: workers }, () =>
      new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { handle: near.handle, users } }));
    const ask = (w, msg) => {
      w.postMessage(msg);
      return once(w, 'message').then(([reply]) => reply);
    };
    // Round 1: every worker reads every profile twice (the L1 fills once).
    const reads = await Promise.all(ws.map((w) => ask(w, { do: 'read' })));

    // Another process renames one user per master through its own near cache.
    const renamed = [...byMaster.values()].map(key);
    const before = invalidated.length;
    const writer = fork(new URL('./writer.mjs', import.meta.url), [JSON.stringify({ rootNodes, keys: renamed })], { stdio: 'inherit' });
    const [code] = await once(writer, 'exit');
    if (code !== 0) throw new Error(`the writer process exited with ${code}`);
    // Their invalidations arrive over this process's trackers, one per master.
    for (let t = 0; !renamed.every((k) => invalidated.slice(before).includes(k)); t++) {
      if (t > 2000) throw new Error('invalidations missing after 2 s');
      await new Promise((r) => setTimeout(r, 1));
    }

    // Round 2: every worker reads the renamed users again: the new names.
    const rereads = await Promise.all(ws.map((w) => ask(w, { do: 'reread', keys: renamed })));
    // (Listening for 'exit' first: a worker that closes while another one
    // is still answering would otherwise exit unheard.)
    const exited = ws.map((w) => once(w, 'exit'));
    await Promise.all(ws.map((w) => ask(w, { do: 'close' })));
    await Promise.all(exited);
    return { reads, renamed, rereads, invalidated: invalidated.slice(before), nodes: near.stats().nodes };
  } finally {
    for (let i = 0; i < users; i++) await near.delete(key(i));
    await near.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let cluster;
  let rootNodes = [{ url: process.argv[2] }];
  if (!process.argv[2]) {
    // A throwaway cluster of the machine's redis-server (scripts/redis-cluster.mjs).
    const { startCluster } = await import('../../scripts/redis-cluster.mjs');
    cluster = await startCluster();
    rootNodes = cluster.rootNodes;
    console.log(`started a 3 masters + 3 replicas cluster on ports ${cluster.ports.join(', ')}`);
  }
  try {
    const r = await runNearCacheClusterExample({ rootNodes });
    for (const [w, x] of r.reads.entries()) console.log(`worker ${w}: ${x.l1Hits} L1 hits, ${x.l1Misses} GETs (fills) for ${x.reads} reads`);
    console.log(`renamed by the other process, one per master: ${r.renamed.join(', ')}; invalidated: ${r.invalidated.join(', ')}`);
    for (const [w, x] of r.rereads.entries()) console.log(`worker ${w} reads them again: ${x.values.map((v) => v.name).join(', ')}`);
    for (const n of r.nodes) console.log(`master ${n.address} (slots ${n.slots}): tracker ${n.state}, ${n.invalidations} invalidations`);
  } finally {
    await cluster?.stop();
  }
}
