/**
 * Errors a user can catch. Each has a stable `code`; each extends the
 * built-in class that fits (TypeError for a wrong type, RangeError for a
 * limit), so `instanceof RangeError` works as well as checking `code`.
 */

/** Error codes, stable across versions. */
export const ErrorCode = {
  /** A key is not a string, number, bigint or Uint8Array. */
  KEY_TYPE: 'ERR_SHARDEDMAP_KEY_TYPE',
  /** A value cannot be stored (function, symbol, cycle...). */
  VALUE_TYPE: 'ERR_SHARDEDMAP_VALUE_TYPE',
  /** A stored value is not a number (loadNumber). */
  NOT_A_NUMBER: 'ERR_SHARDEDMAP_NOT_A_NUMBER',
  /** An encoded key is longer than `maxKeyBytes`. */
  KEY_TOO_LARGE: 'ERR_SHARDEDMAP_KEY_TOO_LARGE',
  /** An encoded value is longer than `maxValueBytes`. */
  VALUE_TOO_LARGE: 'ERR_SHARDEDMAP_VALUE_TOO_LARGE',
  /** The shared memory reached `maxMemory`; the map is unchanged. */
  MEMORY_FULL: 'ERR_SHARDEDMAP_MEMORY_FULL',
  /** `maxWorkers` instances are attached already. */
  TOO_MANY_WORKERS: 'ERR_SHARDEDMAP_TOO_MANY_WORKERS',
  /** `release` was given something that is not another instance's owner id. */
  BAD_OWNER: 'ERR_SHARDEDMAP_BAD_OWNER',
  /** An argument other than a key, value or option is wrong (a callback
   *  that is not a function). */
  INVALID_ARGUMENT: 'ERR_SHARDEDMAP_INVALID_ARGUMENT',
  /** An option is missing, of the wrong type or out of range. */
  INVALID_OPTION: 'ERR_SHARDEDMAP_INVALID_OPTION',
  /** `attach` was given something that is not a handle of a live map. */
  BAD_HANDLE: 'ERR_SHARDEDMAP_BAD_HANDLE',
  /** The handle was made by a build with another memory layout. */
  LAYOUT_VERSION: 'ERR_SHARDEDMAP_LAYOUT_VERSION',
  /** A browser page without cross-origin isolation cannot share memory. */
  NOT_ISOLATED: 'ERR_SHARDEDMAP_NOT_ISOLATED',
  /** The instance was closed; attach again to use the map. */
  CLOSED: 'ERR_SHARDEDMAP_CLOSED',
  /** A shard stayed locked longer than `lockTimeout`. */
  LOCK_TIMEOUT: 'ERR_SHARDEDMAP_LOCK_TIMEOUT',
  /** The core reported an impossible state: a bug, please report it. */
  INTERNAL: 'ERR_SHARDEDMAP_INTERNAL',
  /** The browser cache's worker could not start, or died. */
  WORKER_FAILED: 'ERR_SHARDEDMAP_WORKER_FAILED',
  /** No reply within the time allowed (the browser cache client). */
  TIMEOUT: 'ERR_SHARDEDMAP_TIMEOUT',
  /** Cache maps: an entry larger than a shard's byte budget (maxBytes /
   *  shards) can never be stored; the map is unchanged. */
  ENTRY_TOO_LARGE: 'ERR_SHARDEDMAP_ENTRY_TOO_LARGE',
  /** fetch(): the loader failed in another worker (its message is in this
   *  error's). */
  FETCH_FAILED: 'ERR_SHARDEDMAP_FETCH_FAILED',
  /** shardedmap/redis: Redis could not be reached, or a command failed or
   *  took longer than `commandTimeout` (the cause is attached). */
  REDIS: 'ERR_SHARDEDMAP_REDIS',
  /** restore(): the file is not a shardedmap snapshot (its first bytes
   *  are not the snapshot magic). */
  SNAPSHOT_FOREIGN: 'ERR_SHARDEDMAP_SNAPSHOT_FOREIGN',
  /** restore(): the snapshot was written in a newer format than this
   *  version reads. */
  SNAPSHOT_VERSION: 'ERR_SHARDEDMAP_SNAPSHOT_VERSION',
  /** restore(): the snapshot ends before its header says it does (a copy
   *  cut short; a crash never leaves one: snapshots are renamed into
   *  place whole). */
  SNAPSHOT_TRUNCATED: 'ERR_SHARDEDMAP_SNAPSHOT_TRUNCATED',
  /** restore(): the snapshot's checksum or structure is wrong (bytes
   *  changed on disk, or extra bytes at its end). */
  SNAPSHOT_CORRUPT: 'ERR_SHARDEDMAP_SNAPSHOT_CORRUPT',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A key or value of a type the map cannot hold. */
export class ShardedMapTypeError extends TypeError {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string) {
    super(message);
    this.name = 'ShardedMapTypeError';
    this.code = code;
  }
}

