/**
 * `shardedmap/prometheus`: a prom-client collector for a ShardedMap, so an
 * operator can see the map: its shape (entries, memory, load factor, probe
 * lengths, tombstones, heap bytes, attached instances) read from shared
 * memory, and what every instance counted (hits, misses, stores, deletes,
 * read retries, lock waits and timeouts, resizes, released owners, faults,
 * cache evictions and expirations, fetch loads and waits). Counting costs
 * the workers nothing shared: each counts in its own scratch area and a
 * scrape sums them (`map.stats()`).
 *
 * prom-client is an optional peer dependency: only this export needs it.
 */
import { Counter, Gauge, register as defaultRegistry, type Registry } from 'prom-client';
import type { ShardedMap } from '../map/map.js';
import type { Counters, MapStats } from '../map/map.js';
import { ErrorCode, ShardedMapRangeError, ShardedMapTypeError } from '../base/errors.js';

/** Options of `collectMetrics`. */
export interface MetricsOptions {
  /** The registry to register the metrics in. @default prom-client's global `register` */
  registry?: Registry;
  /** Prefix of every metric name. @default 'shardedmap_' */
  prefix?: string;
  /** Constant labels on every sample, e.g. `{ map: 'sessions' }` to tell
   *  several maps apart. @default {} */
  labels?: Record<string, string>;
}

/** What `collectMetrics` returns. */
export interface MapMetrics {
  /** The metric names registered. */
  readonly names: string[];
  /** Remove them from the registry. */
  unregister(): void;
}

/** Prometheus's metric and label name rules (a prefix is a name's start). */
const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** The faults counter's name (after the prefix). */
const FAULTS = 'faults_total';

const GAUGES: [string, string, (s: MapStats) => number][] = [
  ['entries', 'Live entries in the map.', (s) => s.entries],
  ['attached_instances', 'Instances attached to the map now (workers, creator).', (s) => s.attached],
  ['memory_committed_bytes', 'Bytes of shared memory the map holds (grows, never shrinks).', (s) => s.memoryBytes],
  ['memory_used_bytes', 'Bytes of that memory in use (the rest is free for reuse).', (s) => s.usedBytes],
  ['table_bytes', 'Bytes of all shard tables and heaps.', (s) => s.tableBytes],
  ['slots', 'Slots of all shard tables.', (s) => s.slots],
  ['load_factor', 'Entries per slot (tables are rebuilt past 7/8, tombstones included).', (s) => s.loadFactor],
  ['tombstones', 'Deleted slots that probes still go past until the next rebuild.', (s) => s.tombstones],
  ['heap_live_bytes', 'Heap bytes of live entries too long for a cell.', (s) => s.heapLiveBytes],
  ['heap_dead_bytes', 'Heap bytes of dead entries not yet compacted.', (s) => s.heapDeadBytes],
  ['max_probe_groups', 'Longest probe of any key, in groups of 16 slots (1 = its first group).', (s) => s.maxProbe],
];

/** Cache maps only. */
const CACHE_GAUGES: [string, string, (s: MapStats) => number][] = [
  ['cache_bytes', 'Key + value bytes of live entries (what maxBytes bounds).', (s) => s.cache?.bytes ?? 0],
  ['cache_max_entries', 'The cache\'s maxEntries (+Inf: none).', (s) => s.cache?.maxEntries ?? Infinity],
  ['cache_max_bytes', 'The cache\'s maxBytes (+Inf: none).', (s) => s.cache?.maxBytes ?? Infinity],
];

