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
import { createClient, createCluster, RESP_TYPES, type RedisClusterOptions } from '@redis/client';
import type { ShardedMap } from './map.js';
import { ShardedMapError } from './errors.js';
import { SOCKET_TIMEOUT_PINGS, reconnectStrategy, redisError, invalidOption, positive, withTimeout, type Client } from './redis-shared.js';
import type { NearCache, NearCacheHandle, NearCacheOptions } from './redis.js';

/** What the cluster part needs of redis.ts's near cache instance (its L1,
 *  fill tickets and shared coherence words stay there). */
export interface CoherentNear extends NearCache {
  connect(): Promise<void>;
  /** A tracker's invalidation push (null: flush the whole L1). */
  invalidated(key: string | null): void;
  /** The stream of invalidations may have a gap: L1 flushed and off. */
  doubt(): void;
  /** Every master is tracked: L1 flushed and on. */
  open(): void;
  trackers: ClusterTrackers | undefined;
}

/** node-redis `createCluster` options (rootNodes, defaults for every node
 *  connection: credentials, TLS...). `commandOptions` and the RESP version
 *  are the near cache's own. */
export type NearCacheClusterOptions = Omit<RedisClusterOptions, 'commandOptions' | 'RESP'>;

/** The cluster fields of NearCacheOptions. */
export interface ClusterOptionFields {
  /** A Redis Cluster instead of one server (`url` is then not used):
   *  node-redis `createCluster` options, at least `rootNodes: [{ url }]`. */
  cluster?: NearCacheClusterOptions;
  /** Cluster only: milliseconds between two `CLUSTER SLOTS` checks of the
   *  topology (a failover or a slot move is seen within about this, sooner
   *  when a connection drops or a command fails). @default 1000 */
  topologyInterval?: number;
}

/** The cluster fields of a handle: the cluster options workers can use
 *  (what structured clone keeps of them: no functions). */
export interface ClusterHandleFields {
  readonly cluster?: NearCacheClusterOptions;
  /** One Int32 word, bumped (and notified) by an instance whose command
   *  failed: the creator looks at the topology again. */
  readonly topology?: SharedArrayBuffer;
}

/** What the tracker of one master is doing. */
export type TrackerState = 'armed' | 're-arming' | 'lost';

export interface NodeStats {
  /** host:port */
  address: string;
  /** Its slot ranges as `CLUSTER SLOTS` last said ("0-5460 ..."). */
  slots: string;
  state: TrackerState;
  /** Invalidations (keys) this node pushed. */
  invalidations: number;
  /** How many times its tracker was armed (first time included). */
  arms: number;
  /** Whole-L1 flushes this node caused: its tracker lost, it became a
   *  master, its slots changed, or it pushed a flush (FLUSHALL). */
  flushes: number;
}

/** The cluster fields of NearCacheStats (in the creating instance only). */
export interface ClusterStatsFields {
  /** One entry per master of the current topology. */
  nodes?: NodeStats[];
  /** Topology changes seen (slot map differs from the one before). */
  topologyChanges?: number;
}

const DEFAULT_TOPOLOGY_INTERVAL = 1000;
/** While some master is not armed, look at the topology this often: a
 *  failover usually completes within a few hundred ms of its start. */
const TOPOLOGY_RETRY = 100;
/** node-redis refreshes its slot map this long after a node's first
 *  reconnection attempt (its default, 5 s, left commands going to a dead
 *  master for 5 s). */
const CLUSTER_REFRESH_ON_RECONNECT = 100;
/** At least this long between two topology checks (ms): a burst of failed
 *  commands in every worker asks for one check, not hundreds. */
const MIN_GAP = 20;

const ask = (word: Int32Array) => {
  Atomics.add(word, 0, 1);
  Atomics.notify(word, 0);
};

/** A command that answers within `ms`, or an error (not hung). */
function timed<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

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

