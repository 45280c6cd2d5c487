// The worker-pool example (examples/pool: piscina threads sharing one map,
// every thread watched): a pool thread terminated in the middle of its
// stores is released on exit; the other threads never wait out their
// 20 s lockTimeout, and every completed task's keys are there.
import { describe, it, expect } from 'vitest';
// @ts-expect-error: a plain .mjs example without types
import { runPool } from '../../examples/pool/pool.mjs';

interface PoolReport {
  killed: boolean;
  completed: number;
  failed: string[];
  verified: number;
  releasedOwners: number;
  lockTimeouts: number;
  elapsedMs: number;
  check: { ok: boolean };
}

describe('worker pool example', () => {
  it('a pool thread killed mid-write is released; the rest complete', async () => {
    const lockTimeout = 20_000;
    for (const killAfterMs of [20, 60, 150]) {
      const r: PoolReport = await runPool({ threads: 2, tasks: 6, perTask: 20_000, killAfterMs, lockTimeout });
      expect(r.killed).toBe(true);
      // The killed thread's task fails (piscina reports its exit); the
      // others store all their keys.
      expect(r.failed.length).toBeLessThanOrEqual(1);
      for (const f of r.failed) expect(f).toMatch(/exited/);
      expect(r.completed + r.failed.length).toBe(6);
      expect(r.verified).toBe(r.completed * 20_000);
      expect(r.releasedOwners).toBe(1);
      expect(r.lockTimeouts).toBe(0);
      // Nobody waited out a lockTimeout: the whole run is shorter than one.
      expect(r.elapsedMs).toBeLessThan(lockTimeout);
      expect(r.check.ok).toBe(true);
    }
  });
});
