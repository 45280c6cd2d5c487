// shardedmap/redis over a real Redis Cluster of our own (3 masters + 3
// replicas of the machine's redis-server on free loopback ports, stopped by
// pid; scripts/redis-cluster.mjs): two processes of two workers each, one
// near cache per process (cluster-process.mjs). One cluster serves the
// whole file (starting one costs seconds), so the cases run in order and
// each leaves the cluster healthy for the next:
// - the example (examples/near-cache-cluster) runs;
// - bad options are INVALID_OPTION; an unreachable cluster REDIS, in time;
// - writes reach the other process's L1 for keys on every master; no stale
//   read once the invalidation arrived; a naive L1 (a Map) reads stale;
// - a fill's GET reply held back (a proxy in front of one master, through
//   nodeAddressMap) until that master's invalidation arrived installs nothing;
// - FLUSHALL on every master empties every L1;
// - CLIENT KILL of the tracking connections on one master: flushed, re-armed;
// - CLUSTER FAILOVER on a replica, a slot migrated to another master, a
//   node added and given a slot, a master killed with SIGKILL and its
//   replica promoted: during each, every
//   call of every instance resolves or rejects ERR_SHARDEDMAP_REDIS within
//   its bound; after each, the trackers follow the new masters, every L1
//   agrees with Redis (including a write made on the promoted replica the
//   moment it became master, before any tracker there), and new writes to
//   the keys moved reach every L1.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { fork, type ChildProcess } from 'node:child_process';
import { createClient, createCluster, RESP_TYPES } from '@redis/client';
import { createNearCache } from 'shardedmap/redis';
import { Packr } from 'msgpackr';
import { startProxy } from '../helpers/proxy';
// @ts-expect-error: a plain .mjs example without types
import { runNearCacheClusterExample } from '../../examples/near-cache-cluster/main.mjs';
// @ts-expect-error: a plain .mjs helper without types
import { startCluster, clusterNodes, on, until } from '../../scripts/redis-cluster.mjs';

const COMMAND_TIMEOUT = 1500;
const TOPOLOGY_INTERVAL = 200;
/** A get may wait for another caller's fill (commandTimeout), then read
 *  (commandTimeout); plus a loaded machine's slack. */
const CALL_BOUND = 2 * COMMAND_TIMEOUT + 1000;
const REDIS = 'ERR_SHARDEDMAP_REDIS';

interface ClusterNode { id: string; port: number; master: boolean; failed: boolean; masterId?: string; slots: string[] }
interface Cluster {
  ports: number[];
  nodes: { port: number; pid: number; url: string; alive: boolean; kill(signal?: string): Promise<unknown> }[];
  rootNodes: { url: string }[];
  addNode(): Promise<{ port: number; url: string }>;
  stop(): Promise<void>;
}
interface NodeStats { address: string; slots: string; state: string; invalidations: number; arms: number; flushes: number }
interface Stats { tracking: boolean; flushes: number; invalidations: number; topologyChanges?: number; nodes?: NodeStats[] }
interface Load { calls: number; ok: number; errors: Record<string, number>; maxMs: number }

