// watch(worker): when a worker dies holding a lock, what it held is released
// on its exit, so the others go on at once instead of waiting out their
// lockTimeout; nothing has to be posted back (attach records the thread).
import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { ShardedMap } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';
import { startAttached } from '../helpers/workers';
import { expectSound } from '../helpers/sound';

const LONG_TIMEOUT = 20_000;

/** A worker that takes shard `shard`'s lock and holds it until terminated. */
async function holder(map: ShardedMap<unknown>, shard = 0) {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const h = startAttached('holder', { handle: map.handle, flag, shard });
  return { ...h, owner: await h.owner };
}

/** A worker storing to the one shard in a loop, blocked while it is held. */
async function blockedWriter(map: ShardedMap<unknown>, lockTimeout: number) {
  const progress = new Int32Array(new SharedArrayBuffer(4));
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const w = startAttached('shard0-writer', { handle: map.handle, progress, stop, lockTimeout });
  await w.owner;
  return { ...w, progress, stop };
}

const until = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return cond();
};

describe('watch(worker)', () => {
  it('a worker terminated while holding a lock: the others go on at once', async () => {
    const map = await ShardedMap.create({ shards: 1, lockTimeout: LONG_TIMEOUT });
    map.store('k', 0);
    const h = await holder(map);
    map.watch(h.worker);
    const w = await blockedWriter(map, LONG_TIMEOUT);
    // The writer is stuck behind the holder.
    await new Promise((r) => setTimeout(r, 100));
    expect(Atomics.load(w.progress, 0)).toBe(0);
    const killedAt = Date.now();
    await h.worker.terminate();
    // The exit released the holder: the writer moves long before its 20 s
    // lockTimeout would have ended its wait.
    expect(await until(() => Atomics.load(w.progress, 0) > 1000, LONG_TIMEOUT / 2)).toBe(true);
    const resumedAfter = Date.now() - killedAt;
    Atomics.store(w.stop, 0, 1);
    await new Promise((r) => w.worker.once('exit', r));
    expect(w.messages).toEqual([{ done: true }]);
    expect(internalsOf(map).core.ownerAlive(h.owner)).toBe(0);
    expect(map.stats().counters.releasedOwners).toBe(1);
    expectSound(map);
    console.log(`watch: the blocked writer resumed ${resumedAfter} ms after the holder was terminated`);
  });

  it('workers that die together, each holding a shard, are released together (no uncaught LOCK_TIMEOUT from the exit listener)', async () => {
    // Before: the first exit's release waited for the other dead worker's
    // lock, timed out, and its LockTimeoutError escaped the 'exit'
    // listener (an uncaught exception that ended the process).
    const map = await ShardedMap.create({ shards: 2, lockTimeout: 300 });
    for (let round = 0; round < 3; round++) {
      const hs = await Promise.all([holder(map, 0), holder(map, 1)]);
      for (const h of hs) map.watch(h.worker);
      await Promise.all(hs.map((h) => h.worker.terminate()));
      expect(await until(() => hs.every((h) => internalsOf(map).core.ownerAlive(h.owner) === 0), 5000)).toBe(true);
      for (let i = 0; i < 20; i++) expect(map.tryStore(`k${i}`, round)).toBe(true); // both shards free
    }
    expect(map.stats().counters.releasedOwners).toBe(6);
    expectSound(map);
  });

  it('control: without watch the same writer waits out its lockTimeout and fails', async () => {
    const map = await ShardedMap.create({ shards: 1 });
    map.store('k', 0);
    const h = await holder(map);
    const w = await blockedWriter(map, 300);
    await h.worker.terminate();
    await new Promise((r) => w.worker.once('exit', r));
    expect(w.messages).toEqual([{ error: expect.stringMatching(/^ERR_SHARDEDMAP_LOCK_TIMEOUT/) }]);
    map.release(h.owner);
  });

  it('releaseThread finds the owners by thread; a clean exit releases nothing', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const h = await holder(map);
    const tid = h.worker.threadId;
    await h.worker.terminate();
    expect(map.releaseThread(tid)).toEqual([h.owner]);
    expect(map.releaseThread(tid)).toEqual([]); // released already
    // A worker that closes its instance before exiting leaves nothing held.
    const clean = new Worker(new URL('../workers/writer.mjs', import.meta.url), {
      workerData: { handle: map.handle, prefix: 'c:', from: 0, to: 10 },
    });
    map.watch(clean);
    await new Promise((r) => clean.once('exit', r));
    expect(map.stats().counters.releasedOwners).toBe(1);
    expect(map.size).toBe(10);
    expectSound(map);
  });

  it('refuses what is not a running worker; watching twice is one watch', async () => {
    const map = await ShardedMap.create({ shards: 1 });
    for (const bad of [null, {}, { threadId: -1, once() {} }, { threadId: 1.5, once() {} }, { threadId: 3 }]) {
      expect(() => map.watch(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_INVALID_ARGUMENT' }));
    }
    const h = await holder(map);
    const stop1 = map.watch(h.worker);
    expect(map.watch(h.worker)).toBe(stop1);
    await h.worker.terminate();
    await new Promise((r) => setTimeout(r, 20));
    expect(map.stats().counters.releasedOwners).toBe(1);
  });
});
