/**
 * The handle of a map: what `attach` takes, and its validation (a handle
 * comes from another agent, by postMessage or workerData, so every field
 * is checked before the memory is touched).
 */
import { LAYOUT_VERSION, PAGE_BYTES } from '../../assembly/shared.js';
import { ErrorCode, ShardedMapError } from '../base/errors.js';
import type { WasmMemory } from '../base/platform.js';

/**
 * What `attach` needs: a plain, structured-cloneable object. Post it to a
 * worker (`workerData`, `postMessage`) and call `ShardedMap.attach` there.
 */
export interface ShardedMapHandle {
  /** The shared memory holding the whole map. */
  readonly memory: WasmMemory;
  /** The map's random id, as two uint32 (low, high). */
  readonly mapId: readonly [number, number];
  /** Memory layout version of the build that created the map. */
  readonly layoutVersion: number;
}

/** Throw BAD_HANDLE saying `why`. */
export function badHandle(why: string): never {
  throw new ShardedMapError(ErrorCode.BAD_HANDLE, `not a ShardedMap handle: ${why}; pass map.handle from ShardedMap.create`);
}

/** Check what attach was given; the map id, if it is a handle of this
 *  build's layout (whether a map is there, the core tells). */
export function checkHandle(handle: ShardedMapHandle): [number, number] {
  if (typeof handle !== 'object' || handle === null) badHandle('expected an object');
  if (!(handle.memory instanceof WebAssembly.Memory)) badHandle('memory is not a WebAssembly.Memory');
  // Not `instanceof SharedArrayBuffer`: a SharedWorker has no such global.
  if (Object.prototype.toString.call(handle.memory.buffer) !== '[object SharedArrayBuffer]') badHandle('memory is not shared');
  // The core imports at least one page (instantiating with less is a LinkError).
  if (handle.memory.buffer.byteLength < PAGE_BYTES) badHandle('its memory is too small to hold a map');
  const id = handle.mapId;
  if (!Array.isArray(id) || id.length !== 2 || !id.every((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32)) {
    badHandle('mapId is not two uint32');
  }
  if (handle.layoutVersion !== LAYOUT_VERSION) {
    throw new ShardedMapError(
      ErrorCode.LAYOUT_VERSION,
      `the map was created with memory layout ${String(handle.layoutVersion)}, this build reads layout ${LAYOUT_VERSION}; use the same shardedmap version in every worker`,
    );
  }
  return [id[0], id[1]];
}
