/**
 * Warm restart (Node only): `map.snapshot(path)` writes every live entry,
 * as the bytes the map holds, with its expiry, to a file; `restore` reads
 * one back into a new map. File I/O is behind dynamic imports of node:
 * modules, so the browser bundle carries none of it (there, both reject).
 *
 * Contract: the snapshot copies each shard under its lock (as iteration
 * does, iterate.ts) into a private buffer, then writes that buffer with the
 * lock released: each shard is consistent at the moment it was copied,
 * the file as a whole is not a point in time, and other workers read and
 * write meanwhile (each shard waits only while it is copied). The file is
 * written as `<path>.<random>.tmp`, fsynced, renamed over `path` and the
 * directory fsynced, so a crash leaves the previous snapshot whole.
 * Restore reads and checks the whole file (header, checksums, every
 * record's bounds) before it makes the map: a bad file fails with a
 * SnapshotError and no map; a map that cannot take the entries (memory
 * full) is closed before the error is thrown.
 *
 * Format (little-endian), version 1:
 *   header, HEADER_BYTES:
 *     0  'SHMAPSNP'              magic
 *     8  u32 version             SNAPSHOT_VERSION
 *     12 u32 header crc32        of the header with this field 0
 *     16 f64 written at          ms since the epoch (the map's clock)
 *     24 f64 entries
 *     32 f64 body bytes
 *     40 u32 body crc32
 *     44 u32 shards              the map's settings, which `restore`
 *     48 u32 maxEntries (0 none)   uses when given no options
 *     52 u32 maxBytes (0 none)
 *     56 f64 ttl (0 none)
 *     64 u32 maxKeyBytes
 *     68 u32 maxValueBytes
 *     72 u32 flags               1: the map is a cache
 *     76 4 bytes 0
 *     80 u64 hash seed           the map's: the restored map takes it
 *                                (unless given another), so records in
 *                                file order fill its tables in order
 *                                (measured 2x faster than another seed)
 *     88 u32 shape log bytes     the record area's log (see below)
 *     92 4 bytes 0
 *   body: one record per entry, in hash order, shard by shard:
 *     u32 klen, u32 value word (vtype << 24 | vlen, no META flag),
 *     f64 expiry (ms since the epoch; 0: none), key bytes, value bytes
 *     (both as the map stores them: codec.ts);
 *   then the map's shape log (codec/records.ts), read after every shard
 *     was copied, so it holds every shape a copied object names; restore
 *     writes it into the new map's record area before any value.
 * Expiries are absolute: an entry restored later expires when it would
 * have, downtime included (memcached's warm restart does the same).
 */
import {
  ST_OK, ST_BUSY, ST_FULL, ST_TOO_LARGE, OP_STORE, VTYPE_META, VTYPE_SHIFT, SCRATCH_KLEN, SCRATCH_WORD, CNT_STORES,
  RECORDS_USED, RECORDS_LOG, RECORDS_AREA_BYTES,
} from '../../assembly/shared.js';
import { hasExpiry, vtypeOf, vlenOf } from '../codec/words.js';
import { ErrorCode, ShardedMapError, ShardedMapTypeError, SnapshotError, memoryFull } from '../base/errors.js';
import { CACHE_MEMORY_PER_BYTE, type CreateOptions } from '../base/options.js';
import type { Session } from './session.js';

export const SNAPSHOT_MAGIC = 'SHMAPSNP';
export const SNAPSHOT_VERSION = 2;
export const HEADER_BYTES = 96;
/** Bytes of a record before its key. */
const RECORD_HEAD = 16;
/** The snapshot flushes its buffer to the file past this many bytes
 *  (between shards, never under a lock): the buffer stays small. */
const FLUSH_BYTES = 1 << 20;
/** Keys and values up to this many bytes are copied by a loop: cheaper
 *  than a subarray and a set for the small entries most maps hold. */
const LOOP_COPY_MAX = 32;

