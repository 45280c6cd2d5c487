// The near-cache example (examples/near-cache) against a redis-server of our
// own: two workers share one L1 (each profile is fetched from Redis once,
// every other read is an L1 hit), and a write from another process reaches
// them through the invalidation (they read the new value, not the cached
// one).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
// @ts-expect-error: a plain .mjs example without types
import { runNearCacheExample } from '../../examples/near-cache/main.mjs';
// @ts-expect-error: a plain .mjs helper without types
import { startRedis } from '../../scripts/redis-server.mjs';

interface Report {
  reads: { reads: number; l1Hits: number; l1Misses: number }[];
  rereads: { value: { id: number; name: string } }[];
  invalidated: string[];
}

let redis: { url: string; stop(): Promise<void> };
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('near-cache example', () => {
  it('two workers share one L1; another process\'s write reaches them by invalidation', async () => {
    const users = 100;
    const r: Report = await runNearCacheExample({ url: redis.url, workers: 2, users });
    // Every worker read every profile twice; Redis was asked once per profile.
    for (const w of r.reads) expect(w.reads).toBe(2 * users);
    expect(r.reads.reduce((s, w) => s + w.l1Misses, 0)).toBe(users);
    expect(r.reads.reduce((s, w) => s + w.l1Hits, 0)).toBe(2 * 2 * users - users);
    expect(r.invalidated).toContain('example:user:1');
    for (const x of r.rereads) expect(x.value).toEqual({ id: 1, name: 'user 1 (renamed)', tags: ['example'] });
  });
});
