/**
 * Loading the Wasm core: one compiled module per JS realm, one instance per
 * ShardedMap instance (the instance's globals and data segments are its
 * own; all shared state is in the memory). The test bundle is built with
 * the test build of the core (test doors, assertions) in place of the
 * release one.
 */
import wasmBytes from '../../build/core.wasm';
import { ErrorCode, ShardedMapError } from '../base/errors.js';
import { avoidV8Bugs, type WasmMemory, type WasmModule } from '../base/platform.js';

/** The core's exports (see assembly/index.ts). All return i32 status codes
 *  from assembly/shared.ts unless said otherwise. `token` is an owner token
 *  (what attach returns), `id` an owner id. */
export interface CoreExports {
  init(
    shardBits: number, maxOwners: number, seedLo: number, seedHi: number, idLo: number, idHi: number,
    maxKey: number, maxValue: number, perShard: number, maxPages: number, debugEntries: number,
    cacheFlags: number, maxEntries: number, maxBytes: number, ttl: number,
  ): number;
  checkLayout(idLo: number, idHi: number): number;
  attach(thread: number): number;
  detach(token: number): number;
  nop(): void;
  scratchOf(token: number): number;
  shardCount(): number;
  maxKeyBytes(): number;
  maxValueBytes(): number;
  /** Word `hi` (0 low, 1 high) of the hash seed (u32; read it `>>> 0`). */
  hashSeed(hi: number): number;
  maxOwners(): number;
  scratchValueOffset(): number;
  scratchAuxOffset(): number;
  allocLockAddress(): number;
  lockShardIndex(addr: number): number;
  /** Byte address of an attached token's owner state word (0: not attached). */
  ownerStateAddress(token: number): number;
  size(): number;
  usedBytes(): number;
  committedBytes(): number;
  counter(i: number): number;
  shardStats(token: number, shard: number): number;
  loadValue(token: number, klen: number): number;
  /** 1 if the write stripe at byte address `addr` is at `count` now (the read memo's check), else 0. */
  stripeIs(addr: number, count: number): number;
  loadNumber(token: number, klen: number): number;
  has(token: number, klen: number): number;
  copyTaggedValue(token: number, shard: number, addr: number, epoch: number, vlen: number): number;
  getMany(token: number, n: number, start: number, numbers: number): number;
  write(token: number, op: number, klen: number, vtype: number, vlen: number, eword: number): number;
  clearShard(token: number, shard: number): number;
  purgeShardExpired(token: number, shard: number, now: number): number;
  cacheBytes(): number;
  cacheFlagsAddress(): number;
  cacheMaxEntries(): number;
  cacheMaxBytes(): number;
  cacheTtl(): number;
  flightBegin(token: number, klen: number, now: number, deadline: number): number;
  flightEnd(token: number, slot: number, seq: number, outcome: number, msgLen: number): number;
  flightWatch(token: number, slot: number, seq: number, now: number): number;
  flightEpochAddress(): number;
  recordsAddress(): number;
  lockShard(token: number, shard: number): number;
  unlockShard(token: number, shard: number): number;
  next(token: number, shard: number, cursor: number): number;
  checkShard(token: number, shard: number): number;
  checkAllocator(token: number): number;
  noteFault(): void;
  faults(): number;
  recoverBegin(token: number, victim: number): number;
  recoverShard(token: number, victim: number, shard: number): number;
  freeOwner(token: number, victim: number): number;
  recoverEnd(token: number): number;
  shardLockOwner(shard: number): number;
  locksHeldBy(id: number): number;
  ownerAlive(id: number): number;
  ownerThread(id: number): number;
  attachedCount(): number;
  loadValueLogged(token: number, klen: number): number;
  loadNumberLogged(token: number, klen: number): number;
  hasLogged(token: number, klen: number): number;
  writeLogged(token: number, op: number, klen: number, vtype: number, vlen: number, eword: number): number;
  debugEntries(): number;
  debugRead(token: number, shard: number, i: number): number;
}

/** The test build's doors (assembly/doors.ts), besides CoreExports. */
export interface TestDoors {
  cellForm(token: number, klen: number): number;
  cellAddress(token: number, klen: number): number;
  entryAddress(token: number, klen: number): number;
  shardAddress(shard: number): number;
  shardLockAddress(shard: number): number;
  headerAddress(): number;
  testHash(token: number, klen: number, seedLo: number, seedHi: number): number;
  testOverwrite(token: number, klen: number, byte: number, protect: number): number;
  testCorrupt(shard: number, kind: number): number;
}

let compiled: Promise<WasmModule> | undefined;

/** The compiled core (compiled once per realm). */
export function coreModule(): Promise<WasmModule> {
  if (!compiled) avoidV8Bugs();
  compiled ??= WebAssembly.compile(wasmBytes);
  return compiled;
}

