/**
 * Objects as msgpackr records over the map's shared shapes: what a stored
 * object costs is its values, not its field names again and again, and
 * msgpackr packs and unpacks records faster than maps (measured here, a
 * 4-field object: 38 bytes instead of 59, unpack 220 ns instead of 300-400).
 *
 * The shapes (msgpackr "structures": key lists) live in the map's record
 * area (assembly/shared.ts RECORDS_*), an append-only log every instance of
 * the map reads: a value written by one worker with record id i decodes in
 * any other with the same shape, because an id, once published, never
 * changes. msgpackr asks for the shapes (`getStructures`) when it meets an
 * id it does not know, and offers new ones (`saveStructures`) after packing
 * a value that uses them; the offer is refused if another instance
 * published shapes meanwhile (msgpackr then reloads and packs again), so
 * two instances never give one id to two shapes.
 *
 * Contract: the log is only appended to, under the area's lock word (an
 * owner id, as shard locks hold); an entry is written past `used` and
 * published by one atomic store of `used`, so a writer stopped at any point
 * leaves the log as it was. A lock left by an owner that was released (or
 * closed) is taken over. Every encoding is canonical: whether a shape is
 * shared depends on the shape alone (RECORD_KEYS_MAX, RECORD_SHAPE_BYTES)
 * and on the count published (RECORDS_MAX, which only grows), so an object
 * packs to the same bytes each time (compareAndSwap compares bytes).
 * Values of shapes past the bound carry their shape inline (msgpackr's
 * own structures): readable, bigger, never more shared memory. Objects
 * whose shapes are all published are written by shapes.ts, not msgpackr,
 * to the same bytes (RecordCodec.write).
 */
import { Packr, REUSE_BUFFER_MODE, RESET_BUFFER_MODE } from 'msgpackr';
import {
  RECORDS_LOCK, RECORDS_USED, RECORDS_LOG, RECORDS_AREA_BYTES, RECORDS_MAX, RECORD_SHAPE_BYTES, RECORD_KEYS_MAX,
  OWNER_ID_MASK,
} from '../../assembly/shared.js';
import { LockTimeoutError, RECORDS_LOCK_SHARD } from '../base/errors.js';
import { now, isWellFormed } from '../base/platform.js';
import { waitWord } from '../base/wait.js';
import { MSGPACK_OPTIONS, plainPackr, safePack, safeUnpack } from './msgpack.js';
import { ShapeWriter, type Shape } from './shapes.js';

/** A waiter for the record lock looks whether its holder is gone at
 *  least this often (a closed or released holder notifies no one). */
const GONE_CHECK_MS = 10;
type PackrOptions = ConstructorParameters<typeof Packr>[0];
/** msgpackr's pack flags for values: return its target itself, the bytes'
 *  bounds on it (no subarray to allocate per value), and start the next
 *  value where this one started (the bytes are copied, or were written in
 *  place, before the next pack: one warm buffer instead of a new 8 KiB one
 *  every hundred values). */
const PACK_FLAGS = REUSE_BUFFER_MODE | RESET_BUFFER_MODE;
/** The private buffer's first size; msgpackr grows it for longer values,
 *  and a grown one is kept up to OWN_BUFFER_KEEP bytes. */
const OWN_BUFFER_BYTES = 8192;
const OWN_BUFFER_KEEP = 1 << 20;
const BufferCtor = (globalThis as unknown as { Buffer?: { allocUnsafeSlow(n: number): Uint8Array } }).Buffer;
/** A private buffer for msgpackr to pack into (a Node Buffer where there
 *  is one: msgpackr's Node paths write strings with Buffer#utf8Write). */
const privateBuffer = (): Uint8Array => (BufferCtor ? BufferCtor.allocUnsafeSlow(OWN_BUFFER_BYTES) : new Uint8Array(OWN_BUFFER_BYTES));
/** What msgpackr packs into between the values of every codec in this
 *  thread (RecordCodec.pack): one for all of them, since msgpackr's buffer
 *  and position are one for the whole thread. */
