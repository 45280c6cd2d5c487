/**
 * The near cache over a Redis Cluster: `createNearCache({ cluster, prefixes })`.
 * Same L1, same fill tickets, same API as one server (redis.ts); what
 * differs is where invalidations come from and what can interrupt them.
 *
 * Tracking. Redis pushes an invalidation from the node where the write ran,
 * so the creator keeps one RESP3 tracking connection per master (BCAST
 * NOLOOP on the prefixes), found from `CLUSTER SLOTS`. BCAST is per node
 * and knows nothing of slots: a tracker on a master reports every write to
 * a key under the prefixes on that master, whatever its slot. Data commands
 * (misses, set, delete) go through node-redis's cluster client, which
 * follows MOVED and ASK itself; every instance (the creator and each
 * worker) has its own.
 *
 * What is flushed when (the rule the tests check):
 * - A tracker connection errs, closes or reconnects: the L1 is flushed and
 *   bypassed (every read goes to Redis) until that tracker is armed again
 *   AND every master of the current topology has an armed tracker. Whole L1,
 *   not only the node's slots: simple, and a gap on one node is rare.
 * - The set of masters changes (a failover, a node added or gone): the
 *   same, from the moment the creator sees it until a tracker is armed on
 *   every new master. A write on the new master before its tracker was
 *   armed was pushed to nobody; flushing at arming time removes every copy
 *   older than that.
 * - Only slots moved between masters that were armed all along (a slot
 *   migration): no write can have been missed — the key was written on the
 *   old owner (whose tracker pushed it) or on the new one (whose tracker
 *   was already armed, and BCAST does not care about slots; MIGRATE
 *   deletes on the source and RESTOREs on the target, both pushed). The L1
 *   is flushed anyway (cheap, and it does not rely on this argument) but
 *   stays in use.
 * - FLUSHALL/FLUSHDB on any master (a null invalidation): flushed, as with
 *   one server.
 * Fills keep their tickets: any tracker's invalidation deletes the ticket
 * and every flush bumps the shared epoch, so a fill that started on one
 * node and met an invalidation or a flush from any node installs nothing.
 *
 * How topology changes are seen: a tracker's connection loss (at once:
 * SIGKILL of a master shows here first), a data command that failed in any
 * instance of the process (it bumps a shared word the creator waits on:
 * MOVED storms, "Disconnects client", timeouts), and a periodic
 * `CLUSTER SLOTS` every `topologyInterval` (every 100 ms while some master
 * is not armed), asked of every master whose tracker is up: while their
 * answers differ (gossip has not settled a failover or a slot move), the
 * L1 is off, and the new map is taken once they agree. The window left: after a manual failover and before the
 * next check, writes on the new master reach the old one (now its replica)
 * by replication and its tracker pushes them, a replication lag later.
 */
import { createCluster, RESP_TYPES } from '@redis/client';
import type { ShardedMap } from '../map/map.js';
import { ShardedMapError } from '../base/errors.js';
import { reconnectStrategy, redisError, invalidOption, positive, withTimeout, timed, ask, type Client } from './redis-shared.js';
import type { NearCache, NearCacheHandle, NearCacheOptions, NearCacheClusterOptions } from './redis-types.js';
import { ClusterTrackers, address, type CoherentNear } from './redis-trackers.js';

const DEFAULT_TOPOLOGY_INTERVAL = 1000;
/** node-redis refreshes its slot map this long after a node's first
 *  reconnection attempt (its default, 5 s, left commands going to a dead
 *  master for 5 s). */
