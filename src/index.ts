/** The package's main entry (`shardedmap`): the map, its errors and types,
 *  and the browser's SharedWorker cache client. Only entries re-export. */
export { ShardedMap } from './map/map.js';
export type {
  ShardedMapHandle, WatchableWorker, LoadResult, LoadOrStoreResult, SwapResult, WaitOptions, DebugEntry, DebugShard, Key,
  CheckReport, CheckProblem, MapStats, ShardStats, Counters, WriteOptions, FetchOptions, FetchStatus, Loader, CreateOptions,
  AttachOptions, SnapshotInfo,
} from './map/map.js';
export {
  ErrorCode, ShardedMapError, ShardedMapTypeError, ShardedMapRangeError, LockTimeoutError, SnapshotError,
} from './base/errors.js';
export type { ErrorCodeValue } from './base/errors.js';
export { connectSharedCache } from './browser/client.js';
export type { SharedCache, SharedCacheOptions, SharedCacheWriteOptions } from './browser/client.js';