let spare = privateBuffer();

/** The property under which msgpackr's records writer keeps a shape's
 *  keys in its index of shapes (a trie of the keys, one node per key:
 *  msgpackr 2.1.3, pack.js). An object with a key of that name takes that
 *  place, and from then on objects of other shapes ({} among them) fail
 *  to pack in that thread ("keys is not iterable"). */
const MSGPACKR_KEYS_WORD = '__keys__';

/** How deep holdsKeysWord looks: deeper values are packed plain (a cycle
 *  is then refused by msgpackr as before). Far below what the stack
 *  takes wherever a store is called from (at msgpackr's bound, 4,096, a
 *  50,000-deep array overflowed the stack here before msgpackr could
 *  refuse it with a typed error). */
const KEYS_WALK_DEPTH_MAX = 256;

/** Does `v` hold an object with an own key MSGPACKR_KEYS_WORD, where
 *  msgpackr would write it as a record (objects, in arrays, Sets and Maps
 *  too)? Such a value is packed as plain MessagePack (maps, which
 *  the record reader reads as well), so msgpackr's index never sees the
 *  word: a choice made by the value alone, so its bytes are the same each
 *  time. Also true past KEYS_WALK_DEPTH_MAX levels. */
function holdsKeysWord(v: object, depth: number): boolean {
  if (depth > KEYS_WALK_DEPTH_MAX) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null && holdsKeysWord(x, depth + 1)) return true;
    }
    return false;
  }
  if (Object.hasOwn(v, MSGPACKR_KEYS_WORD)) return true;
  if (v instanceof Map) {
    // (A Map's keys too: msgpackr packs an object key as it packs values.)
    for (const [k, x] of v) if ((typeof k === 'object' && k !== null && holdsKeysWord(k, depth + 1)) || (typeof x === 'object' && x !== null && holdsKeysWord(x, depth + 1))) return true;
    return false;
  }
  if (v instanceof Set) {
    for (const x of v) if (typeof x === 'object' && x !== null && holdsKeysWord(x, depth + 1)) return true;
    return false;
  }
  if (ArrayBuffer.isView(v) || v instanceof Date) return false;
  // (Inherited enumerable keys too, which msgpackr skips: looking at more
  // than it writes costs nothing but time, and the answer is the value's.)
  for (const k in v) {
    const x: unknown = (v as Record<string, unknown>)[k];
    if (typeof x === 'object' && x !== null && holdsKeysWord(x, depth + 1)) return true;
  }
  return false;
}

/** What the table needs of its map instance. */
export interface RecordHost {
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  /** The record area's address. */
  readonly area: number;
  /** This instance's owner id (what the lock word holds). */
  readonly owner: number;
  /** Is owner `id` gone (released or closed), so that its lock is free? */
  ownerGone(id: number): boolean;
  readonly lockTimeout: number;
}

/** The shared shapes of one map, as one instance sees them. */
export class RecordTable {
  readonly #h: RecordHost;
  /** Shapes read from the log so far, and the log bytes they took. */
  readonly #shapes: Shape[] = [];
  #read = 0;

  constructor(host: RecordHost) {
    this.#h = host;
  }

  /** Every published shape (msgpackr's getStructures): fresh arrays, since
   *  msgpackr marks what it is given. */
  load = (): Shape[] => {
    this.#refresh();
    return this.#shapes.map((s) => s.slice());
  };

