export { ShardedMap } from './map.js';
export type {
  ShardedMapHandle, WatchableWorker, LoadResult, LoadOrStoreResult, SwapResult, WaitOptions, DebugEntry, DebugShard, Key, CheckReport, CheckProblem,
  MapStats, ShardStats, Counters, WriteOptions,
} from './map.js';
export type { FetchOptions, Loader } from './fetch.js';
export type { CreateOptions, AttachOptions } from './options.js';
export {
  ErrorCode, ShardedMapError, ShardedMapTypeError, ShardedMapRangeError, LockTimeoutError,
} from './errors.js';
export type { ErrorCodeValue } from './errors.js';
export { connectSharedCache } from './shared-cache.js';
export type { SharedCache, SharedCacheOptions, SharedCacheWriteOptions } from './shared-cache.js';
