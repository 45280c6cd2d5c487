/** What differs between Node, browser workers and a browser's main thread. */

/** Can this thread block in Atomics.wait? Not on a browser's main thread
 *  (it throws there); everywhere else in Node and in workers it can. */
export const canBlock: boolean = (() => {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
})();

/** 32 random bits from the platform's CSPRNG (Node 20+ and browsers). */
export function randomU32(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** Milliseconds, monotonic. */
export const now: () => number = () => performance.now();
