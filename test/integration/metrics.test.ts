// shardedmap/prometheus: the example's /metrics scrape shows the map's shape
// and what its workers counted (their instances have closed: their counts
// live on in the map's totals).
import { describe, it, expect } from 'vitest';
import { Registry } from 'prom-client';
import { ShardedMap } from 'shardedmap';
import { collectMetrics } from 'shardedmap/prometheus';
// @ts-expect-error: a plain .mjs example without types
import { startMetricsExample } from '../../examples/metrics/server.mjs';

/** The samples of a Prometheus text exposition, by name (labels ignored). */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out.set(m[1]!, m[3] === '+Inf' ? Infinity : Number(m[3]));
  }
  return out;
}

describe('prometheus metrics', () => {
  it('the example scrape reports entries, memory and every worker\'s counts', async () => {
    const ex = await startMetricsExample({ port: 0, workers: 2, keys: 1000 });
    try {
      const res = await fetch(ex.url);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('shardedmap_entries{map="example"} 2000');
      const m = parse(text);
      expect(m.get('shardedmap_entries')).toBe(2000);
      expect(m.get('shardedmap_stores_total')).toBe(2000);
      expect(m.get('shardedmap_hits_total')).toBe(ex.hits);
      expect(ex.hits).toBe(2000);
      expect(m.get('shardedmap_misses_total')).toBe(2000);
      expect(m.get('shardedmap_attached_instances')).toBe(1); // the workers closed
      expect(m.get('shardedmap_memory_committed_bytes')).toBe(ex.map.memoryBytes);
      expect(m.get('shardedmap_load_factor')).toBeGreaterThan(0);
      expect(m.get('shardedmap_max_probe_groups')).toBeGreaterThanOrEqual(1);
      expect(m.get('shardedmap_faults_total')).toBe(0);
      expect(m.get('shardedmap_resizes_total')).toBeGreaterThan(0);
      // A second scrape sees new counts.
      ex.map.load('w0:1');
      expect(parse(await (await fetch(ex.url)).text()).get('shardedmap_hits_total')).toBe(2001);
    } finally {
      await ex.close();
    }
  });

  it('two maps in one registry, told apart by prefixes; a clash or bad options register nothing and throw typed errors; unregister removes them', async () => {
    const registry = new Registry();
    const a = await ShardedMap.create({ shards: 2 });
    const b = await ShardedMap.create({ shards: 2 });
    a.store('x', 1);
    const ma = collectMetrics(a, { registry, prefix: 'a_' });
    const mb = collectMetrics(b, { registry, prefix: 'b_' });
    const m = parse(await registry.metrics());
    expect(m.get('a_entries')).toBe(1);
    expect(m.get('b_entries')).toBe(0);
    // A clash registers nothing (all or nothing) and says which name.
    const before = await registry.getMetricsAsJSON();
    expect(() => collectMetrics(a, { registry, prefix: 'a_' })).toThrow(
      expect.objectContaining({ name: 'ShardedMapRangeError', code: 'ERR_SHARDEDMAP_INVALID_OPTION', message: expect.stringMatching(/a_entries has already been registered/) }),
    );
    expect((await registry.getMetricsAsJSON()).length).toBe(before.length);
    // Bad options are typed errors with stable codes, checked before anything is registered.
    const bad: [unknown, unknown, string][] = [
      [a, { registry, prefix: '1bad' }, 'ERR_SHARDEDMAP_INVALID_OPTION'],
      [a, { registry, prefix: 'c_', labels: { 'bad-label': 'x' } }, 'ERR_SHARDEDMAP_INVALID_OPTION'],
      [a, { registry, prefix: 'c_', labels: { map: 1 } }, 'ERR_SHARDEDMAP_INVALID_OPTION'],
      [a, null, 'ERR_SHARDEDMAP_INVALID_OPTION'],
      [a, { registry: {}, prefix: 'c_' }, 'ERR_SHARDEDMAP_INVALID_OPTION'],
      [{}, { registry, prefix: 'c_' }, 'ERR_SHARDEDMAP_INVALID_ARGUMENT'],
    ];
    for (const [m, o, code] of bad) {
      expect(() => collectMetrics(m as typeof a, o as object)).toThrow(expect.objectContaining({ name: 'ShardedMapTypeError', code }));
    }
    expect((await registry.getMetricsAsJSON()).length).toBe(before.length);
    ma.unregister();
    mb.unregister();
    expect(await registry.metrics()).toBe('\n');
  });

  it('a cache adds its bytes and bounds; evictions, expirations and fetches are counted', async () => {
    const registry = new Registry();
    let t = 1_800_000_000_000;
    const cache = await ShardedMap.create({ maxEntries: 100, shards: 1, ttl: 10, clock: () => t });
    for (let i = 0; i < 300; i++) cache.set(`k${i}`, i);
    t += 20;
    cache.purgeStale();
    await cache.fetch('f', async () => 'v');
    const metrics = collectMetrics(cache, { registry });
    const m = parse(await registry.metrics());
    expect(m.get('shardedmap_cache_max_entries')).toBe(100);
    expect(m.get('shardedmap_cache_max_bytes')).toBe(Infinity);
    expect(m.get('shardedmap_cache_bytes')).toBe(cache.stats().cache!.bytes);
    expect(m.get('shardedmap_evictions_total')).toBe(200);
    expect(m.get('shardedmap_expirations_total')).toBe(100);
    expect(m.get('shardedmap_fetch_loads_total')).toBe(1);
    metrics.unregister();
    cache.close();
  });
});
