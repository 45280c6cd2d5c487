// The deterministic operation stream of a crash-test worker: the worker
// applies it, the test replays it to know what was committed.

/** A cheap stateless hash of (seed, i): the same in the worker and the test. */
function mix(seed, i) {
  let x = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d);
  x ^= x >>> 12;
  x = Math.imul(x, 0x297a2d39);
  x ^= x >>> 15;
  return x >>> 0;
}

/** Mixed stream: deletes, numbers, objects of 0-300 bytes of padding. */
export function opAt(seed, i, keys) {
  const u = mix(seed, i);
  const key = u % keys;
  const kind = (u >>> 20) % 10;
  if (kind < 3) return { op: 'delete', key };
  if (kind < 6) return { op: 'store', key, value: i + 0.5 };
  return { op: 'store', key, value: { i, pad: 'p'.repeat((u >>> 8) % 300) } };
}

/** Churn stream: strings of 0-199 bytes on hot keys, so entries keep moving
 *  between inline and out of line and small heaps compact in place; one
 *  delete in 7; and every 997th op a key never used before, so tables grow.
 *  Keys >= `keys` are the new ones. */
export function churnAt(seed, i, keys) {
  const u = mix(seed, i);
  if (i % 997 === 996) return { op: 'store', key: keys + i, value: 'g'.repeat(u % 40) };
  const key = u % keys;
  if ((u >>> 20) % 7 === 3) return { op: 'delete', key };
  return { op: 'store', key, value: 'y'.repeat((u >>> 8) % 200) };
}

export const streams = { mixed: opAt, churn: churnAt };