/** Instantiate the core over `memory`. */
export async function instantiate(module: WasmModule, memory: WasmMemory): Promise<CoreExports> {
  const abort = (msg: number, file: number, line: number, col: number): never => {
    const text = (p: number): string => {
      if (!p) return '?';
      const u8 = new Uint8Array(memory.buffer);
      const n = new Uint32Array(memory.buffer, p - 4, 1)[0]! >>> 1;
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(u8[p + 2 * i]! | (u8[p + 2 * i + 1]! << 8));
      return s;
    };
    throw new ShardedMapError(ErrorCode.INTERNAL, `core abort: ${text(msg)} at ${text(file)}:${line}:${col}`);
  };
  // The types are structural (base/platform.ts); the values are the real ones.
  const instance = await WebAssembly.instantiate(module as WebAssembly.Module, { env: { memory: memory as WebAssembly.Memory, abort } });
  return instance.exports as unknown as CoreExports;
}

type Fn = (...args: number[]) => number;

/** Wrap `f` (of `arity` number arguments) so that an exception becomes
 *  onFault's error; fixed arities, so a call allocates nothing, and exactly
 *  the export's own (no extra arguments into Wasm). */
function guard(f: Fn, arity: number, onFault: (e: unknown) => Error): Fn {
  const fail = (e: unknown): never => {
    throw onFault(e);
  };
  switch (arity) {
    case 1:
      return (a: number) => {
        try {
          return f(a);
        } catch (e) {
          return fail(e);
        }
      };
    case 2:
      return (a: number, b: number) => {
        try {
          return f(a, b);
        } catch (e) {
          return fail(e);
        }
      };
    case 3:
      return (a: number, b: number, c: number) => {
        try {
          return f(a, b, c);
        } catch (e) {
          return fail(e);
        }
      };
    case 4:
      return (a: number, b: number, c: number, d: number) => {
        try {
          return f(a, b, c, d);
        } catch (e) {
          return fail(e);
        }
      };
    case 5:
      return (a: number, b: number, c: number, d: number, e: number) => {
        try {
          return f(a, b, c, d, e);
        } catch (err) {
          return fail(err);
        }
      };
    case 6:
      return (a: number, b: number, c: number, d: number, e: number, g: number) => {
        try {
          return f(a, b, c, d, e, g);
        } catch (err) {
          return fail(err);
        }
      };
    default:
      throw new RangeError(`guard: no wrapper of arity ${arity}`);
  }
}

/**
 * The core's export list, once: every export of CoreExports with its
 * arity. The type makes the compiler check it against CoreExports (a name
 * missing, extra, or with another parameter count does not compile), and
 * the release test checks it against the Wasm module's own exports and
 * their `length`: so the interface, this list and the binary agree.
 */
export const CORE_ARITY: { readonly [K in keyof CoreExports]: Parameters<CoreExports[K]>['length'] } = {
  init: 15, checkLayout: 2, attach: 1, detach: 1, nop: 0, scratchOf: 1, shardCount: 0, maxKeyBytes: 0,
  maxValueBytes: 0, hashSeed: 1, maxOwners: 0, scratchValueOffset: 0, scratchAuxOffset: 0, allocLockAddress: 0, lockShardIndex: 1,
  ownerStateAddress: 1, size: 0,
  usedBytes: 0, committedBytes: 0, counter: 1, shardStats: 2, loadValue: 2, stripeIs: 2, loadNumber: 2, has: 2,
  copyTaggedValue: 5, getMany: 4, write: 6, clearShard: 2, purgeShardExpired: 3, cacheBytes: 0,
  cacheFlagsAddress: 0, cacheMaxEntries: 0, cacheMaxBytes: 0, cacheTtl: 0, flightBegin: 4, flightEnd: 5,
  flightWatch: 4, flightEpochAddress: 0, recordsAddress: 0, lockShard: 2, unlockShard: 2, next: 3, checkShard: 2, checkAllocator: 1,
  noteFault: 0, faults: 0, recoverBegin: 2, recoverShard: 3, freeOwner: 2, recoverEnd: 1, shardLockOwner: 1,
  locksHeldBy: 1, ownerAlive: 1, ownerThread: 1, attachedCount: 0, loadValueLogged: 2, loadNumberLogged: 2,
  hasLogged: 2, writeLogged: 6, debugEntries: 0, debugRead: 3,
};

/** Exports that can fail inside the core on a bug (they run table code);
 *  the rest only read header words. */
export const GUARDED: readonly (keyof CoreExports)[] = [
  'loadValue', 'loadNumber', 'has', 'copyTaggedValue', 'getMany', 'write', 'clearShard', 'purgeShardExpired',
  'flightBegin', 'flightEnd', 'flightWatch', 'next', 'checkShard', 'checkAllocator', 'shardStats', 'loadValueLogged',
  'loadNumberLogged', 'hasLogged', 'writeLogged',
];

/**
 * The core's exports as one instance uses them: with `logged`, the debug
 * ring's logging exports in place of the plain ones (swapped once, so the
 * hot path pays nothing when the ring is off), and every export that runs
 * table code wrapped once so that a trap or an abort inside it becomes
 * `onFault(error)`'s error (the one try/catch of the facade).
 */
export function guardedCore(x: CoreExports, logged: boolean, onFault: (e: unknown) => Error): CoreExports {
  const g: Record<string, unknown> = { ...x };
  for (const name of GUARDED) g[name] = guard(x[name] as Fn, CORE_ARITY[name], onFault);
  if (logged) {
    g.loadValue = g.loadValueLogged;
    g.loadNumber = g.loadNumberLogged;
    g.has = g.hasLogged;
    g.write = g.writeLogged;
  }
  return g as unknown as CoreExports;
}
