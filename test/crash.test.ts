// Workers terminated at random moments, inside Wasm, in the middle of
// stores, deletes and resizes: after map.release(owner), no other instance
// hangs, every committed operation is there, and the key being written is
// either old or new.
import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';
import { opAt } from './workers/crash-ops.mjs';

/** Rounds and figures, reported in the README's Reliability section. */
export const CRASH = { rounds: 24, workersPerRound: 2, keysPerWorker: 4000 };

function same(a: unknown, b: unknown) {
  return JSON.stringify(a) === JSON.stringify(b);
}

describe('crash recovery', () => {
  it('terminated writers leave every committed entry, after release', async () => {
    const stats = { killed: 0, heldLocks: 0, verified: 0, ops: 0 };
    const map = await ShardedMap.create({ shards: 4, lockTimeout: 3000 });
    for (let round = 0; round < CRASH.rounds; round++) {
      const progress = new Int32Array(new SharedArrayBuffer(4 * CRASH.workersPerRound));
      const ws = Array.from({ length: CRASH.workersPerRound }, (_, w) => {
        const prefix = `r${round}w${w}:`;
        const seed = round * 100 + w;
        const worker = new Worker(new URL('./workers/crasher.mjs', import.meta.url), {
          workerData: { handle: map.handle, prefix, seed, keys: CRASH.keysPerWorker, progress, slot: w },
        });
        const owner = new Promise<number>((resolve, reject) => {
          worker.once('message', (m: { owner: number }) => resolve(m.owner));
          worker.once('error', reject);
        });
        return { worker, owner, prefix, seed, w };
      });
      const owners = await Promise.all(ws.map((x) => x.owner));
      // Let them run a random while, long enough to grow tables.
      await new Promise((r) => setTimeout(r, 20 + ((round * 37) % 120)));
      await Promise.all(ws.map((x) => x.worker.terminate()));
      stats.killed += ws.length;
      for (const owner of owners) if (internalsOf(map).core.locksHeldBy(owner) > 0) stats.heldLocks++;
      map.release(...owners); // died together: released together
      // Verify each worker's keys against a replay of its committed ops.
      for (const x of ws) {
        const committed = Atomics.load(progress, x.w);
        stats.ops += committed;
        const model = new Map<number, unknown>();
        for (let i = 0; i < committed; i++) {
          const o = opAt(x.seed, i, CRASH.keysPerWorker);
          if (o.op === 'delete') model.delete(o.key);
          else model.set(o.key, o.value);
        }
        const inflight = opAt(x.seed, committed, CRASH.keysPerWorker);
        for (let k = 0; k < CRASH.keysPerWorker; k++) {
          const got = map.load(`${x.prefix}${k}`);
          const want = model.get(k);
          if (k === inflight.key) {
            const after = inflight.op === 'delete' ? undefined : inflight.value;
            expect(same(got, want) || same(got, after)).toBe(true);
          } else {
            expect(got).toEqual(want);
          }
          stats.verified++;
        }
      }
      // The repaired shards are sound.
      for (let s = 0; s < 4; s++) expect(internalsOf(map).core.checkShard(s)).toBe(0);
      // Nothing hangs, and the map takes writes everywhere.
      for (let k = 0; k < 64; k++) map.store(`after:${round}:${k}`, k);
    }
    // size is exact after recovery (recounted).
    let n = 0;
    map.range(() => {
      n++;
    });
    expect(map.size).toBe(n);
    expect(stats.heldLocks).toBeGreaterThan(0); // some kills did land mid-write
    console.log(
      `crash: ${stats.killed} workers killed in ${CRASH.rounds} rounds, ${stats.heldLocks} while holding a lock; ` +
        `${stats.ops} committed ops replayed, ${stats.verified} keys verified`,
    );
  });
});
