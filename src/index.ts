export { ShardedMap } from './map';
export type {
  ShardedMapHandle, WatchableWorker, LoadResult, SwapResult, WaitOptions, DebugEntry, DebugShard, Key, CheckReport, CheckProblem,
  MapStats, ShardStats, Counters,
} from './map';
export type { CreateOptions, AttachOptions } from './options';
export {
  ErrorCode, ShardedMapError, ShardedMapTypeError, ShardedMapRangeError, LockTimeoutError,
} from './errors';
export type { ErrorCodeValue } from './errors';
export { connectSharedCache } from './shared-cache';
export type { SharedCache, SharedCacheOptions } from './shared-cache';
