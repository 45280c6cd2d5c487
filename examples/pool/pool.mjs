// One ShardedMap shared by a piscina worker pool: the main thread creates it,
// hands its handle to the pool, and watches every pool thread, so that a
// thread that dies (terminated, crashed) in the middle of a store is
// released at once and the others never wait out their lockTimeout.
//
//   node examples/pool/pool.mjs            # run tasks, kill a thread mid-write, report
import { once } from 'node:events';
import { Piscina } from 'piscina';
import { ShardedMap } from 'shardedmap';

/**
 * Run `tasks` tasks of `perTask` stores on a pool of `threads` threads; if
 * `killAfterMs` is set, terminate one pool thread that long after the start
 * (mid-write). Resolves with what happened.
 */
export async function runPool({ threads = 2, tasks = 8, perTask = 20_000, killAfterMs, lockTimeout = 20_000 } = {}) {
  const map = await ShardedMap.create({ shards: 4, lockTimeout });
  const pool = new Piscina({
    filename: new URL('./task.mjs', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    workerData: { handle: map.handle, lockTimeout },
  });
  // Every thread the pool starts (replacements included) is watched.
  pool.on('workerCreate', () => {
    for (const t of pool.threads) map.watch(t);
  });
  const started = performance.now();
  const runs = Array.from({ length: tasks }, (_, k) =>
    pool.run({ prefix: `t${k}:`, count: perTask }).then(
      (stored) => ({ k, stored }),
      (error) => ({ k, error: String(error?.message ?? error) }),
    ));
  let killed = false;
  if (killAfterMs !== undefined) {
    // Once every thread has attached (the creator's instance is one more),
    // let them write a while, then terminate one: it dies mid-write.
    while (map.stats().attached < threads + 1) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, killAfterMs));
    const victim = pool.threads[0];
    if (victim) {
      // Its 'exit' listeners run in the order they were added, watch's
      // first, which releases the thread's instance in a setImmediate:
      // after this listener and one immediate, it is released (terminate()
      // may resolve before either; the report reads the count).
      const exited = once(victim, 'exit');
      await victim.terminate();
      await exited;
      await new Promise((r) => setImmediate(r));
      killed = true;
    }
  }
  const results = await Promise.all(runs);
  const elapsedMs = performance.now() - started;
  // Tasks that completed stored all their keys, whatever happened to others.
  let verified = 0;
  for (const r of results) {
    if (r.stored === undefined) continue;
    for (let i = 0; i < perTask; i++) {
      if (map.load(`t${r.k}:${i}`)?.i !== i) throw new Error(`task ${r.k} lost key ${i}`);
      verified++;
    }
  }
  const stats = map.stats();
  const report = {
    killed,
    completed: results.filter((r) => r.stored !== undefined).length,
    failed: results.filter((r) => r.error !== undefined).map((r) => r.error),
    verified,
    releasedOwners: stats.counters.releasedOwners,
    lockTimeouts: stats.counters.lockTimeouts,
    elapsedMs: Math.round(elapsedMs),
    check: map.check(),
  };
  await pool.destroy();
  map.close();
  return report;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runPool({ killAfterMs: 30 });
  console.log(JSON.stringify({ ...r, check: r.check.ok ? 'ok' : r.check.problems }, null, 2));
}
