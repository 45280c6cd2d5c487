/**
 * `fetch()` of a cache map: on a miss, exactly one caller across every
 * instance of the map runs the loader; the others wait for its outcome
 * without blocking their event loop. The flights themselves (who leads
 * the load of which key, its deadline, how it ended) are in shared memory,
 * in the core's flight table (assembly/flights.ts); this file is the
 * waiting and the loader's life around them.
 *
 * A leader's loader gets an AbortSignal that aborts at `loadTimeout` (then
 * a waiter takes the load over) or when the leader's own `signal` aborts
 * (then it abandons the load: a waiter takes it over). Waiters sleep on the
 * flight epoch word with `Atomics.waitAsync` (polling with timers where an
 * engine lacks it), waking at every flight's end and at every release of a
 * dead instance, and look again at most every WAIT_SLICE_MS.
 *
 * Stale values (RFC 5861's names): a value loaded with staleWhileRevalidate
 * or staleIfError (and a ttl) is stored stamped with the time it stops
 * being fresh (codec.ts, encodeStamped), and the core keeps it ttl + the
 * larger window. A fetch that finds it stale within staleWhileRevalidate
 * returns it at once and starts a refresh, led by one caller across all
 * workers (the same flight table: a caller that finds the refresh in
 * flight just returns the stale value); within staleIfError it loads as on
 * a miss, and returns the stale value if the load fails. The stamp is read
 * here only (lookupEntry): plain reads decode the value and never look at
 * the time, so they cost what they did.
 */
import {
  ST_FULL, ST_MISMATCH, SCRATCH_WORD, SCRATCH_KLEN, FLIGHT_LEAD, FLIGHT_LOADING, FLIGHT_FAILED,
  FLIGHT_EMPTY, FLIGHT_FREE, FLIGHT_MSG_MAX, CNT_FETCH_LOADS, CNT_FETCH_WAITS, CNT_FETCH_ERRORS, CNT_STALE_HITS,
  CNT_STALE_REFRESHES, OP_STORE,
} from '../../assembly/shared.js';
import { encodeStamped, type Key } from '../codec/codec.js';
import { ttlValue, type FetchDefaults } from '../base/options.js';
import type { Session } from '../core/session.js';
import { lookupEntry, type Entry } from './entry.js';
import { ErrorCode, ShardedMapError, ShardedMapTypeError, ShardedMapRangeError } from '../base/errors.js';

/** What fetch calls on a miss: the value to store for `key` (undefined:
 *  store nothing). `signal` aborts when the load is given up (see
 *  `FetchOptions.loadTimeout`). */
export type Loader<V> = (key: Key, context: { signal: AbortSignal }) => V | undefined | Promise<V | undefined>;

/** Options of `fetch`. */
export interface FetchOptions {
  /** Milliseconds the loaded value lives (0 or Infinity: forever); the
   *  map's `ttl` by default. */
  ttl?: number;
  /** Aborts this call: its wait, or, if it leads, its load (which a
   *  waiter then takes over). */
  signal?: AbortSignal;
  /** Milliseconds the loader may run before waiters take the load over
   *  (and its signal aborts). @default 30000 */
  loadTimeout?: number;
  /** Milliseconds after a value's ttl during which fetch returns it at
   *  once, stale, while one caller across all workers refreshes it in the
   *  background. Applies to values this call (or another with a stale
   *  window) stores with a ttl; 0: off. @default the instance's option (0) */
  staleWhileRevalidate?: number;
  /** Milliseconds after a value's ttl during which a failed load (rejected,
   *  or past loadTimeout) returns the stale value instead of rejecting
   *  (counted in `staleHits`, told in `status`). 0: off. @default the
   *  instance's option (0) */
  staleIfError?: number;
  /** Milliseconds a loader's `undefined` is cached as a stored `undefined`
   *  (found by fetch, which then returns undefined without loading; `get`
   *  returns undefined, `has` true). 0: not cached. @default the
   *  instance's option (0) */
  negativeTtl?: number;
  /** An object this call fills in: how it was answered. */
  status?: FetchStatus;
}

/** What fetch tells through `options.status`. */
export interface FetchStatus {
  /** A stale value was returned (staleWhileRevalidate or staleIfError). */
  stale?: boolean;
  /** This call started the background refresh of a stale value. */
  refresh?: boolean;
  /** The load's error, when a stale value was returned in its place
   *  (staleIfError). */
  error?: unknown;
}

/** fetch's options, checked and resolved with the instance's defaults. */
interface Resolved {
  signal: AbortSignal | undefined;
  loadTimeout: number;
  ttl: number | undefined;
  swr: number;
  sie: number;
  negativeTtl: number;
  status: FetchStatus | undefined;
}