  /** msgpackr's saveStructures: publish the shapes of `structures` past
   *  those already in the log, unless the log changed since this instance
   *  last read it (false: msgpackr reloads and packs again). */
  save = (structures: Shape[], isCompatible: (existing: Shape[]) => boolean): boolean => {
    const h = this.#h;
    this.#lock();
    try {
      this.#refresh();
      if (!isCompatible(this.#shapes.map((s) => s.slice()))) return false;
      let used = this.#read;
      const n = Math.min(structures.length, RECORDS_MAX);
      for (let i = this.#shapes.length; i < n; i++) {
        const bytes = plainPackr.pack(structures[i]);
        // Cannot happen (shouldShare bounds every shape and RECORDS_MAX the
        // count so that they fit): refuse rather than write past the area.
        if (bytes.length > RECORD_SHAPE_BYTES || RECORDS_LOG + used + 2 + bytes.length > RECORDS_AREA_BYTES) return false;
        const at = h.area + RECORDS_LOG + used;
        h.u8[at] = bytes.length & 0xff;
        h.u8[at + 1] = bytes.length >>> 8;
        h.u8.set(bytes, at + 2);
        used += 2 + bytes.length;
      }
      // Publishes every entry written above (they are complete before it).
      Atomics.store(h.i32, (h.area + RECORDS_USED) >>> 2, used);
      this.#refresh();
      return true;
    } finally {
      this.#unlock();
    }
  };

  /** msgpackr's shouldShareStructure: is a new shape small enough to share
   *  (by the shape alone: the same answer in every instance, every time)? */
  shouldShare = (keys: Shape): boolean => {
    if (keys.length > RECORD_KEYS_MAX) return false;
    let bytes = 3; // an array header
    for (const k of keys) {
      // A key with a lone surrogate would come back from the log as
      // another string (the log's MessagePack holds its 3-byte form, which
      // reads back as three U+FFFD): such shapes stay inline, where
      // safePack stores the key as U+FFFD like any string of a value.
      if (typeof k !== 'string' || !isWellFormed(k)) return false;
      bytes += 5 + 3 * k.length; // a string header and UTF-8 at most
      if (bytes > RECORD_SHAPE_BYTES) return false;
    }
    return true;
  };

  /** Every published shape, in log order (index i is record id 0x40 + i):
   *  this table's own array, which the caller must not change. */
  published = (): readonly Shape[] => {
    this.#refresh();
    return this.#shapes;
  };

  /** Shapes published so far (for tests and statistics). */
  get size(): number {
    this.#refresh();
    return this.#shapes.length;
  }

  /** Read the entries published since the last read. */
  #refresh(): void {
    const h = this.#h;
    const used = Atomics.load(h.i32, (h.area + RECORDS_USED) >>> 2);
    while (this.#read < used) {
      const at = h.area + RECORDS_LOG + this.#read;
      const n = h.u8[at]! | (h.u8[at + 1]! << 8);
      this.#shapes.push(safeUnpack(h.u8.slice(at + 2, at + 2 + n)) as Shape);
      this.#read += 2 + n;
    }
  }

  #lock(): void {
    const h = this.#h;
    const idx = (h.area + RECORDS_LOCK) >>> 2;
    const deadline = now() + h.lockTimeout;
    for (;;) {
      const word = Atomics.compareExchange(h.i32, idx, 0, h.owner);
      if (word === 0) return;
      // (The word is the owner id, with LOCK_CONTENDED once someone waits.)
      const holder = word & OWNER_ID_MASK;
      // Left by an owner that is gone (released after dying, or closed
      // while it held it): take it over.
      if (h.ownerGone(holder) && Atomics.compareExchange(h.i32, idx, word, h.owner) === word) return;
      if (now() >= deadline) throw new LockTimeoutError(RECORDS_LOCK_SHARD, holder, h.lockTimeout);
      // Wake at least every GONE_CHECK_MS to see whether the holder is gone.
      waitWord(h.i32, idx, Math.min(deadline, now() + GONE_CHECK_MS), () => new LockTimeoutError(RECORDS_LOCK_SHARD, holder, h.lockTimeout));
    }
  }

  #unlock(): void {
    const h = this.#h;
    const idx = (h.area + RECORDS_LOCK) >>> 2;
    Atomics.store(h.i32, idx, 0);
    Atomics.notify(h.i32, idx);
  }
}

/** The record codec of one instance: a packr over the map's shapes, and
 *  the same for maps whose keys no object can have (see msgpack.ts). */
