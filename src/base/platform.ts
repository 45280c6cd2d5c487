/** What differs between Node, browser workers and a browser's main thread. */

/**
 * The part of a `WebAssembly.Memory` that this package's declarations name
 * (a real `WebAssembly.Memory` is one). Declared here rather than as
 * `WebAssembly.Memory` so that the shipped types compile in a Node project
 * without the DOM lib (`"lib": ["ES2022"]` has no `WebAssembly` namespace,
 * nor has `@types/node` 20).
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(delta: number): number;
}

/** A compiled `WebAssembly.Module`, opaque (same reason as WasmMemory). */
export type WasmModule = object;

/** Can this thread block in Atomics.wait? Not on a browser's main thread
 *  (it throws there); everywhere else in Node and in workers it can. */
export const canBlock: boolean = (() => {
  try {
    // A shared Wasm memory, not `new SharedArrayBuffer`: a SharedWorker
    // (Chromium) has no SharedArrayBuffer global but can wait on this.
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    Atomics.wait(new Int32Array(mem.buffer), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
})();

/** Why this page cannot share memory with its workers, or undefined.
 *  Browsers allow it only to cross-origin-isolated pages. Checked on pages
 *  only: a worker may own a map it does not share (the SharedWorker cache,
 *  or its dedicated-worker fallback), which needs no isolation. */
export function isolationProblem(): string | undefined {
  const g = globalThis as { crossOriginIsolated?: boolean; document?: unknown };
  if (g.crossOriginIsolated !== false || g.document === undefined) return undefined;
  return (
    'this page is not cross-origin isolated, so browsers refuse to share memory between workers. ' +
    'Serve the page with the headers "Cross-Origin-Opener-Policy: same-origin" and ' +
    '"Cross-Origin-Embedder-Policy: require-corp" (or use connectSharedCache, which needs neither)'
  );
}

/** 32 random bits from the platform's CSPRNG (Node 20+ and browsers). */
export function randomU32(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/**
 * Node 20 (V8 11.3) crashes, now and then, in TurboFan-optimized JS that
 * inlines calls into this core (a segfault loading a field of a corrupt
 * object; seen in this project's batch-read tests, 4 runs of 4; never with
 * `--no-turbo-inline-js-wasm-calls`, nor on Node 22 and 24). So on a V8
 * older than 12, that inlining is turned off before the core is compiled:
 * JS->Wasm calls then go through V8's generic wrapper (measured: 3-5 ns
 * more per call). Affects only V8 < 12, and only that one flag.
 */
export function avoidV8Bugs(): void {
  const p = (globalThis as { process?: { versions?: { v8?: string }; getBuiltinModule?: (id: string) => unknown } }).process;
  const major = Number(p?.versions?.v8?.split('.')[0]);
  if (!(major < 12)) return;
  const v8 = p?.getBuiltinModule?.('node:v8') as { setFlagsFromString(flags: string): void } | undefined;
  v8?.setFlagsFromString('--no-turbo-inline-js-wasm-calls');
}

/** Milliseconds, monotonic. */
export const now: () => number = () => performance.now();

/** This thread's id in Node (`worker_threads.threadId`: 0 for the main
 *  thread), undefined elsewhere; recorded on attach so that `watch` can
 *  release what a dead worker held. */
export function currentThread(): number | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const wt = p?.getBuiltinModule?.('node:worker_threads') as { threadId?: number } | undefined;
  return typeof wt?.threadId === 'number' ? wt.threadId : undefined;
}

/** String#isWellFormed (ES2024: Node 20+, the Chromium this runs in; the
 *  package's declared lib is older): no lone surrogate in `s`. */
export const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