const packr = new Packr({ useRecords: false, moreTypes: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process with a near cache and two workers (three agents). */
class Proc {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(rootNodes: { url: string }[], topologyInterval = TOPOLOGY_INTERVAL) {
    this.child = fork(new URL('../workers/cluster-process.mjs', import.meta.url), [JSON.stringify({ rootNodes, topologyInterval, commandTimeout: COMMAND_TIMEOUT })], { execArgv: [], serialization: 'advanced' });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code) => reject(new Error(`cluster process exited with ${code}`)));
      this.child.on('message', (m: { ready?: boolean; id?: number; result?: unknown; error?: string }) => {
        if (m.ready) return resolve();
        const p = this.#pending.get(m.id!);
        this.#pending.delete(m.id!);
        if (m.error) p?.reject(new Error(m.error));
        else p?.resolve(m.result);
      });
    });
  }

  /** Every op answers within 30 s, or the test fails saying which. */
  call<T>(op: string, args?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer to ${op} ${JSON.stringify(args).slice(0, 200)} within 30 s`));
      }, 30_000);
      this.#pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ id, op, args });
    });
  }

  /** `op` on the creator and both workers: [creator, worker 1, worker 2]. */
  agents<T>(op: string, args?: unknown): Promise<T[]> {
    return this.call('agents', { op, args });
  }

  stats(): Promise<Stats> {
    return this.call('main', { op: 'stats' });
  }

  arrivals(keys: string[]): Promise<{ keys: Record<string, number>; flushes: number }> {
    return this.call('arrivals', { keys });
  }
}

let cluster: Cluster;
let procs: Proc[];
let plain: ReturnType<typeof createCluster>;
/** 48 keys under the prefix: every master owns some. */
const KEYS = Array.from({ length: 48 }, (_, i) => `k:${i}`);
let round = 0;

beforeAll(async () => {
  cluster = await startCluster({ nodeTimeout: 1000 });
  procs = [new Proc(cluster.rootNodes), new Proc(cluster.rootNodes)];
  await Promise.all(procs.map((p) => p.ready));
  plain = createCluster({
    rootNodes: cluster.rootNodes,
    defaults: { maintNotifications: 'disabled', socket: { reconnectStrategy: 50 } as never },
    topologyRefreshOnReconnectionAttemptStrategy: 100,
    commandOptions: { timeout: COMMAND_TIMEOUT, typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
  });
  plain.on('error', () => {});
  await plain.connect();
  for (const k of KEYS) await plainSet(k, { v: 0, k });
}, 60_000);

afterAll(async () => {
  await Promise.all((procs ?? []).map(async (p) => {
    try {
      await Promise.race([p.call('close'), sleep(5000)]);
    } finally {
      p.child.kill('SIGKILL');
    }
  }));
  plain?.destroy();
  await cluster?.stop();
}, 30_000);

/** A plain cluster client's write (msgpack, as near.set writes), retried
 *  through a topology change. */
async function plainSet(key: string, value: unknown): Promise<void> {
  await retry(() => plain.set(key, Buffer.from(packr.pack(value))));
}

async function plainGet(key: string): Promise<unknown> {
  const b = await retry(() => plain.get(key));
  return b === null ? undefined : packr.unpack(b as unknown as Buffer);
}

async function retry<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i === 40) throw e;
      await sleep(100);
    }
  }
}

/** The cluster as a live node sees it. */
async function nodes(): Promise<ClusterNode[]> {
  for (const n of cluster.nodes) {
    if (!n.alive) continue;
    try {
      return await clusterNodes(n.port);
    } catch {
      // next
    }
  }
  throw new Error('no live node answers');
}

async function masterPorts(): Promise<number[]> {
  return (await nodes()).filter((n) => n.master && !n.failed && n.slots.length > 0).map((n) => n.port).sort();
}

async function ownerOf(key: string): Promise<number> {
  const slot = Number(await on(cluster.ports.find((p, i) => cluster.nodes[i]!.alive)!, 'CLUSTER', 'KEYSLOT', key));
  for (const n of await nodes()) {
    if (!n.master || n.failed) continue;
    for (const r of n.slots) {
      const [a, b] = r.split('-').map(Number);
      if (slot >= a! && slot <= (b ?? a!)) return n.port;
    }
  }
  throw new Error(`no master owns slot ${slot}`);
}

/** Both processes armed on exactly the current masters. */
async function settled(): Promise<void> {
  await until(async () => {
    const want = (await masterPorts()).map((p) => `127.0.0.1:${p}`).join(',');
    for (const p of procs) {
      const s = await p.stats();
      const have = (s.nodes ?? []).filter((n) => n.state === 'armed').map((n) => n.address).sort().join(',');
      if (!s.tracking || have !== want || s.nodes!.length !== want.split(',').length) return false;
    }
    return true;
  }, 20_000, 'trackers armed on every master');
}

/** Every agent reads `keys` (the first read of each process fills its L1). */
async function fill(keys: string[]): Promise<void> {
  for (const p of procs) await p.agents('get', { keys });
}

/** What every agent of every process reads now vs what Redis holds:
 *  how many reads differ (stale), and how many calls failed (by code). */
async function compare(keys: string[]): Promise<{ stale: string[]; errors: unknown[] }> {
  const truth = await Promise.all(keys.map(plainGet));
  const stale: string[] = [];
  const errors: unknown[] = [];
  for (const [pi, p] of procs.entries()) {
    const got = await p.agents<unknown[]>('get', { keys });
    const peeked = await p.agents<unknown[]>('peek', { keys });
    got.forEach((vs, a) => vs.forEach((v, i) => {
      if (v && typeof v === 'object' && 'error' in v) errors.push(v);
      else if (JSON.stringify(v) !== JSON.stringify(truth[i])) stale.push(`p${pi}a${a} get ${keys[i]}: ${JSON.stringify(v)} != ${JSON.stringify(truth[i])}`);
    }));
    peeked.forEach((vs, a) => vs.forEach((v, i) => {
      if (v !== undefined && JSON.stringify(v) !== JSON.stringify(truth[i])) stale.push(`p${pi}a${a} peek ${keys[i]}: ${JSON.stringify(v)} != ${JSON.stringify(truth[i])}`);
    }));
  }
  return { stale, errors };
}

/**
 * Write `keys` anew (through process 0's near cache, or a plain cluster
 * client), wait until each process got the invalidation of each key (or a
 * flush), then read them everywhere: returns the stale reads, and the keys
 * whose invalidation never reached a process.
 */
async function writeAndCheck(keys: string[], writer: 'near' | 'plain') {
  const tag = ++round;
  const before = await Promise.all(procs.map((p) => p.arrivals(keys)));
  const values = keys.map((k) => ({ v: tag, k }));
  if (writer === 'near') await procs[0]!.call('main', { op: 'set', args: { pairs: keys.map((k, i) => [k, values[i]]) } });
  else for (const [i, k] of keys.entries()) await plainSet(k, values[i]);
  const missing: string[] = [];
  const arrived = async () => {
    missing.length = 0;
    for (const [pi, p] of procs.entries()) {
      const a = await p.arrivals(keys);
      if (a.flushes > before[pi]!.flushes) continue;
      for (const k of keys) if (a.keys[k]! <= before[pi]!.keys[k]!) missing.push(`p${pi} ${k}`);
    }
    return missing.length === 0;
  };
  await until(arrived, 5000, 'invalidations').catch(() => {});
  return { ...(await compare(keys)), missing: [...missing] };
}

/**
 * Write `keys` straight on `port` the moment it is a master (a replica
 * answers MOVED): so the write lands in the window between the promotion
 * and the near caches arming a tracker there, which no tracker reports.
 * Only a near cache that flushed on the change reads it right afterwards.
 */
async function writeOnPromotion(port: number, keys: string[]): Promise<void> {
  const tag = ++round;
  const c = createClient({ url: `redis://127.0.0.1:${port}`, maintNotifications: 'disabled', socket: { reconnectStrategy: 20 } });
  c.on('error', () => {});
  await c.connect();
  try {
    const end = Date.now() + 20_000;
    for (;;) {
      try {
        await c.set(keys[0]!, Buffer.from(packr.pack({ v: tag, k: keys[0] })));
        break;
      } catch (e) {
        if (Date.now() > end) throw e;
        await sleep(5);
      }
    }
    for (const k of keys.slice(1)) await c.set(k, Buffer.from(packr.pack({ v: tag, k })));
  } finally {
    c.destroy();
  }
}