const COUNTERS: [string, string, keyof Counters][] = [
  ['hits_total', 'Reads that found their key.', 'hits'],
  ['misses_total', 'Reads that did not find their key.', 'misses'],
  ['stores_total', 'Writes that stored a value.', 'stores'],
  ['deletes_total', 'Deletes that removed a key.', 'deletes'],
  ['read_retries_total', 'Optimistic reads retried because a writer was changing the shard.', 'readRetries'],
  ['lock_waits_total', 'Calls that found a lock held and slept on it.', 'lockWaits'],
  ['lock_timeouts_total', 'Lock waits that ended in a LockTimeoutError.', 'lockTimeouts'],
  ['resizes_total', 'Table rebuilds (growth, shrinking, compaction into a new region).', 'resizes'],
  ['released_owners_total', 'Dead instances released (release, watch).', 'releasedOwners'],
  ['evictions_total', 'Entries evicted to stay within maxEntries / maxBytes.', 'evictions'],
  ['expirations_total', 'Entries dropped because their ttl passed.', 'expirations'],
  ['fetch_loads_total', 'fetch() calls that ran their loader.', 'fetchLoads'],
  ['fetch_waits_total', "fetch() calls that waited for another caller's loader.", 'fetchWaits'],
  ['fetch_errors_total', 'Loaders that failed (rejected, threw or timed out).', 'fetchErrors'],
  ['stale_hits_total', 'fetch() calls that returned a stale value (stale-while-revalidate, stale-if-error).', 'staleHits'],
  ['stale_refreshes_total', 'Background refreshes run for stale-while-revalidate.', 'staleRefreshes'],
];

/**
 * Register gauges and counters for `map` in a prom-client registry. Each
 * scrape calls `map.stats()` once (it takes each shard's lock briefly).
 * Metric names and meanings: docs/api.md, "Metrics".
 */
export function collectMetrics(map: ShardedMap<unknown>, options: MetricsOptions = {}): MapMetrics {
  if (typeof (map as { stats?: unknown } | null)?.stats !== 'function') {
    throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, 'collectMetrics: the first argument must be a ShardedMap');
  }
  if (typeof options !== 'object' || options === null) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'collectMetrics: options must be an object like { registry, prefix, labels }');
  }
  const registry = options.registry ?? defaultRegistry;
  const prefix = options.prefix ?? 'shardedmap_';
  const labels = options.labels ?? {};
  if (typeof (registry as { getSingleMetric?: unknown } | null)?.getSingleMetric !== 'function') {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'collectMetrics: registry must be a prom-client Registry');
  }
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, `collectMetrics: prefix must be a valid metric name prefix, got ${String(prefix)}`);
  }
  if (typeof labels !== 'object' || labels === null ||
      !Object.entries(labels).every(([k, v]) => LABEL_NAME.test(k) && typeof v === 'string')) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'collectMetrics: labels must be an object of label names to strings, like { map: \'sessions\' }');
  }
  const metricNames = [...(map.isCache ? [...GAUGES, ...CACHE_GAUGES] : GAUGES), [FAULTS], ...COUNTERS]
    .map(([name]) => prefix + name);
  // All or nothing: a name already in the registry (the same map, or
  // another with the same prefix and no telling labels) registers none.
  const taken = metricNames.find((n) => registry.getSingleMetric(n) !== undefined);
  if (taken !== undefined) {
    throw new ShardedMapRangeError(ErrorCode.INVALID_OPTION, `collectMetrics: a metric named ${taken} has already been registered in this registry; give this map another prefix`);
  }
  const labelNames = Object.keys(labels);
  // A scrape reads map.stats() once: prom-client runs every collector of
  // one scrape synchronously, one after the other, so a snapshot lives until
  // the next microtask.
  let snapshot: MapStats | undefined;
  const stats = (): MapStats => {
    if (!snapshot) {
      snapshot = map.stats();
      queueMicrotask(() => (snapshot = undefined));
    }
    return snapshot;
  };
  const names: string[] = [];
  for (const [name, help, read] of map.isCache ? [...GAUGES, ...CACHE_GAUGES] : GAUGES) {
    names.push(prefix + name);
    new Gauge({
      name: prefix + name, help, labelNames, registers: [registry],
      collect() {
        this.set(labels, read(stats()));
      },
    });
  }
  names.push(prefix + FAULTS);
  new Counter({
    name: prefix + FAULTS, help: 'Internal errors (Wasm traps or aborts, each repaired) any instance hit.',
    labelNames, registers: [registry],
    collect() {
      this.reset();
      this.inc(labels, stats().faults);
    },
  });
  for (const [name, help, key] of COUNTERS) {
    names.push(prefix + name);
    new Counter({
      name: prefix + name, help, labelNames, registers: [registry],
      // A counter's value is the instances' running total: set it by
      // resetting and adding (prom-client counters have no set).
      collect() {
        this.reset();
        this.inc(labels, stats().counters[key]);
      },
    });
  }
  return {
    names,
    unregister() {
      for (const n of names) registry.removeSingleMetric(n);
    },
  };
}