/** How the fetcher stores a loaded value: the map's own store (so a
 *  value is encoded and counted as any store). */
export type StoreLoaded = (key: Key, value: unknown, ttl: number | undefined) => void;

const DEFAULT_LOAD_TIMEOUT_MS = 30_000;
/** Longest sleep of a waiter between two looks at its flight: a missed
 *  wake-up (an engine without waitAsync) costs at most this. */
const WAIT_SLICE_MS = 100;
/** Without Atomics.waitAsync: the poll period. */
const POLL_MS = 5;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type WaitAsync = (i32: Int32Array, idx: number, value: number, timeout: number) =>
  { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

export class Fetcher<V> {
  readonly #io: Session;
  readonly #store: StoreLoaded;
  /** Index (in i32) of the flight epoch word. */
  readonly #epoch: number;

  constructor(session: Session, store: StoreLoaded) {
    this.#io = session;
    this.#store = store;
    this.#epoch = session.core.flightEpochAddress() >>> 2;
  }

  async fetch(key: Key, loader: Loader<V>, options?: FetchOptions): Promise<V | undefined> {
    const o = checkFetchOptions(loader, options, this.#io.fetchDefaults);
    const { signal, loadTimeout, status } = o;
    if (status) {
      status.stale = status.refresh = false;
      status.error = undefined;
    }
    const io = this.#io;
    const e: Entry = { found: false, value: undefined, freshUntil: 0 };
    let waited = false;
    /** A stale value to return if the load fails (within staleIfError). */
    let fallback: Entry | undefined;
    for (;;) {
      signal?.throwIfAborted();
      lookupEntry(io, key, e);
      if (e.found) {
        if (e.freshUntil === Infinity) return e.value as V;
        const age = io.now() - e.freshUntil;
        if (age < 0) return e.value as V;
        if (age < o.swr) {
          this.#refresh(key, loader, o);
          return this.#stale(e.value, status, undefined);
        }
        if (age < o.sie) fallback = { ...e };
      }
      const klen = io.encodeKey(key);
      const now = io.now();
      const r = io.retry(() => io.core.flightBegin(io.token, klen, now, now + loadTimeout));
      if (r === ST_FULL) {
        // Every slot in flight: wait for one to end.
        await this.#sleep(Atomics.load(io.i32, this.#epoch), signal);
        continue;
      }
      if (r < 0) throw io.refused('flightBegin', r);
      const slot = io.i32[(io.scratch + SCRATCH_WORD) >>> 2]!;
      const seq = io.i32[(io.scratch + SCRATCH_KLEN) >>> 2]!;
      if (r === FLIGHT_LEAD) {
        try {
          return await this.#lead(key, loader, slot, seq, signal, o);
        } catch (err) {
          // stale-if-error: a failed or late load, not this caller's abort.
          if (fallback && !signal?.aborted) return this.#stale(fallback.value, status, err);
          throw err;
        }
      }
      if (!waited) io.count(CNT_FETCH_WAITS);
      waited = true;
      let outcome: number;
      try {
        outcome = await this.#wait(slot, seq, signal);
      } catch (err) {
        if (fallback && !signal?.aborted) return this.#stale(fallback.value, status, err);
        throw err;
      }
      if (outcome === FLIGHT_EMPTY) return undefined;
      // Ended (the value is in the map, or was abandoned) or its leader is
      // gone: look again, and lead if it is still missing.
    }
  }

  /** Return stale `value` (counted; told in `status`). */
  #stale(value: unknown, status: FetchStatus | undefined, error: unknown): V {
    this.#io.count(CNT_STALE_HITS);
    if (status) {
      status.stale = true;
      if (error !== undefined) status.error = error;
    }
    return value as V;
  }

  /** staleWhileRevalidate: refresh `key` in the background, unless another
   *  caller (in any worker) refreshes or loads it already. Its failure is
   *  counted (fetchErrors) and otherwise unheard: the stale value stays. */
  #refresh(key: Key, loader: Loader<V>, o: Resolved): void {
    const io = this.#io;
    const klen = io.encodeKey(key);
    const now = io.now();
    const r = io.retry(() => io.core.flightBegin(io.token, klen, now, now + o.loadTimeout));
    if (r !== FLIGHT_LEAD) {
      if (r < 0 && r !== ST_FULL) throw io.refused('flightBegin', r);
      return;
    }
    const slot = io.i32[(io.scratch + SCRATCH_WORD) >>> 2]!;
    const seq = io.i32[(io.scratch + SCRATCH_KLEN) >>> 2]!;
    io.count(CNT_STALE_REFRESHES);
    if (o.status) o.status.refresh = true;
    this.#lead(key, loader, slot, seq, undefined, o).catch(() => {});
  }

  /** Run the loader as the flight's leader; store and end the flight. */
  async #lead(
    key: Key, loader: Loader<V>, slot: number, seq: number, signal: AbortSignal | undefined, o: Resolved,
  ): Promise<V | undefined> {
    const io = this.#io;
    const { loadTimeout } = o;
    // Stored (fresh) between this caller's look and its lead: nothing to load.
    const e: Entry = { found: false, value: undefined, freshUntil: 0 };
    lookupEntry(io, key, e);
    if (e.found && e.freshUntil > io.now()) {
      this.#end(slot, seq, FLIGHT_FREE);
      return e.value as V;
    }
    io.count(CNT_FETCH_LOADS);
    const ac = new AbortController();
    const timer = setTimeout(() => {
      ac.abort(new ShardedMapError(ErrorCode.TIMEOUT, `fetch: the loader ran longer than loadTimeout (${loadTimeout} ms); another caller may load instead`));
    }, loadTimeout);
    (timer as { unref?: () => void }).unref?.();
    const onAbort = () => ac.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let value: V | undefined;
    try {
      // The call ends when its signal aborts (or loadTimeout passes), even
      // if the loader ignores its own signal: the flight is handed over
      // then, not when the loader gets round to settling.
      const run = (async () => loader(key, { signal: ac.signal }))();
      run.catch(() => {}); // settles after an abort, unheard
      value = await Promise.race([run, aborted(ac.signal)]);
      ac.signal.throwIfAborted();
      // Late on the map's clock (its `clock`, a jump, a blocked event
      // loop) though the timer has not fired: a waiter may lead already,
      // and its value must not be overwritten by this one.
      if (io.retry(() => io.core.flightWatch(io.token, slot, seq, io.now())) !== FLIGHT_LOADING) {
        ac.abort(new ShardedMapError(ErrorCode.TIMEOUT, `fetch: the loader ran longer than loadTimeout (${loadTimeout} ms) on the map's clock; another caller loads instead`));
        ac.signal.throwIfAborted();
      }
    } catch (e) {
      if (signal?.aborted || ac.signal.aborted) {
        // Abandoned (this caller's signal) or late (its deadline passed: a
        // waiter may lead already): a waiter loads instead.
        this.#end(slot, seq, FLIGHT_FREE);
      } else {
        io.count(CNT_FETCH_ERRORS);
        this.#end(slot, seq, FLIGHT_FAILED, describeError(e));
      }
      throw e;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (value === undefined && o.negativeTtl === 0) {
      this.#end(slot, seq, FLIGHT_EMPTY);
      return undefined;
    }
    try {
      this.#storeLoaded(key, value, o);
    } catch (e) {
      io.count(CNT_FETCH_ERRORS);
      this.#end(slot, seq, FLIGHT_FAILED, describeError(e));
      throw e;
    }
    this.#end(slot, seq, FLIGHT_FREE);
    return value;
  }

  /** Store what the loader resolved to: `undefined` for negativeTtl; a
   *  value with a ttl and a stale window stamped (kept ttl + the window);
   *  anything else as the map's store does. */
  #storeLoaded(key: Key, value: V | undefined, o: Resolved): void {
    const io = this.#io;
    if (value === undefined) return this.#store(key, undefined, o.negativeTtl);
    const ttl = o.ttl === undefined ? io.ttl : o.ttl === Infinity ? 0 : o.ttl;
    const window = Math.max(o.swr, o.sie);
    if (ttl === 0 || window === 0) return this.#store(key, value, o.ttl);
    const word = encodeStamped(value, io.now() + ttl, io.io, io.val, io.maxValue);
    io.write(OP_STORE, io.encodeKey(key), word, 0, { ttl: ttl + window });
  }

  /** End a flight this instance leads, and wake its waiters. */
  #end(slot: number, seq: number, outcome: number, message = ''): void {
    const io = this.#io;
    const room = Math.min(FLIGHT_MSG_MAX, io.maxValue);
    io.io.valWrites++;
    const n = message ? encoder.encodeInto(message, io.u8.subarray(io.val, io.val + room)).written : 0;
    const st = io.retry(() => io.core.flightEnd(io.token, slot, seq, outcome, n));
    if (st < 0 && st !== ST_MISMATCH) throw io.refused('flightEnd', st);
    Atomics.notify(io.i32, this.#epoch);
  }

  /** Wait while flight (slot, seq) loads; its outcome (FLIGHT_ENDED,
   *  FLIGHT_EMPTY, FLIGHT_STALE). A failed flight rejects. */
  async #wait(slot: number, seq: number, signal: AbortSignal | undefined): Promise<number> {
    const io = this.#io;
    for (;;) {
      signal?.throwIfAborted();
      const seen = Atomics.load(io.i32, this.#epoch);
      const st = io.retry(() => io.core.flightWatch(io.token, slot, seq, io.now()));
      if (st === FLIGHT_LOADING) {
        await this.#sleep(seen, signal);
        continue;
      }
      if (st === FLIGHT_FAILED) {
        const n = io.i32[(io.scratch + SCRATCH_WORD) >>> 2]!;
        const message = decoder.decode(io.u8.slice(io.aux, io.aux + n));
        throw new ShardedMapError(ErrorCode.FETCH_FAILED, `fetch: the loader failed in another caller: ${message}`);
      }
      if (st < 0) throw io.refused('flightWatch', st);
      return st;
    }
  }

  /** Sleep until the flight epoch moves on from `seen`, WAIT_SLICE_MS
   *  pass, or `signal` aborts. A timer runs beside the wait in any case:
   *  a pending Atomics.waitAsync does not keep Node's event loop alive, so
   *  a worker whose only work is this wait would otherwise just exit. */
  async #sleep(seen: number, signal: AbortSignal | undefined): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wakes: Promise<unknown>[] = [new Promise((resolve) => {
      timer = setTimeout(resolve, waitAsync ? WAIT_SLICE_MS : POLL_MS);
    })];
    if (waitAsync) {
      const r = waitAsync(this.#io.i32, this.#epoch, seen, WAIT_SLICE_MS);
      if (!r.async) {
        clearTimeout(timer);
        return;
      }
      wakes.push(r.value);
    }
    let onAbort: (() => void) | undefined;
    if (signal) {
      wakes.push(new Promise<void>((resolve) => {
        onAbort = resolve;
        signal.addEventListener('abort', onAbort, { once: true });
      }));
    }
    try {
      await Promise.race(wakes);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal!.removeEventListener('abort', onAbort);
    }
  }
}

