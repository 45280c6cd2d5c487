// The deterministic operation stream of a crash-test worker: the worker
// applies it, the test replays it to know what was committed.
export function opAt(seed, i, keys) {
  // A cheap stateless hash of (seed, i): the same in the worker and the test.
  let x = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d);
  x ^= x >>> 12;
  x = Math.imul(x, 0x297a2d39);
  x ^= x >>> 15;
  const u = x >>> 0;
  const key = u % keys;
  const kind = (u >>> 20) % 10;
  if (kind < 3) return { op: 'delete', key };
  if (kind < 6) return { op: 'store', key, value: i + 0.5 };
  return { op: 'store', key, value: { i, pad: 'p'.repeat((u >>> 8) % 300) } };
}