/** What a snapshot wrote. */
export interface SnapshotInfo {
  /** Entries written (live ones: expired entries are left out). */
  entries: number;
  /** Bytes of the file. */
  bytes: number;
}

/** The map settings a snapshot records (what `restore` uses by default). */
export interface SnapshotSettings {
  cache: boolean;
  shards: number;
  maxEntries: number;
  maxBytes: number;
  ttl: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  seed: bigint;
}

/** A snapshot read and checked: its settings and body. */
export interface SnapshotFile {
  path: string;
  settings: SnapshotSettings;
  entries: number;
  body: Uint8Array;
  /** The map's shape log (codec/records.ts). */
  shapes: Uint8Array;
  /** Does any record have an expiry? */
  expiring: boolean;
}

type Fs = typeof import('node:fs/promises');
const NODE_FS = 'node:fs/promises';
const NODE_ZLIB = 'node:zlib';
type Crc32 = (data: Uint8Array, value?: number) => number;

async function nodeIO(what: string): Promise<{ fs: Fs; crc32: Crc32 }> {
  try {
    // Specifiers in variables: a bundler for the browser (Vite, esbuild)
    // leaves such an import alone instead of failing to resolve it.
    const [fs, zlib] = await Promise.all([import(/* @vite-ignore */ NODE_FS), import(/* @vite-ignore */ NODE_ZLIB)]) as [Fs, unknown];
    const crc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;
    if (typeof crc32 !== 'function') throw new Error('node:zlib has no crc32 (Node >= 20.15 has)');
    return { fs, crc32 };
  } catch (e) {
    throw new ShardedMapError(ErrorCode.INVALID_ARGUMENT, `${what} needs Node's fs and zlib.crc32: ${(e as Error).message}`);
  }
}

/** A growable private byte buffer. */
class Out {
  u8 = new Uint8Array(FLUSH_BYTES * 2);
  dv = new DataView(this.u8.buffer);
  n = 0;
  room(k: number): void {
    if (this.n + k <= this.u8.length) return;
    const next = new Uint8Array(Math.max(this.u8.length * 2, this.n + k));
    next.set(this.u8.subarray(0, this.n));
    this.u8 = next;
    this.dv = new DataView(next.buffer);
  }
}

function copyBytes(from: Uint8Array, p: number, to: Uint8Array, q: number, n: number): void {
  if (n <= LOOP_COPY_MAX) for (let i = 0; i < n; i++) to[q + i] = from[p + i]!;
  else to.set(from.subarray(p, p + n), q);
}

/** The settings of the map behind `s`, as a snapshot records them. */
function settingsOf(s: Session): SnapshotSettings {
  const x = s.core;
  return {
    cache: s.cacheFlags >= 0, shards: x.shardCount(), maxEntries: x.cacheMaxEntries(), maxBytes: x.cacheMaxBytes(),
    ttl: s.ttl, maxKeyBytes: s.maxKey, maxValueBytes: s.maxValue,
    seed: (BigInt(x.hashSeed(1) >>> 0) << 32n) | BigInt(x.hashSeed(0) >>> 0),
  };
}

