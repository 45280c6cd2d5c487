/**
 * The tracking side of the cluster near cache: one BCAST tracker per
 * master of the current topology, re-targeted when the topology changes,
 * and the topology checks that find out (see redis-cluster.ts for what is
 * flushed when). Only the creating instance of a process runs trackers.
 */
import { createClient } from '@redis/client';
import { SOCKET_TIMEOUT_PINGS, reconnectStrategy, redisError, timed, ask, TOPOLOGY_RETRY, MIN_GAP, type Client } from './redis-shared.js';
import type { NearCache, NearCacheHandle, NearCacheClusterOptions, TrackerState, ClusterStatsFields } from './redis-types.js';

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


/** host:port of a rootNodes entry. */
export function address(n: { url?: string; socket?: unknown }): string | undefined {
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