/** Move `slot` from master `from` to master `to` as redis-cli --cluster
 *  reshard does: IMPORTING on the target, MIGRATING on the source, MIGRATE
 *  the keys, then SETSLOT NODE on the target, the source and the others. */
async function migrateSlot(slot: number, from: ClusterNode, to: ClusterNode, all: ClusterNode[]): Promise<void> {
  // A node just added may not know yet, from gossip, that `from` is a
  // master ("Please use SETSLOT only with masters"): a few tries.
  await retry(() => on(to.port, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id));
  await retry(() => on(from.port, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id));
  for (let i = 0; ; i++) {
    const inSlot = (await on(from.port, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100')).split('\n').filter(Boolean);
    if (inSlot.length === 0) break;
    if (i === 20) throw new Error(`slot ${slot}: keys still on the source: ${inSlot.join(' ')}`);
    await on(from.port, 'MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...inSlot);
  }
  for (const n of [to, from, ...all.filter((x) => x.master && !x.failed && x.id !== to.id && x.id !== from.id)]) {
    await on(n.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
  }
}

/** Load (reads, and a write every 5th call) on `keys` in every agent of
 *  both processes while `event` runs. */
async function during(keys: string[], ms: number, event: () => Promise<void>, writeEvery = 5): Promise<Load[]> {
  const loads = procs.map((p) => p.agents<Load>('load', { keys, ms, writeEvery, tag: round }));
  await sleep(200);
  await event();
  return (await Promise.all(loads)).flat();
}

function expectTyped(loads: Load[]): void {
  for (const l of loads) {
    for (const code of Object.keys(l.errors)) expect(code).toBe(REDIS);
    expect(l.maxMs).toBeLessThan(CALL_BOUND);
    expect(l.calls).toBeGreaterThan(0);
  }
}

describe('near cache over a Redis Cluster', () => {
  it('the example (examples/near-cache-cluster): workers share one L1; a rename on each master from another process reaches them', async () => {
    const users = 60;
    const r = await runNearCacheClusterExample({ rootNodes: cluster.rootNodes, workers: 2, users });
    for (const w of r.reads) expect(w.reads).toBe(2 * users);
    expect(r.reads.reduce((s: number, w: { l1Misses: number }) => s + w.l1Misses, 0)).toBe(users);
    expect(r.renamed.length).toBe(3);
    expect(r.invalidated).toEqual(expect.arrayContaining(r.renamed));
    for (const x of r.rereads) expect(x.values.map((v: { name: string }) => v.name)).toEqual(r.renamed.map((k: string) => `user ${k.split(':')[2]} (renamed)`));
    expect(r.nodes.map((n: { state: string }) => n.state)).toEqual(['armed', 'armed', 'armed']);
  });

  it('bad cluster options: INVALID_OPTION; no reachable node: ERR_SHARDEDMAP_REDIS within commandTimeout', async () => {
    await expect(createNearCache({ cluster: {} as never, prefixes: ['k:'] })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    await expect(createNearCache({ cluster: { rootNodes: [] }, prefixes: ['k:'] })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    await expect(createNearCache({ cluster: { rootNodes: [{ url: 'nonsense' }] }, prefixes: ['k:'] })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    await expect(createNearCache({ cluster: { rootNodes: cluster.rootNodes }, prefixes: ['k:'], topologyInterval: -1 })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    const t = Date.now();
    // Nothing listens on port 1.
    await expect(createNearCache({ cluster: { rootNodes: [{ url: 'redis://127.0.0.1:1' }] }, prefixes: ['k:'], commandTimeout: 500 })).rejects.toMatchObject({ code: REDIS });
    expect(Date.now() - t).toBeLessThan(500 + 1000);
  });

  it('a write in one process, or by a plain cluster client, reaches the other process\'s L1 for keys on every master; a naive L1 reads stale', async () => {
    const owners = await Promise.all(KEYS.map(ownerOf));
    expect(new Set(owners).size).toBe(3);
    await settled();
    await fill(KEYS);
    // The L1s serve now (peek answers without Redis).
    for (const p of procs) for (const vs of await p.agents<unknown[]>('peek', { keys: KEYS })) expect(vs.filter((v) => v !== undefined).length).toBe(KEYS.length);
    const naive = new Map<string, unknown>();
    for (const k of KEYS) naive.set(k, await plainGet(k));

    const a = await writeAndCheck(KEYS, 'near');
    expect(a.missing).toEqual([]);
    expect(a.stale).toEqual([]);
    expect(a.errors).toEqual([]);
    await fill(KEYS);
    const b = await writeAndCheck(KEYS, 'plain');
    expect(b.missing).toEqual([]);
    expect(b.stale).toEqual([]);
    // The control: a Map filled the same way and never invalidated.
    let naiveStale = 0;
    for (const k of KEYS) if (JSON.stringify(naive.get(k)) !== JSON.stringify(await plainGet(k))) naiveStale++;
    expect(naiveStale).toBe(KEYS.length);
    // Each master's tracker delivered some of them, in each process.
    for (const p of procs) for (const n of (await p.stats()).nodes!) expect(n.invalidations).toBeGreaterThan(0);
  });

  it('per node, a fill whose GET reply arrives after an invalidation of its key installs nothing', async () => {
    // The key's master is reached through a proxy (nodeAddressMap) that
    // holds the fill's GET reply until another client wrote the key and
    // the master's tracker delivered the invalidation.
    const key = 'k:race';
    const port = await ownerOf(key);
    const proxy = await startProxy(port);
    const other = cluster.nodes.find((n) => n.alive && n.port !== port)!;
    let invalidated = 0;
    const near = await createNearCache({
      cluster: { rootNodes: [{ url: other.url }], nodeAddressMap: { [`127.0.0.1:${port}`]: { host: '127.0.0.1', port: proxy.port } } },
      prefixes: ['k:'],
      onInvalidate: (k) => (k === key ? invalidated++ : 0),
    });
    try {
      expect(proxy.connections).toBe(2); // 0: data (connected first), 1: that master's tracker
      await plainSet(key, 'old');
      await until(() => invalidated === 1, 5000);
      proxy.hold(0);
      const pending = near.get(key);
      await until(() => proxy.held(0) > 0, 5000);
      await plainSet(key, 'new');
      await until(() => invalidated === 2, 5000);
      proxy.release(0);
      expect(await pending).toBe('old'); // what Redis said when the GET ran
      expect(near.stats()).toMatchObject({ fills: 0, fillsDropped: 1 });
      expect(await near.get(key)).toBe('new');
      expect(near.peek(key)).toBe('new');
    } finally {
      await near.close();
      await proxy.close();
    }
  });

  it('FLUSHALL on every master empties every L1', async () => {
    await fill(KEYS);
    const before = await Promise.all(procs.map((p) => p.stats()));
    for (const port of await masterPorts()) await on(port, 'FLUSHALL');
    await until(async () => {
      const now = await Promise.all(procs.map((p) => p.stats()));
      return now.every((s, i) => s.flushes >= before[i]!.flushes + 3);
    }, 5000, 'flushes');
    for (const p of procs) for (const vs of await p.agents<unknown[]>('peek', { keys: KEYS })) expect(vs.every((v) => v === undefined)).toBe(true);
    for (const p of procs) for (const vs of await p.agents<unknown[]>('get', { keys: KEYS })) expect(vs.every((v) => v === undefined)).toBe(true);
    for (const k of KEYS) await plainSet(k, { v: 0, k });
  });

  it('CLIENT KILL of the tracking connections on a master flushes the L1 and re-arms them', async () => {
    await settled();
    await fill(KEYS);
    const port = (await masterPorts())[0]!;
    const before = await Promise.all(procs.map((p) => p.stats()));
    const list = await on(port, 'CLIENT', 'LIST');
    const trackers = list.split('\n').filter((l: string) => /flags=\S*t/.test(l)).map((l: string) => /id=(\d+)/.exec(l)![1]);
    expect(trackers.length).toBe(2); // one per process
    for (const id of trackers) await on(port, 'CLIENT', 'KILL', 'ID', id);
    await until(async () => {
      const now = await Promise.all(procs.map((p) => p.stats()));
      return now.every((s, i) => s.flushes > before[i]!.flushes && s.tracking
        && s.nodes!.find((n) => n.address.endsWith(`:${port}`))!.arms === 2);
    }, 10_000, 're-armed');
    // Flushed: nothing cached from before the kill.
    for (const p of procs) for (const vs of await p.agents<unknown[]>('peek', { keys: KEYS })) expect(vs.every((v) => v === undefined)).toBe(true);
    for (const s of await Promise.all(procs.map((p) => p.stats()))) {
      expect(s.nodes!.find((n) => n.address.endsWith(`:${port}`))!.flushes).toBeGreaterThan(0);
    }
    await fill(KEYS);
    const r = await writeAndCheck(KEYS, 'plain');
    expect(r.missing).toEqual([]);
    expect(r.stale).toEqual([]);
  });

  it('CLUSTER FAILOVER on a replica: calls typed or successful; trackers follow the new master; no stale read', async () => {
    await settled();
    const all = await nodes();
    const master = all.find((n) => n.master && n.slots.length > 0)!;
    const replica = all.find((n) => n.masterId === master.id)!;
    const keys: string[] = [];
    for (const k of KEYS) if ((await ownerOf(k)) === master.port) keys.push(k);
    await fill(KEYS);
    const loads = await during(keys, 2000, async () => {
      await on(replica.port, 'CLUSTER', 'FAILOVER');
      await writeOnPromotion(replica.port, keys);
    });
    console.log('FAILOVER: loads', JSON.stringify(loads));
    expectTyped(loads);
    await settled();
    const c = await compare(KEYS);
    expect(c.stale).toEqual([]);
    const r = await writeAndCheck(keys, 'plain');
    expect(r.missing).toEqual([]);
    expect(r.stale).toEqual([]);
    for (const s of await Promise.all(procs.map((p) => p.stats()))) {
      expect(s.topologyChanges).toBeGreaterThan(0);
      const n = s.nodes!.find((x) => x.address.endsWith(`:${replica.port}`))!;
      expect(n.state).toBe('armed');
      expect(n.flushes).toBeGreaterThan(0);
      expect(n.invalidations).toBeGreaterThan(0);
    }
  });

  it('a slot migrated to another master (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE): no stale read; writes on the new owner reach every L1', async () => {
    await settled();
    const keys = Array.from({ length: 6 }, (_, i) => `k:{moved}:${i}`);
    for (const k of keys) await plainSet(k, { v: 0, k });
    const slot = Number(await on(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', keys[0]!));
    const all = await nodes();
    const from = all.find((n) => n.master && !n.failed && n.slots.some((r) => {
      const [a, b] = r.split('-').map(Number);
      return slot >= a! && slot <= (b ?? a!);
    }))!;
    const to = all.find((n) => n.master && !n.failed && n.slots.length > 0 && n.id !== from.id)!;
    await fill([...keys, ...KEYS]);
    const loads = await during(keys, 1500, () => migrateSlot(slot, from, to, all));
    console.log('MIGRATION: loads', JSON.stringify(loads));
    expectTyped(loads);
    expect(await ownerOf(keys[0]!)).toBe(to.port);
    await settled();
    const c = await compare([...keys, ...KEYS]);
    expect(c.stale).toEqual([]);
    await fill(keys);
    const before = await Promise.all(procs.map((p) => p.stats()));
    const r = await writeAndCheck(keys, 'plain');
    expect(r.missing).toEqual([]);
    expect(r.stale).toEqual([]);
    // The new owner's tracker said so.
    const after = await Promise.all(procs.map((p) => p.stats()));
    after.forEach((s, i) => {
      const n = s.nodes!.find((x) => x.address.endsWith(`:${to.port}`))!;
      const b = before[i]!.nodes!.find((x) => x.address.endsWith(`:${to.port}`))!;
      expect(n.invalidations - b.invalidations).toBeGreaterThanOrEqual(keys.length);
    });
  });

  it('a new master (a node added, then given a slot): the L1 is flushed until it is tracked; no stale read; its writes reach every L1', async () => {
    await settled();
    const keys = Array.from({ length: 6 }, (_, i) => `k:{new}:${i}`);
    for (const k of keys) await plainSet(k, { v: 0, k });
    const slot = Number(await on(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', keys[0]!));
    // A third process whose near cache looks at the topology only when
    // asked (as after a failed command), so the window between the change
    // and its detection is as long as the test wants.
    const solo = new Proc(cluster.rootNodes, 600_000);
    await solo.ready;
    const peek = async () => (await solo.agents<unknown[]>('peek', { keys })).flat();
    let added: { port: number; url: string };
    try {
      added = await cluster.addNode();
      const all = await nodes();
      const to = all.find((n) => n.port === added.port)!;
      const from = all.find((n) => n.master && !n.failed && n.slots.some((r) => {
        const [a, b] = r.split('-').map(Number);
        return slot >= a! && slot <= (b ?? a!);
      }))!;
      await migrateSlot(slot, from, to, all);
      // At once, before the near caches see the new master: every agent reads
      // the keys (filled from the new owner), then they are written straight
      // on it, which no tracker reports. Only a flush when the new master is
      // armed keeps those fills from being served afterwards.
      await fill(keys);
      await solo.agents('get', { keys });
      const tag = ++round;
      const direct = createClient({ url: added.url, maintNotifications: 'disabled' });
      await direct.connect();
      for (const k of keys) await direct.set(k, Buffer.from(packr.pack({ v: tag, k })));
      direct.destroy();
      // The window is real: before the check, the solo L1 serves what it
      // filled from the new master, whose writes no tracker reports.
      expect(await peek()).toEqual([0, 1, 2].flatMap(() => keys.map((k) => ({ v: 0, k }))));
      await solo.call('refresh');
      await until(async () => {
        const st = await solo.stats();
        return st.tracking && st.nodes!.some((n) => n.address.endsWith(`:${added.port}`) && n.state === 'armed');
      }, 10_000, 'solo armed on the new master');
      expect(await peek()).toEqual([0, 1, 2].flatMap(() => keys.map(() => undefined)));
      for (const vs of await solo.agents<unknown[]>('get', { keys })) expect(vs).toEqual(keys.map((k) => ({ v: tag, k })));
      expect((await solo.stats()).nodes!.find((n) => n.address.endsWith(`:${added.port}`))).toMatchObject({ state: 'armed', slots: String(slot) });
    } finally {
      await Promise.race([solo.call('close'), sleep(5000)]).catch(() => {});
      solo.child.kill('SIGKILL');
    }
    await settled();
    const c = await compare([...keys, ...KEYS]);
    expect(c.stale).toEqual([]);
    expect(c.errors).toEqual([]);
    await fill(keys);
    const r = await writeAndCheck(keys, 'plain');
    expect(r.missing).toEqual([]);
    expect(r.stale).toEqual([]);
    for (const s of await Promise.all(procs.map((p) => p.stats()))) {
      const n = s.nodes!.find((x) => x.address.endsWith(`:${added.port}`))!;
      expect(n).toMatchObject({ state: 'armed', slots: String(slot) });
      expect(n.flushes).toBeGreaterThan(0);
    }
  });

  it('a master killed with SIGKILL and its replica promoted: calls typed or successful; trackers follow; no stale read', async () => {
    await settled();
    const all = await nodes();
    const master = all.find((n) => n.master && !n.failed && n.slots.length > 0 && all.some((r) => r.masterId === n.id && !r.failed))!;
    const replica = all.find((n) => n.masterId === master.id && !n.failed)!;
    const keys: string[] = [];
    for (const k of KEYS) if ((await ownerOf(k)) === master.port) keys.push(k);
    await fill(KEYS);
    const victim = cluster.nodes.find((n) => n.port === master.port)!;
    // Reads only during the event: the last writes to these keys are the
    // ones made right at the promotion.
    let lost = 0;
    const loads = await during(keys, 4000, async () => {
      await victim.kill('SIGKILL');
      // Each process sees its tracker there drop: the L1 is off (bypassed).
      await until(async () => {
        const s = await Promise.all(procs.map((p) => p.stats()));
        return s.every((x) => !x.tracking && x.nodes!.find((n) => n.address.endsWith(`:${master.port}`))?.state === 'lost');
      }, 5000, 'tracker lost').then(() => lost++, () => {});
      await writeOnPromotion(replica.port, keys);
    }, 0);
    expect(lost).toBe(1);
    console.log('SIGKILL: loads', JSON.stringify(loads));
    expectTyped(loads);
    await settled();
    const c = await compare(KEYS);
    expect(c.stale).toEqual([]);
    const r = await writeAndCheck(keys, 'plain');
    expect(r.missing).toEqual([]);
    expect(r.stale).toEqual([]);
    for (const s of await Promise.all(procs.map((p) => p.stats()))) {
      expect(s.nodes!.some((n) => n.address.endsWith(`:${master.port}`))).toBe(false);
      expect(s.nodes!.find((n) => n.address.endsWith(`:${replica.port}`))!.state).toBe('armed');
    }
  });
});