/** host:port of a rootNodes entry. */
function address(n: { url?: string; socket?: unknown }): string | undefined {
  if (typeof n?.url === 'string') {
    try {
      const u = new URL(n.url);
      return `${u.hostname || '127.0.0.1'}:${u.port || '6379'}`;
    } catch {
      return undefined;
    }
  }
  const s = n?.socket as { host?: string; port?: number } | undefined;
  if (s && typeof s.port === 'number') return `${s.host ?? '127.0.0.1'}:${s.port}`;
  return undefined;
}

/** A slot range and the master serving it. */
interface Range {
  from: number;
  to: number;
  master: string;
}

interface Node {
  address: string;
  client: Client;
  state: TrackerState;
  invalidations: number;
  arms: number;
  flushes: number;
  closing: boolean;
}

/** The creator's tracking connections, one per master, and the topology
 *  they were armed for. */
export class ClusterTrackers {
  readonly #near: CoherentNear;
  readonly #handle: NearCacheHandle;
  readonly #options: NearCacheClusterOptions;
  readonly #roots: string[];
  /** The topology word (handle.topology). */
  readonly #state: Int32Array;
  readonly #pingInterval: number;
  readonly #topologyInterval: number;
  readonly #onInvalidate?: (key: string | null) => void;
  /** Trackers by address (masters of the last topology). */
  readonly #nodes = new Map<string, Node>();
  /** The slot map the trackers follow (CLUSTER SLOTS), and as one string. */
  #ranges: Range[] = [];
  #layout: string | undefined;
  /** How many times that map changed. */
  #changes = 0;
  #closed = false;
  #loop: Promise<void> | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(near: CoherentNear, handle: NearCacheHandle, options: NearCacheClusterOptions, roots: string[],
    o: { pingInterval: number; topologyInterval: number; onInvalidate?: (key: string | null) => void }) {
    this.#near = near;
    this.#handle = handle;
    this.#options = options;
    this.#roots = roots;
    this.#state = new Int32Array(handle.topology!);
    this.#pingInterval = o.pingInterval;
    this.#topologyInterval = o.topologyInterval;
    this.#onInvalidate = o.onInvalidate;
  }

  /** First topology, trackers armed on every master; then the watch loop. */
  async start(): Promise<void> {
    const deadline = Date.now() + this.#handle.commandTimeout;
    for (;;) {
      await this.refresh();
      if (this.#near.tracking) break;
      if (Date.now() > deadline) {
        throw redisError('CLIENT TRACKING (cluster)', new Error(`not armed on every master within ${this.#handle.commandTimeout} ms (${JSON.stringify(this.stats().nodes)})`));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    this.#loop = this.#watch();
  }

  async #watch(): Promise<void> {
    const waitAsync = (Atomics as unknown as { waitAsync: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<string> | string } }).waitAsync;
    while (!this.#closed) {
      const seen = Atomics.load(this.#state, 0);
      const ms = this.#near.tracking ? this.#topologyInterval : TOPOLOGY_RETRY;
      const r = waitAsync(this.#state, 0, seen, ms);
      if (r.async) await r.value;
      if (this.#closed) return;
      try {
        await this.refresh();
      } catch {
        // looked at again next time
      }
      // Failed commands in every instance ask at once: one look per gap.
      await new Promise((r) => setTimeout(r, MIN_GAP));
    }
  }

  /** Ask the cluster for its slot map; on a change, re-target the
   *  trackers (and flush, see the file's comment). One at a time. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const ranges = await this.#clusterSlots();
    if (ranges === undefined || this.#closed) return; // nobody answered: trackers say the rest
    if (ranges === 'disagree') {
      // Changing: the L1 stays off until the masters agree and are armed.
      if (this.#layout !== undefined && this.#near.tracking) this.#near.doubt();
      return;
    }
    const layout = describe(ranges);
    if (layout === this.#layout) return this.#check();
    const first = this.#layout === undefined;
    const before = new Map<string, string>(this.#ranges.map((r) => [`${r.from}-${r.to}`, r.master]));
    const masters = new Set(ranges.map((r) => r.master));
    const mastersChanged = first || masters.size !== this.#nodes.size || [...masters].some((m) => !this.#nodes.has(m));
    this.#layout = layout;
    this.#ranges = ranges;
    if (!first) {
      this.#changes++;
      // Nodes whose slots changed (or that came or went) are the cause.
      const touched = new Set<string>();
      for (const r of ranges) if (before.get(`${r.from}-${r.to}`) !== r.master) touched.add(r.master);
      for (const m of before.values()) if (!masters.has(m) || !ranges.some((r) => r.master === m && before.get(`${r.from}-${r.to}`) === m)) touched.add(m);
      for (const m of touched) {
        const n = this.#nodes.get(m);
        if (n) n.flushes++;
      }
      if (mastersChanged) this.#near.doubt();
      else this.#near.invalidated(null);
    }
    if (mastersChanged) {
      for (const [a, n] of this.#nodes) {
        if (!masters.has(a)) {
          this.#nodes.delete(a);
          void this.#drop(n);
        }
      }
      for (const m of masters) if (!this.#nodes.has(m)) this.#track(m, !first);
    }
    this.#check();
  }

  /** Open the L1 once every master's tracker is armed. */
  #check(): void {
    if (this.#closed || this.#layout === undefined || this.#near.tracking) return;
    for (const n of this.#nodes.values()) if (n.state !== 'armed') return;
    this.#near.open();
  }

  /** `CLUSTER SLOTS` from every master whose tracker is up (they answer
   *  in parallel), else from any node we know. 'disagree': two masters see
   *  different slot maps (a failover or a slot move under way; gossip
   *  settles it within moments). */
  async #clusterSlots(): Promise<Range[] | 'disagree' | undefined> {
    const ms = this.#handle.commandTimeout;
    const ready = [...this.#nodes.values()].filter((n) => n.client.isReady);
    const views = (await Promise.all(ready.map(async (n) => {
      try {
        return parseSlots(await timed(n.client.sendCommand(['CLUSTER', 'SLOTS']), ms), n.address);
      } catch {
        return undefined;
      }
    }))).filter((v) => v !== undefined);
    if (views.length > 0) {
      const first = describe(views[0]!);
      return views.every((v) => describe(v) === first) ? views[0] : 'disagree';
    }
    const known = new Set([...this.#roots, ...this.#ranges.map((r) => r.master)]);
    for (const a of known) {
      if (this.#nodes.get(a)?.client.isReady) continue;
      const c = createClient({ ...this.#nodeOptions(a, false) });
      c.on('error', () => {});
      try {
        await timed(c.connect(), Math.min(ms, 500));
        return parseSlots(await timed(c.sendCommand(['CLUSTER', 'SLOTS']), ms), a);
      } catch {
        // next
      } finally {
        c.destroy();
      }
    }
    return undefined;
  }

  #nodeOptions(a: string, tracking: boolean) {
    // Where the cluster's own address for a node is reached from here
    // (node-redis's nodeAddressMap, for a cluster behind NAT).
    const map = this.#options.nodeAddressMap;
    const mapped = typeof map === 'function' ? map(a) : map?.[a];
    const i = a.lastIndexOf(':');
    const host = mapped?.host ?? a.slice(0, i);
    const port = mapped?.port ?? Number(a.slice(i + 1));
    const d = this.#options.defaults ?? {};
    const ms = this.#handle.commandTimeout;
    return {
      ...d,
      maintNotifications: 'disabled' as const,
      disableOfflineQueue: true,
      socket: {
        ...(d.socket as object),
        host, port,
        connectTimeout: Math.min(ms, 1000),
        ...(tracking ? { reconnectStrategy, socketTimeout: Math.max(SOCKET_TIMEOUT_PINGS * this.#pingInterval, 1000) } : { reconnectStrategy: false as const }),
      },
    };
  }

  /** A tracker on master `a`: RESP3, BCAST on the prefixes, re-armed on
   *  every reconnect; any gap makes the L1 doubt. */
  #track(a: string, becameMaster: boolean): void {
    const c = createClient({ ...this.#nodeOptions(a, true), RESP: 3, emitInvalidate: true, pingInterval: this.#pingInterval });
    const n: Node = { address: a, client: c as unknown as Client, state: 're-arming', invalidations: 0, arms: 0, flushes: becameMaster ? 1 : 0, closing: false };
    this.#nodes.set(a, n);
    const lost = () => {
      if (n.closing) return;
      if (n.state === 'armed') n.flushes++;
      n.state = 'lost';
      this.#near.doubt();
      ask(this.#state);
    };
    c.on('error', lost);
    c.on('end', lost);
    c.on('reconnecting', lost);
    c.on('invalidate', (key: Buffer | null) => {
      if (n.closing) return;
      if (key === null) n.flushes++;
      else n.invalidations++;
      const k = key === null ? null : key.toString();
      this.#near.invalidated(k);
      this.#onInvalidate?.(k);
    });
    c.on('ready', () => {
      n.state = 're-arming';
      void this.#arm(n);
    });
    c.connect().catch(() => {
      // reconnects by itself (reconnectStrategy); 'lost' said so
    });
  }

  async #arm(n: Node): Promise<void> {
    const c = n.client;
    try {
      await c.sendCommand(['CLIENT', 'TRACKING', 'OFF']);
      await c.sendCommand(['CLIENT', 'TRACKING', 'ON', 'BCAST', 'NOLOOP', ...this.#handle.prefixes.flatMap((p) => ['PREFIX', p])]);
    } catch {
      return; // failed again: 'ready' comes back with the connection
    }
    if (n.closing || this.#closed) return;
    n.state = 'armed';
    n.arms++;
    this.#check();
  }

  async #drop(n: Node): Promise<void> {
    n.closing = true;
    try {
      if (n.client.isOpen) await timed(n.client.close(), this.#handle.commandTimeout);
      else n.client.destroy();
    } catch {
      n.client.destroy();
    }
  }

  stats(): ClusterStatsFields {
    return {
      topologyChanges: this.#changes,
      nodes: [...this.#nodes.values()].map((n) => ({
        address: n.address,
        slots: this.#ranges.filter((r) => r.master === n.address).map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(' '),
        state: n.state,
        invalidations: n.invalidations,
        arms: n.arms,
        flushes: n.flushes,
      })),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    ask(this.#state); // wakes the loop
    await Promise.all([...this.#nodes.values()].map((n) => this.#drop(n)));
    this.#nodes.clear();
    await this.#loop;
  }
}

/** A slot map as one string, to compare two. */
function describe(ranges: Range[]): string {
  return ranges.map((r) => `${r.from}-${r.to}@${r.master}`).join(',');
}

/** `CLUSTER SLOTS` → ranges sorted by first slot. A node that does not
 *  know its own address (an empty host) is the one we asked. */
function parseSlots(reply: unknown, asked: string): Range[] {
  if (!Array.isArray(reply)) throw new Error('CLUSTER SLOTS: not an array');
  const askedHost = asked.slice(0, asked.lastIndexOf(':'));
  const out: Range[] = [];
  for (const r of reply as unknown[][]) {
    const m = r[2] as unknown[];
    const host = String(m[0] ?? '') || askedHost;
    out.push({ from: Number(r[0]), to: Number(r[1]), master: `${host}:${Number(m[1])}` });
  }
  if (out.length === 0) throw new Error('CLUSTER SLOTS: no slots (cluster not ready)');
  return out.sort((x, y) => x.from - y.from);
}
