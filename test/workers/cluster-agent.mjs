// What one near-cache instance of the cluster test does when asked: shared
// by the process's creating instance (cluster-process.mjs) and its workers
// (cluster-worker.mjs). Errors come back as { error: code } so the test can
// check every failure is typed.

/** Run `op` on `near`. */
export async function act(near, op, args) {
  switch (op) {
    case 'get': {
      const out = [];
      for (const k of args.keys) {
        try {
          out.push(await near.get(k));
        } catch (e) {
          out.push({ error: e.code ?? String(e) });
        }
      }
      return out;
    }
    case 'peek':
      return args.keys.map((k) => near.peek(k));
    case 'set':
      for (const [k, v] of args.pairs) await near.set(k, v);
      return true;
    case 'stats':
      return { ...near.stats(), l1: undefined };
    case 'load':
      return load(near, args);
    default:
      throw new Error(`unknown op ${op}`);
  }
}

/** Reads (and every `writeEvery`-th call a write of { w: n }) of random
 *  keys for `ms`: how many calls, which errors, the slowest call. */
async function load(near, { keys, ms, writeEvery = 0, tag }) {
  const end = Date.now() + ms;
  const errors = {};
  let calls = 0;
  let ok = 0;
  let maxMs = 0;
  while (Date.now() < end) {
    const k = keys[calls % keys.length];
    const t = Date.now();
    try {
      if (writeEvery && calls % writeEvery === 0) await near.set(k, { load: tag, n: calls });
      else await near.get(k);
      ok++;
    } catch (e) {
      const code = e.code ?? String(e);
      errors[code] = (errors[code] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, 5));
    }
    maxMs = Math.max(maxMs, Date.now() - t);
    calls++;
    if (calls % 16 === 0) await new Promise((r) => setImmediate(r));
  }
  return { calls, ok, errors, maxMs };
}
