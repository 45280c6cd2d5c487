/**
 * Loading the Wasm core: one compiled module per JS realm, one instance per
 * ShardedMap instance (the instance's globals and data segments are its
 * own; all shared state is in the memory).
 */
import wasmBytes from '../build/core.wasm';
import { ErrorCode, ShardedMapError } from './errors';

/** The core's exports (see assembly/index.ts). All return i32 status codes
 *  from assembly/shared.ts unless said otherwise. */
export interface CoreExports {
  init(
    shardBits: number, maxOwners: number, seedLo: number, seedHi: number, idLo: number, idHi: number,
    maxKey: number, maxValue: number, perShard: number, maxPages: number, debugEntries: number,
  ): number;
  check(idLo: number, idHi: number): number;
  attach(): number;
  detach(owner: number): number;
  nop(): void;
  scratchOf(owner: number): number;
  shardCount(): number;
  maxKeyBytes(): number;
  maxValueBytes(): number;
  valueOffset(): number;
  auxOffset(): number;
  allocLockAddress(): number;
  shardsAddress(): number;
  shardHeaderBytes(): number;
  cellBytes(): number;
  cellForm(owner: number, klen: number): number;
  groupSlots(): number;
  headerBase(): number;
  shardLockOffset(): number;
  size(): number;
  usedBytes(): number;
  tablesBytes(): number;
  committedBytes(): number;
  get(owner: number, klen: number): number;
  contains(owner: number, klen: number): number;
  getF64(owner: number, klen: number): number;
  write(owner: number, op: number, klen: number, vtype: number, vlen: number, eword: number): number;
  clearShard(owner: number, shard: number): number;
  lockShard(owner: number, shard: number): number;
  unlockShard(owner: number, shard: number): number;
  next(owner: number, shard: number, cursor: number): number;
  recoverBegin(owner: number, victim: number): number;
  recoverShard(owner: number, victim: number, shard: number): number;
  freeOwner(owner: number, victim: number): number;
  recoverEnd(owner: number): number;
  shardLockOwner(shard: number): number;
  locksHeldBy(id: number): number;
  ownerAlive(id: number): number;
  getLogged(owner: number, klen: number): number;
  getF64Logged(owner: number, klen: number): number;
  containsLogged(owner: number, klen: number): number;
  writeLogged(owner: number, op: number, klen: number, vtype: number, vlen: number, eword: number): number;
  debugEntries(): number;
  debugRead(owner: number, shard: number, i: number): number;
  maxProbe(shard: number): number;
  checkShard(owner: number, shard: number): number;
  checkAllocator(owner: number): number;
  noteFault(): void;
  faults(): number;
  shardGroups(shard: number): number;
  /** Test only: see assembly/index.ts. */
  testHash(owner: number, klen: number, seedLo: number, seedHi: number): number;
  testOverwrite(owner: number, klen: number, byte: number, protect: number): number;
}

let compiled: Promise<WebAssembly.Module> | undefined;

/** The compiled core (compiled once per realm). */
export function coreModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(wasmBytes);
  return compiled;
}

/** Instantiate the core over `memory`. */
export async function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<CoreExports> {
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
  const instance = await WebAssembly.instantiate(module, { env: { memory, abort } });
  return instance.exports as unknown as CoreExports;
}