/** A limit was reached: key or value size, memory, attached workers, or an
 *  option out of range. The map is unchanged. */
export class ShardedMapRangeError extends RangeError {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string) {
    super(message);
    this.name = 'ShardedMapRangeError';
    this.code = code;
  }
}

/** Any other failure: closed instance, bad handle, internal error. */
export class ShardedMapError extends Error {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string) {
    super(message);
    this.name = 'ShardedMapError';
    this.code = code;
  }
}

/** A shard (or the allocator) stayed locked past `lockTimeout` ms. */
/** LockTimeoutError's `shard` for the record area's lock. */
export const RECORDS_LOCK_SHARD = -2;

export class LockTimeoutError extends ShardedMapError {
  /** Index of the shard, -1 for the memory allocator, -2 for the record
   *  area (objects' shared shapes). */
  readonly shard: number;
  /** Owner id holding the lock (see `ShardedMap.owner`). */
  readonly owner: number;
  constructor(shard: number, owner: number, ms: number) {
    super(
      ErrorCode.LOCK_TIMEOUT,
      `${shard === RECORDS_LOCK_SHARD ? 'the record area' : shard < 0 ? 'the allocator' : `shard ${shard}`} is still locked by owner ${owner} after ${ms} ms; ` +
        'if that owner died, release it with map.release(owner)',
    );
    this.name = 'LockTimeoutError';
    this.shard = shard;
    this.owner = owner;
  }
}

/** A snapshot that cannot be restored (code SNAPSHOT_*); no map was made. */
export class SnapshotError extends ShardedMapError {
  /** The file's path. */
  readonly path: string;
  constructor(code: ErrorCodeValue, path: string, message: string) {
    super(code, `${path}: ${message}`);
    this.name = 'SnapshotError';
    this.path = path;
  }
}

// ---- the errors the facade raises in more than one place ---------------------

export function closedError(): ShardedMapError {
  return new ShardedMapError(ErrorCode.CLOSED, 'this ShardedMap instance is closed; attach again to use the map');
}

export function releasedError(): ShardedMapError {
  return new ShardedMapError(
    ErrorCode.CLOSED,
    'this instance was released by another (map.release) and is closed; attach again to use the map',
  );
}

/** The core refused something the facade should never ask: a bug. */
export function internalError(what: string): ShardedMapError {
  return new ShardedMapError(ErrorCode.INTERNAL, `the core refused ${what} (a shardedmap bug; please report it)`);
}

export function memoryFull(): ShardedMapRangeError {
  return new ShardedMapRangeError(
    ErrorCode.MEMORY_FULL,
    'the shared memory reached maxMemory; the map is unchanged. Delete entries or create the map with a larger maxMemory',
  );
}

export function entryTooLarge(maxBytes: number, shards: number): ShardedMapRangeError {
  return new ShardedMapRangeError(
    ErrorCode.ENTRY_TOO_LARGE,
    `the entry's key and value take more bytes than a shard may hold (maxBytes ${maxBytes} / ${shards} shards); the map is unchanged. Create the cache with a larger maxBytes or fewer shards`,
  );
}