/** A failure's message for the waiters: the error's code, if any, and its
 *  message. */
function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${e.message || e.name}`;
  }
  return String(e);
}

function checkFetchOptions(loader: unknown, options: FetchOptions | undefined, d: FetchDefaults): Resolved {
  if (typeof loader !== 'function') {
    throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, `fetch: the loader must be a function, not ${typeof loader}`);
  }
  const resolved: Resolved = {
    signal: undefined, loadTimeout: DEFAULT_LOAD_TIMEOUT_MS, ttl: undefined, swr: d.staleWhileRevalidate,
    sie: d.staleIfError, negativeTtl: d.negativeTtl, status: undefined,
  };
  if (options === undefined) return resolved;
  if (typeof options !== 'object' || options === null) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'fetch: options must be an object like { ttl, signal, loadTimeout }');
  }
  const { signal, loadTimeout = DEFAULT_LOAD_TIMEOUT_MS, ttl, staleWhileRevalidate, staleIfError, negativeTtl, status } = options;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.aborted !== 'boolean')) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'fetch: signal option must be an AbortSignal');
  }
  if (typeof loadTimeout !== 'number' || !(loadTimeout > 0) || loadTimeout > 2 ** 31 - 1) {
    throw new ShardedMapRangeError(ErrorCode.INVALID_OPTION, `fetch: loadTimeout option must be a number of milliseconds from 1 to 2^31 - 1, got ${String(loadTimeout)}`);
  }
  if (status !== undefined && (typeof status !== 'object' || status === null)) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, 'fetch: status option must be an object (fetch fills it in)');
  }
  // Checked before any loader runs (the store after it would refuse it).
  if (ttl !== undefined) ttlValue(ttl, 'fetch: ttl option');
  resolved.signal = signal;
  resolved.loadTimeout = loadTimeout;
  resolved.ttl = ttl;
  resolved.status = status;
  if (staleWhileRevalidate !== undefined) resolved.swr = windowValue(staleWhileRevalidate, 'fetch: staleWhileRevalidate option');
  if (staleIfError !== undefined) resolved.sie = windowValue(staleIfError, 'fetch: staleIfError option');
  if (negativeTtl !== undefined) resolved.negativeTtl = windowValue(negativeTtl, 'fetch: negativeTtl option');
  return resolved;
}

/** A stale window or negativeTtl: ms >= 0, finite (0: off). */
function windowValue(v: unknown, what: string): number {
  const t = ttlValue(v, what);
  if (v === Infinity) throw new ShardedMapRangeError(ErrorCode.INVALID_OPTION, `${what} must be a finite number of milliseconds (0: off)`);
  return t;
}

/** A promise that rejects with `signal`'s reason when it aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
