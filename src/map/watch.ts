/**
 * `watch(worker)`: release, when a watched worker exits, whatever the
 * instances it attached still hold, through the map's own `release`.
 * Workers that exit in the same turn are released in one call (dead owners
 * must be: releasing one waits for the other's lock). The exit listener
 * never throws; a release that fails is retried, then reported as a
 * process warning.
 */

/** What `watch` needs of a worker: Node's `Worker` has all of it. */
export interface WatchableWorker {
  readonly threadId: number;
  once(event: 'exit', listener: (code: number) => void): unknown;
  off?(event: 'exit', listener: (code: number) => void): unknown;
}

/** Tries at releasing exited workers, this far apart, before giving up with
 *  a warning (a failure means another dead worker's lock is in the way
 *  until its own exit is seen, or a live instance holds shard locks for
 *  long, e.g. a check() waiting for the dead one). */
const WATCH_RETRIES = 20;
const WATCH_RETRY_MS = 50;

/** What the watcher needs of its map instance. */
export interface WatchTarget {
  readonly closed: boolean;
  /** The map's `releaseThread` for each thread id, in one release call. */
  releaseThreads(threadIds: number[]): void;
}

export class Watcher {
  readonly #map: WatchTarget;
  /** Workers being watched, each with its unwatch function. */
  readonly #watched = new WeakMap<WatchableWorker, () => void>();
  /** Thread ids of watched workers that exited, not released yet. */
  readonly #exited = new Set<number>();

  constructor(map: WatchTarget) {
    this.#map = map;
  }

  /** Watch `worker` (idempotent); returns the function that stops it.
   *  `tid` is its validated thread id. */
  watch(worker: WatchableWorker, tid: number): () => void {
    let watched = this.#watched.get(worker);
    if (!watched) {
      const onExit = () => {
        this.#watched.delete(worker);
        this.#exited.add(tid);
        // After the other exits of this turn (workers terminated together).
        if (this.#exited.size === 1) setImmediate(() => this.#releaseExited(0));
      };
      worker.once('exit', onExit);
      watched = () => {
        this.#watched.delete(worker);
        worker.off?.('exit', onExit);
      };
      this.#watched.set(worker, watched);
    }
    return watched;
  }

  /** Release the instances of every watched worker that exited, in one
   *  call. Never throws (it runs in an 'exit' listener): a release that
   *  fails, say because another watched worker died holding a lock and its
   *  exit has not been seen yet, is tried again shortly, with that one. */
  #releaseExited(attempt: number): void {
    if (this.#map.closed || this.#exited.size === 0) return;
    const tids = [...this.#exited];
    try {
      this.#map.releaseThreads(tids);
      for (const t of tids) this.#exited.delete(t);
    } catch (e) {
      if (this.#map.closed) return;
      if (attempt >= WATCH_RETRIES) {
        this.#exited.clear();
        (globalThis as { process?: { emitWarning?: (m: string) => void } }).process?.emitWarning?.(
          `shardedmap: releasing exited workers failed (${(e as Error).message}); call map.release or map.releaseThread`);
        return;
      }
      const t = setTimeout(() => this.#releaseExited(attempt + 1), WATCH_RETRY_MS);
      (t as { unref?: () => void }).unref?.();
    }
  }
}