export class RecordCodec {
  readonly table: RecordTable;
  /** Objects of published shapes, written without msgpackr (shapes.ts). */
  readonly #writer: ShapeWriter;
  readonly #packr: Packr;
  readonly #mapPackr: Packr;
  /** The private buffer values are packed into when not in place. */
  #own = privateBuffer();
  /** Packs under way (> 1: reentered from a getter). */
  #depth = 0;

  constructor(host: RecordHost) {
    this.table = new RecordTable(host);
    this.#writer = new ShapeWriter(() => this.table.published());
    // (msgpackr's typings give saveStructures one parameter; it passes two.)
    // (Through `table` at each call, so a test can stand in for a step.)
    const shared = {
      getStructures: () => this.table.load(),
      saveStructures: (s: Shape[], c: (existing: Shape[]) => boolean) => this.table.save(s, c),
      shouldShareStructure: (keys: Shape) => this.table.shouldShare(keys),
      maxSharedStructures: RECORDS_MAX,
    } as unknown as PackrOptions;
    this.#packr = new Packr({ ...MSGPACK_OPTIONS, useRecords: true, ...shared });
    this.#mapPackr = new Packr({ ...MSGPACK_OPTIONS, useRecords: true, mapsAsObjects: false, ...shared });
  }

  /**
   * Records of `value` written at [p, end) of `u8` (`utf8`: a Node Buffer
   * over the same memory, if any) without msgpackr, where shapes.ts can:
   * the end of the bytes, which are those `pack` makes of it, or
   * NOT_WRITTEN (then anything may have been written there, and getters
   * of the value ran: `pack` it).
   */
  write(value: object, u8: Uint8Array, utf8: Parameters<ShapeWriter['write']>[2], p: number, end: number): number {
    return this.#writer.write(value, u8, utf8, p, end);
  }

  /**
   * Records of `value` (see msgpack.ts's safePack for the errors, and
   * `packed` for where in the result the bytes are): written into `target`
   * (a Node Buffer over the place the value goes, msgpackr's target for
   * this value) when given, else into a private buffer. A pack reentered
   * (a getter of the value being packed stores into this map) writes the
   * inner value to a buffer of msgpackr's own (its saved state), never
   * into the outer one's target.
   */
  pack(value: object, target: Uint8Array | null = null): Uint8Array {
    const packr = holdsKeysWord(value, 0) ? plainPackr : this.#packr;
    const outer = this.#depth === 0;
    if (outer) {
      // msgpackr's buffer and position are one for the whole thread (every
      // Packr, the app's own and lmdb's included), and each pack's result
      // is a view of that buffer. After each value a codec leaves msgpackr
      // the spare buffer, which no codec writes itself, so that whatever
      // others pack next never lands where a value is packed (a scratch,
      // or an #own, reused from their start); a spare others packed into
      // (the position moved) is theirs from then on: a new one.
      if (packr.position !== 0) spare = privateBuffer();
      packr.useBuffer(target ?? this.#own);
      // msgpackr numbers the inline shapes of a value (past the shared
      // ones) on from the last value's: start each value at the first, or
      // the same object would pack to other bytes each time. (Not while an
      // outer value is being packed: msgpackr carries its numbering on.)
      const structures = (packr as unknown as { structures?: { nextOwnId?: number } }).structures;
      if (structures?.nextOwnId !== undefined) structures.nextOwnId = undefined;
    }
    this.#depth++;
    let out: Uint8Array;
    try {
      out = safePack(packr, value, PACK_FLAGS);
    } finally {
      this.#depth--;
      if (outer) packr.useBuffer(spare);
    }
    // A larger buffer msgpackr grew for a long value: keep it.
    if (outer && out !== target && out.length <= OWN_BUFFER_KEEP && typeof (out as { end?: number }).end === 'number') this.#own = out;
    return out;
  }

  /** Decode records [0, n) of `bytes`. */
  unpack(bytes: Uint8Array, n: number): unknown {
    return safeUnpack(bytes, n, this.#packr, this.#mapPackr);
  }
}