const CLUSTER_REFRESH_ON_RECONNECT = 100;
/** What structured clone keeps of the user's options (functions dropped). */
function cloneable(v: unknown): unknown {
  if (typeof v === 'function' || typeof v === 'symbol') return undefined;
  if (Array.isArray(v)) return v.map(cloneable);
  if (v === null || typeof v !== 'object') return v;
  if (Object.getPrototypeOf(v) !== Object.prototype) {
    try {
      return structuredClone(v);
    } catch {
      return undefined;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const c = cloneable(x);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

/** The creator's own cluster options, functions included, by its handle
 *  (the handle carries only what structured clone keeps, for workers). */
const originals = new WeakMap<NearCacheHandle, NearCacheClusterOptions>();

/** An instance's data connection: node-redis's cluster client behind the
 *  one-server `Client` shape; every command answers within commandTimeout
 *  and a failed one asks the creator to look at the topology. */
export async function connectClusterData(handle: NearCacheHandle): Promise<Client> {
  const o = originals.get(handle) ?? handle.cluster!;
  const ms = handle.commandTimeout;
  const state = new Int32Array(handle.topology!);
  const c = createCluster({
    topologyRefreshOnReconnectionAttemptStrategy: CLUSTER_REFRESH_ON_RECONNECT,
    ...o,
    defaults: {
      maintNotifications: 'disabled', // Redis 7.0 refuses it (silently)
      ...o.defaults,
      socket: { reconnectStrategy, connectTimeout: ms, ...o.defaults?.socket } as never,
    },
    commandOptions: { timeout: ms, typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
  });
  c.on('error', () => {}); // reported by the commands that fail
  const run = async <T>(p: () => Promise<T>): Promise<T> => {
    try {
      return await timed(p(), ms);
    } catch (e) {
      ask(state);
      throw e;
    }
  };
  try {
    await withTimeout(c.connect(), ms, 'connect (cluster)');
  } catch (e) {
    c.destroy();
    throw e;
  }
  const client: Client = {
    get isOpen() {
      return c.isOpen;
    },
    get isReady() {
      return c.isReady;
    },
    get: (key) => run(() => c.get(key)),
    pTTL: (key) => run(() => c.pTTL(key)),
    set: (key, value, options) => run(() => c.set(key, value, options)),
    del: (key) => run(() => c.del(key)),
    sendCommand: (args) => run(() => c.sendCommand(args[1], false, args)),
    close: () => c.close(),
    destroy: () => c.destroy(),
  };
  return client;
}

/** The creator's part for a cluster: validate, connect, arm a tracker on
 *  every master. Resolves once all are armed (within commandTimeout). */
export async function createClusterNearCache(
  map: ShardedMap<unknown>, base: NearCacheHandle, options: NearCacheOptions, pingInterval: number,
  onInvalidate: ((key: string | null) => void) | undefined, make: (handle: NearCacheHandle) => CoherentNear,
): Promise<NearCache> {
  const cluster = options.cluster!;
  let roots: string[];
  let topologyInterval: number;
  try {
    if (typeof cluster !== 'object' || cluster === null || !Array.isArray(cluster.rootNodes) || cluster.rootNodes.length === 0) {
      invalidOption('cluster option must be node-redis createCluster options with a non-empty rootNodes array, like { rootNodes: [{ url: "redis://10.0.0.1:7000" }] }');
    }
    roots = cluster.rootNodes.map((n, i) => {
      const a = address(n);
      if (a === undefined) invalidOption(`cluster.rootNodes[${i}] must have a url (redis://host:port) or socket { host, port }`);
      return a;
    });
    topologyInterval = positive(options.topologyInterval, 'topologyInterval', DEFAULT_TOPOLOGY_INTERVAL);
  } catch (e) {
    map.close();
    throw e;
  }
  let near: CoherentNear | undefined;
  try {
    const handle: NearCacheHandle = {
      ...base, url: `redis://${roots[0]}`, cluster: cloneable(cluster) as NearCacheClusterOptions, topology: new SharedArrayBuffer(4),
    };
    originals.set(handle, cluster);
    near = make(handle);
    await near.connect();
    const trackers = new ClusterTrackers(near, handle, cluster, roots, { pingInterval, topologyInterval, onInvalidate });
    near.trackers = trackers;
    await trackers.start();
    return near;
  } catch (e) {
    if (near) await near.close();
    else map.close();
    throw e instanceof ShardedMapError ? e : redisError('connect (cluster)', e);
  }
}
