// The near cache over a Redis Cluster (shardedmap/redis with `cluster`), a
// part of the harness's near-cache section: a 3 masters + 3 replicas
// cluster of our own (scripts/redis-cluster.mjs). Measures the per-get
// cost of an L1 hit against a GET through node-redis's cluster client on
// the same 1K keys; the delay from a write in this process to the key
// leaving another process's L1 (bench/near-cluster-child.mjs); and how
// long the L1 is off after a CLUSTER FAILOVER and after a master is
// killed (SIGKILL) until it serves again (tracking re-armed on the new
// master). Run alone: node bench/near-cluster.mjs [--full]
import { fork } from 'node:child_process';
import { createCluster, RESP_TYPES } from '@redis/client';
import { Packr } from 'msgpackr';
import { createNearCache } from 'shardedmap/redis';
import { startCluster, clusterNodes, on } from '../scripts/redis-cluster.mjs';
import { now, pct, perCall } from './near.mjs';

const KEYS = 1000;
const packr = new Packr({ useRecords: false });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Milliseconds from `event()` starting until `near` serves from its L1
 *  again with a tracker armed on `port` (polled every ms). */
async function offFor(near, port, event) {
  const t = now();
  await event();
  for (;;) {
    const s = near.stats();
    if (s.tracking && s.nodes.some((n) => n.address.endsWith(`:${port}`) && n.state === 'armed')) return now() - t;
    if (now() - t > 30_000) throw new Error(`L1 not serving 30 s after the event (${JSON.stringify(s.nodes)})`);
    await sleep(1);
  }
}

export async function nearClusterBench({ quick = true } = {}) {
  const cluster = await startCluster({ nodeTimeout: 1000 });
  try {
    const near = await createNearCache({ cluster: { rootNodes: cluster.rootNodes }, prefixes: ['k:'], maxEntries: 10_000, topologyInterval: 200 });
    const plain = createCluster({
      rootNodes: cluster.rootNodes,
      defaults: { maintNotifications: 'disabled' },
      topologyRefreshOnReconnectionAttemptStrategy: 100,
      commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
    });
    plain.on('error', () => {});
    await plain.connect();
    for (let i = 0; i < KEYS; i++) await near.set(`k:${i}`, { id: i, name: `user ${i}` });
    await sleep(50); // the writes' invalidations
    for (let i = 0; i < KEYS; i++) await near.get(`k:${i}`); // fill the L1
    const n = quick ? 20_000 : 100_000;
    const ns = {
      l1: await perCall((i) => near.get(`k:${i % KEYS}`), n),
      get: await perCall((i) => plain.get(`k:${i % KEYS}`), quick ? 2_000 : 10_000),
    };
    const inval = await invalidations(cluster.rootNodes, plain, quick ? 500 : 2000);

    // A manual failover: the L1 is off from the moment the creator sees the
    // new master until the tracker there is armed.
    let all = await clusterNodes(cluster.ports[0]);
    let master = all.find((x) => x.master && x.slots.length > 0);
    let replica = all.find((x) => x.masterId === master.id);
    const failover = await offFor(near, replica.port, async () => {
      await on(replica.port, 'CLUSTER', 'FAILOVER');
    });
    // SIGKILL of a master: the cluster's own failure detection (2×
    // cluster-node-timeout, here 1 s) is most of it.
    await sleep(500);
    all = await clusterNodes(replica.port);
    master = all.find((x) => x.master && !x.failed && x.slots.length > 0 && all.some((r) => r.masterId === x.id && !r.failed));
    replica = all.find((x) => x.masterId === master.id && !x.failed);
    const victim = cluster.nodes.find((x) => x.port === master.port);
    const killed = await offFor(near, replica.port, async () => {
      await victim.kill('SIGKILL');
      await sleep(50); // the tracker's connection drops
    });
    await Promise.all([plain.close(), near.close()]);
    return { ns, inval, failoverMs: failover, sigkillMs: killed, nodeTimeoutMs: 1000 };
  } finally {
    await cluster.stop();
  }
}

/** A child process with a near cache over the cluster; this process writes
 *  `n` keys one after another through a plain cluster client; delay from
 *  each SET's issue to its key leaving the child's L1. */
async function invalidations(rootNodes, plain, n) {
  const child = fork(new URL('./near-cluster-child.mjs', import.meta.url), [JSON.stringify({ rootNodes, n })], { execArgv: [] });
  await new Promise((r) => child.once('message', r));
  const issued = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await plain.set(`k:${i % 100}`, packr.pack(i));
    issued.push(t);
    await sleep(1);
  }
  child.send('done');
  const { arrivals } = await new Promise((r) => child.once('message', r));
  // The c-th invalidation of key k is the write of index c * 100 + k (the
  // three masters' pushes may interleave out of write order).
  const seen = new Array(100).fill(0);
  const delays = arrivals.map(([k, t]) => t - issued[seen[k]++ * 100 + k]);
  return { p50: pct(delays, 50), p99: pct(delays, 99), max: pct(delays, 100), count: delays.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await nearClusterBench({ quick: !process.argv.includes('--full') }), null, 2));
}