/** Write the snapshot of the map behind `s` to `path` (see the top). */
export async function writeSnapshot(s: Session, path: string): Promise<SnapshotInfo> {
  const settings = settingsOf(s);
  if (typeof path !== 'string' || path === '') {
    throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, 'snapshot: path must be a non-empty string');
  }
  const { fs, crc32 } = await nodeIO('snapshot');
  const tmp = `${path}.${Math.random().toString(36).slice(2)}.tmp`;
  const fh = await fs.open(tmp, 'w');
  try {
    const out = new Out();
    let position = HEADER_BYTES;
    let crc = 0;
    let entries = 0;
    const flush = async () => {
      if (out.n === 0) return;
      const chunk = out.u8.subarray(0, out.n);
      crc = crc32(chunk, crc);
      await fh.write(chunk, 0, out.n, position);
      position += out.n;
      out.n = 0;
    };
    const klenIdx = (s.scratch + SCRATCH_KLEN) >>> 2;
    const wordIdx = (s.scratch + SCRATCH_WORD) >>> 2;
    const u8 = s.u8;
    const n = s.core.shardCount();
    for (let shard = 0; shard < n; shard++) {
      s.alive();
      const now = s.cacheFlags >= 0 ? s.now() : 0;
      s.lockShard(shard);
      try {
        for (let c = s.core.next(s.token, shard, 0); c > 0; c = s.core.next(s.token, shard, c)) {
          const w = s.i32[wordIdx]!;
          let exp = 0;
          if (hasExpiry(w)) {
            exp = s.f64[s.expIdx]!;
            if (exp !== 0 && exp <= now) continue;
          }
          const klen = s.i32[klenIdx]!;
          const vlen = vlenOf(w);
          out.room(RECORD_HEAD + klen + vlen);
          const p = out.n;
          out.dv.setUint32(p, klen, true);
          out.dv.setUint32(p + 4, (w & ~(VTYPE_META << VTYPE_SHIFT)) >>> 0, true);
          out.dv.setFloat64(p + 8, exp, true);
          copyBytes(u8, s.key, out.u8, p + RECORD_HEAD, klen);
          copyBytes(u8, s.aux, out.u8, p + RECORD_HEAD + klen, vlen);
          out.n = p + RECORD_HEAD + klen + vlen;
          entries++;
        }
      } finally {
        s.core.unlockShard(s.token, shard);
      }
      if (out.n >= FLUSH_BYTES) await flush();
    }
    // The shape log as it is now: it only grows, so it names every shape
    // of the objects copied above.
    const area = s.core.recordsAddress();
    const logBytes = Atomics.load(s.i32, (area + RECORDS_USED) >>> 2);
    out.room(logBytes);
    copyBytes(u8, area + RECORDS_LOG, out.u8, out.n, logBytes);
    out.n += logBytes;
    await flush();
    const header = new Uint8Array(HEADER_BYTES);
    const dv = new DataView(header.buffer);
    for (let i = 0; i < 8; i++) header[i] = SNAPSHOT_MAGIC.charCodeAt(i);
    dv.setUint32(8, SNAPSHOT_VERSION, true);
    dv.setFloat64(16, s.cacheFlags >= 0 ? s.now() : Date.now(), true);
    dv.setFloat64(24, entries, true);
    dv.setFloat64(32, position - HEADER_BYTES, true);
    dv.setUint32(40, crc, true);
    dv.setUint32(44, settings.shards, true);
    dv.setUint32(48, settings.maxEntries, true);
    dv.setUint32(52, settings.maxBytes, true);
    dv.setFloat64(56, settings.ttl, true);
    dv.setUint32(64, settings.maxKeyBytes, true);
    dv.setUint32(68, settings.maxValueBytes, true);
    dv.setUint32(72, settings.cache ? 1 : 0, true);
    dv.setBigUint64(80, settings.seed, true);
    dv.setUint32(88, logBytes, true);
    dv.setUint32(12, crc32(header), true);
    await fh.write(header, 0, HEADER_BYTES, 0);
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, path);
    await syncDirectory(fs, path);
    return { entries, bytes: position };
  } catch (e) {
    await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/** fsync the directory holding `path`, so that its rename is durable
 *  (where the platform allows opening a directory; Windows does not). */
async function syncDirectory(fs: Fs, path: string): Promise<void> {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const dir = slash < 0 ? '.' : slash === 0 ? '/' : path.slice(0, slash);
  try {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Not supported here: the rename is as durable as the platform makes it.
  }
}

/** Read and check snapshot `path` whole (see the top); throws a
 *  SnapshotError for anything but a sound snapshot of this format. */
export async function readSnapshot(path: string): Promise<SnapshotFile> {
  if (typeof path !== 'string' || path === '') {
    throw new ShardedMapTypeError(ErrorCode.INVALID_ARGUMENT, 'restore: path must be a non-empty string');
  }
  const { fs, crc32 } = await nodeIO('restore');
  const bytes: Uint8Array = await fs.readFile(path);
  const fail = (code: typeof ErrorCode[keyof typeof ErrorCode], message: string): never => {
    throw new SnapshotError(code, path, message);
  };
  const magic = SNAPSHOT_MAGIC.split('').map((c) => c.charCodeAt(0));
  for (let i = 0; i < 8; i++) {
    if (i >= bytes.length) fail(bytes.length === 0 ? ErrorCode.SNAPSHOT_FOREIGN : ErrorCode.SNAPSHOT_TRUNCATED, `not a whole snapshot header (${bytes.length} bytes)`);
    if (bytes[i] !== magic[i]) fail(ErrorCode.SNAPSHOT_FOREIGN, 'not a shardedmap snapshot (its first bytes are not the snapshot magic)');
  }
  if (bytes.length < HEADER_BYTES) fail(ErrorCode.SNAPSHOT_TRUNCATED, `the file ends inside the snapshot header (${bytes.length} of ${HEADER_BYTES} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  const header = new Uint8Array(bytes.subarray(0, HEADER_BYTES)); // a copy (Buffer#slice is a view)
  new DataView(header.buffer).setUint32(12, 0, true);
  if (crc32(header) !== dv.getUint32(12, true)) fail(ErrorCode.SNAPSHOT_CORRUPT, 'the snapshot header fails its checksum');
  if (version > SNAPSHOT_VERSION) fail(ErrorCode.SNAPSHOT_VERSION, `snapshot format ${version} is newer than this version of shardedmap reads (${SNAPSHOT_VERSION})`);
  if (version !== SNAPSHOT_VERSION) fail(ErrorCode.SNAPSHOT_CORRUPT, `unknown snapshot format ${version}`);
  const entries = dv.getFloat64(24, true);
  const bodyBytes = dv.getFloat64(32, true);
  const got = bytes.length - HEADER_BYTES;
  if (got < bodyBytes) fail(ErrorCode.SNAPSHOT_TRUNCATED, `the file ends ${bodyBytes - got} bytes early (its body has ${got} of ${bodyBytes} bytes)`);
  if (got > bodyBytes) fail(ErrorCode.SNAPSHOT_CORRUPT, `${got - bodyBytes} bytes follow the snapshot's end`);
  const whole = bytes.subarray(HEADER_BYTES);
  if (crc32(whole) !== dv.getUint32(40, true)) fail(ErrorCode.SNAPSHOT_CORRUPT, 'the snapshot body fails its checksum');
  const logBytes = dv.getUint32(88, true);
  if (logBytes > whole.length || logBytes > RECORDS_AREA_BYTES - RECORDS_LOG) fail(ErrorCode.SNAPSHOT_CORRUPT, 'the shape log does not fit');
  const body = whole.subarray(0, whole.length - logBytes);
  const shapes = whole.subarray(whole.length - logBytes);
  // Every record's bounds, before any map is made.
  const bdv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let p = 0;
  let n = 0;
  let expiring = false;
  while (p < body.length) {
    if (p + RECORD_HEAD > body.length) fail(ErrorCode.SNAPSHOT_CORRUPT, `record ${n} is cut short`);
    const klen = bdv.getUint32(p, true);
    const w = bdv.getUint32(p + 4, true);
    if (klen < 2 || (w & (VTYPE_META << VTYPE_SHIFT)) !== 0) fail(ErrorCode.SNAPSHOT_CORRUPT, `record ${n} is malformed`);
    if (bdv.getFloat64(p + 8, true) !== 0) expiring = true;
    p += RECORD_HEAD + klen + vlenOf(w);
    n++;
  }
  if (p !== body.length || n !== entries) fail(ErrorCode.SNAPSHOT_CORRUPT, `the body holds ${n} records, the header says ${entries}`);
  return {
    path,
    entries,
    body,
    shapes,
    expiring,
    settings: {
      cache: (dv.getUint32(72, true) & 1) !== 0,
      shards: dv.getUint32(44, true),
      maxEntries: dv.getUint32(48, true),
      maxBytes: dv.getUint32(52, true),
      ttl: dv.getFloat64(56, true),
      maxKeyBytes: dv.getUint32(64, true),
      maxValueBytes: dv.getUint32(68, true),
      seed: dv.getBigUint64(80, true),
    },
  };
}

/** `create`'s options for restoring `file`: `given`, or those of a map like
 *  the one the snapshot was taken of (with memory enough for its
 *  maxBytes); either way, unless given, sized up front for the entries
 *  (initialCapacity: a restore never resizes a table) and with the
 *  snapshot's hash seed (the records come in its table order). */
export function restoreOptions(file: SnapshotFile, given: CreateOptions | undefined): CreateOptions {
  const st = file.settings;
  if (given !== undefined) {
    if (typeof given !== 'object' || given === null) return given;
    return {
      initialCapacity: Math.min(file.entries, given.maxEntries ?? Infinity), seed: st.seed, ...given,
    };
  }
  const o: CreateOptions = {
    shards: st.shards, maxKeyBytes: st.maxKeyBytes, maxValueBytes: st.maxValueBytes,
    initialCapacity: Math.min(file.entries, st.maxEntries || Infinity), seed: st.seed,
  };
  if (!st.cache) return o;
  o.ttl = st.ttl;
  if (st.maxEntries > 0) o.maxEntries = st.maxEntries;
  if (st.maxBytes > 0) {
    o.maxBytes = st.maxBytes;
    const need = Math.ceil(st.maxBytes * CACHE_MEMORY_PER_BYTE) + 2 * st.maxValueBytes;
    o.maxMemory = Math.max(1 << 30, Math.ceil(need / 65536) * 65536);
  }
  return o;
}

/** Store every entry of `file` not yet expired into the (new, empty) map
 *  behind `s`, as its bytes; entries too large for its limits are left
 *  out, and its bounds evict as any store does. Returns entries stored. */
export function fillFromSnapshot(s: Session, file: SnapshotFile): number {
  const { body } = file;
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const u8 = s.u8;
  const cache = s.cacheFlags >= 0;
  if (file.expiring && !cache) {
    throw new ShardedMapTypeError(ErrorCode.INVALID_OPTION, `restore: ${file.path} holds entries with a ttl; restore it into a cache (give maxEntries, maxBytes or ttl)`);
  }
  // The shapes first (a fresh map: its log is empty and no one else has
  // its handle yet), so that every object stored below decodes.
  const area = s.core.recordsAddress();
  u8.set(file.shapes, area + RECORDS_LOG);
  Atomics.store(s.i32, (area + RECORDS_USED) >>> 2, file.shapes.length);
  const now = cache ? s.now() : 0;
  s.f64[s.nowIdx] = now;
  let stored = 0;
  let p = 0;
  while (p < body.length) {
    const klen = dv.getUint32(p, true);
    const w = dv.getUint32(p + 4, true);
    const exp = dv.getFloat64(p + 8, true);
    const vlen = vlenOf(w);
    const k = p + RECORD_HEAD;
    p = k + klen + vlen;
    if ((exp !== 0 && exp <= now) || klen > s.maxKey || vlen > s.maxValue) continue;
    copyBytes(body, k, u8, s.key, klen);
    copyBytes(body, k + klen, u8, s.val, vlen);
    s.f64[s.expIdx] = exp;
    let st = s.core.write(s.token, OP_STORE, klen, vtypeOf(w), vlen, 0);
    if (st === ST_BUSY) st = s.retry(() => s.core.write(s.token, OP_STORE, klen, vtypeOf(w), vlen, 0), undefined, st);
    if (st === ST_OK) stored++;
    else if (st === ST_FULL) throw memoryFull();
    else if (st !== ST_TOO_LARGE) throw new SnapshotError(ErrorCode.SNAPSHOT_CORRUPT, file.path, `the map refused record ${stored} (status ${st})`);
  }
  s.count(CNT_STORES, stored);
  return stored;
}
