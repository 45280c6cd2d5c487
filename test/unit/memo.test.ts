// The read memo (src/core/memo.ts): a repeat load of a key whose shard no
// one wrote since returns the value without a lookup in the core, and never
// a value that is not the key's now. Each case first shows the memo answering
// (its hit count grows), then changes the key from another instance and
// reads the change at once. Workers racing it: test/concurrency/decoded-cache.
import { describe, it, expect } from 'vitest';
import { addExtension } from 'msgpackr';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ShardedMap } from 'shardedmap';
import { internalsOf, MEMO_WINDOW, MEMO_PAUSE } from 'shardedmap/internals';

const hits = (m: ShardedMap<unknown>) => internalsOf(m).memoHits();
const OBJ = { id: 1, name: 'a user name', tags: ['x', 'y'] };

/** A map, a reader instance whose memo holds `key` (answered once), and a
 *  writer instance. */
async function kept(key: string | number, value: unknown, options: { clock?: () => number; decodedCache?: number; [o: string]: unknown } = {}) {
  const map = await ShardedMap.create({ shards: 4, ...options });
  const { clock, decodedCache } = options;
  const reader = await ShardedMap.attach(map.handle, { ...(clock && { clock }), ...(decodedCache !== undefined && { decodedCache }) });
  map.store(key, value);
  for (let i = 0; i < 4; i++) expect(reader.load(key)).toEqual(value);
  return { map, reader, before: hits(reader) };
}

describe('read memo', () => {
  it('answers repeat loads of unchanged objects, strings and bigints: the same frozen value, counted as hits', async () => {
    for (const value of [OBJ, 'a string longer than 8 bytes', 2n ** 100n]) {
      const { reader, before } = await kept('k', value);
      expect(before).toBeGreaterThan(0);
      const a = reader.load('k');
      const b = reader.load('k');
      expect(hits(reader)).toBe(before + 2);
      expect(b).toBe(a);
      if (typeof a === 'object') expect(Object.isFrozen(a)).toBe(true);
      const statsHits = reader.stats().instance.hits;
      reader.load('k');
      expect(reader.stats().instance.hits).toBe(statsHits + 1);
    }
  });

  it('number keys too (SameValueZero: -0 is 0)', async () => {
    const { reader, before } = await kept(0, OBJ);
    expect(before).toBeGreaterThan(0);
    expect(reader.load(-0)).toEqual(OBJ);
    expect(hits(reader)).toBe(before + 1);
  });

  it('sees every change another instance makes at once: replaced (by any type), deleted, cleared', async () => {
    const changes: [string, (m: ShardedMap<unknown>) => void, unknown][] = [
      ['another object', (m) => m.store('k', { id: 2 }), { id: 2 }],
      ['a number', (m) => m.store('k', 7.5), 7.5],
      ['a short string', (m) => m.store('k', 'abc'), 'abc'],
      ['a same-length string', (m) => m.store('k', 'a user nam!'), 'a user nam!'],
      ['deleted', (m) => m.delete('k'), undefined],
      ['cleared', (m) => m.clear(), undefined],
      ['a key of the same shard added', (m) => m.store('other', 1), 'a user name'],
    ];
    for (const [what, change, after] of changes) {
      const start = what === 'a same-length string' || what === 'a key of the same shard added' ? 'a user name' : OBJ;
      const { map, reader, before } = await kept('k', start, { shards: 1 });
      expect(before, what).toBeGreaterThan(0);
      change(map);
      expect(reader.load('k'), what).toEqual(after);
    }
  });

  it('keeps no value of 8 bytes or less (those are replaced in place, with no seq bump), and sees such a change', async () => {
    const { map, reader, before } = await kept('k', 'eight b!');
    expect(before).toBe(0);
    map.store('k', 'eight c!');
    expect(reader.load('k')).toBe('eight c!');
    expect(hits(reader)).toBe(0);
    // Numbers neither.
    const n = await kept('n', 1.5);
    n.map.store('n', 2.5);
    expect(n.reader.load('n')).toBe(2.5);
    expect(hits(n.reader)).toBe(0);
  });

  it('a released instance gets no answer: CLOSED, as from the core (control: a reader without the memo)', async () => {
    for (const decodedCache of [4096, 0]) {
      const map = await ShardedMap.create({ shards: 4 });
      const reader = await ShardedMap.attach(map.handle, { decodedCache });
      map.store('k', OBJ);
      for (let i = 0; i < 4; i++) reader.load('k');
      expect(hits(reader) > 0).toBe(decodedCache > 0);
      map.release(reader.owner);
      expect(() => reader.load('k')).toThrow(
        expect.objectContaining({ code: 'ERR_SHARDEDMAP_CLOSED', message: expect.stringContaining('released by another') }),
      );
    }
  });

  it('is off in cache maps (entries expire without a write) and with decodedCache 0', async () => {
    let t = Date.now();
    const cache = await kept('k', OBJ, { ttl: 100, clock: () => t });
    expect(cache.before).toBe(0);
    t += 200;
    expect(cache.reader.load('k')).toBeUndefined();
    const off = await kept('k', OBJ, { decodedCache: 0 });
    expect(off.before).toBe(0);
  });

  it('keeps no Uint8Array key (its bytes can change in place): a key array changed in place is another key', async () => {
    const key = new Uint8Array([1, 2, 3]);
    const map = await ShardedMap.create({ shards: 1 });
    map.store(key, OBJ);
    for (let i = 0; i < 4; i++) expect(map.load(key)).toEqual(OBJ);
    expect(hits(map)).toBe(0);
    expect(internalsOf(map).memoKeys()).toBe(0);
    expect(map.load(new Uint8Array([1, 2, 3]))).toEqual(OBJ); // other bytes object, same bytes
    key[0] = 9;
    expect(map.load(key)).toBeUndefined();
  });

  it('bad keys are refused as without it (typed errors), before or after a key is kept', async () => {
    const { reader } = await kept('k', OBJ);
    expect(() => reader.load({} as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_KEY_TYPE' }));
    expect(() => reader.load('x'.repeat(100_000))).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_KEY_TOO_LARGE' }));
    expect(reader.load('k')).toEqual(OBJ);
  });

  it('holds at most decodedCache keys and stays right past them', async () => {
    const map = await ShardedMap.create({ shards: 2, decodedCache: 16 });
    const keys = Array.from({ length: 100 }, (_, i) => `key ${i}`);
    keys.forEach((k, i) => map.store(k, { i, pad: 'long enough' }));
    for (let round = 0; round < 5; round++) {
      // Each key twice in a row: kept from its second read (the first
      // decodes it; 100 values do not stay in 16 decoded-cache slots).
      for (const [i, k] of keys.entries()) for (let j = 0; j < 2; j++) expect(map.load(k)).toEqual({ i, pad: 'long enough' });
      expect(internalsOf(map).memoKeys()).toBe(16);
    }
    // A few keys read again and again are answered from it (once the
    // pause the cycle above set has passed: it answered nothing).
    const before = hits(map);
    for (let round = 0; round < (MEMO_PAUSE + 2 * MEMO_WINDOW) / 4; round++) for (const [i, k] of keys.slice(0, 4).entries()) expect(map.load(k)).toEqual({ i, pad: 'long enough' });
    expect(hits(map)).toBeGreaterThan(before + MEMO_WINDOW);
    expect(internalsOf(map).memoKeys()).toBe(16);
  });

  it('keeps keys it answers while others come and go (CLOCK, not oldest first)', async () => {
    const map = await ShardedMap.create({ shards: 2, decodedCache: 16 });
    const hot = ['hot 0', 'hot 1', 'hot 2', 'hot 3'];
    const cold = Array.from({ length: 500 }, (_, i) => `cold ${i}`);
    for (const k of [...hot, ...cold]) map.store(k, `the value of ${k}`);
    for (const k of hot) for (let i = 0; i < 3; i++) map.load(k);
    const before = hits(map);
    for (let r = 0; r < cold.length; r++) {
      expect(map.load(hot[r % 4]!)).toBe(`the value of ${hot[r % 4]}`);
      // Read twice: kept from its second read, over another entry.
      for (let i = 0; i < 2; i++) expect(map.load(cold[r]!)).toBe(`the value of ${cold[r]}`);
    }
    // Every load of a hot key answered (oldest-first replaced each of them
    // every 16 new keys).
    expect(hits(map) - before).toBe(cold.length);
    expect(internalsOf(map).memoKeys()).toBe(16);
  });

  it('a load inside a decode (a msgpackr extension that reads this map) keeps nothing under the wrong count, and the outer value decodes whole', async () => {
    class Ref {
      constructor(readonly key: string) {}
    }
    let map!: ShardedMap<unknown>;
    addExtension({ Class: Ref, type: 0x6d, write: (r: Ref) => r.key, read: (key: string) => map.load(key) });
    map = await ShardedMap.create({ shards: 4 });
    for (let t = 0; t < 20; t++) {
      const A = `a${t}`;
      const B = `b${t}`;
      // B short (found by its bytes: its load inside A's decode is a hit
      // of the decoded cache, which A's own read once took for its own and
      // kept A under B's stripe) or long (decoded again, over the bytes
      // A's decode was still reading).
      const b = t % 2 === 0 ? { name: 'the value of B', n: t } : { name: 'the value of B, long enough to be tagged', n: t };
      map.store(B, b);
      map.store(A, { ref: new Ref(B), v: 'old value of A', w: t });
      expect(map.load(B)).toEqual(b);
      // B's load runs inside A's decode: A decodes whole, B's value in it.
      for (let i = 0; i < 3; i++) expect(map.load(A)).toEqual({ ref: b, v: 'old value of A', w: t });
      // A changes (B's stripe need not move): the new value at once.
      map.store(A, { v: 'NEW value of A, long enough' });
      expect(map.load(A)).toEqual({ v: 'NEW value of A, long enough' });
    }
  });

  it('holds no more than its keys: a key sliced from a long string does not keep that string', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const map = await ShardedMap.create({ shards: 4 });
    const N = 100;
    const name = (i: number) => `key number ${String(i).padStart(6, '0')}`;
    for (let i = 0; i < N; i++) map.store(name(i), { i, pad: 'a value long enough' });
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < N; i++) {
      // A 1 MB "request line", and the key cut from it (V8 slices it).
      const line = name(i) + ' '.repeat(1 << 20) + i;
      const key = line.slice(0, 17);
      for (let r = 0; r < 3; r++) expect(map.load(key)).toEqual({ i, pad: 'a value long enough' });
    }
    expect(internalsOf(map).memoKeys()).toBe(N);
    expect(hits(map)).toBeGreaterThanOrEqual(N);
    gc();
    // (Kept whole, the lines would be 100 MB.)
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(20 * 2 ** 20);
  });

  it('a pause that ends fills nothing: the load that ends it is not put where a lookup before the pause left off', async () => {
    // Y kept, then changed by another instance; the lookup that finds Y's
    // entry stale is the window's last, with too few answers: a pause. The
    // load that ends the pause (of X) once put X's value into Y's slot of
    // the byte-keyed table this memo replaced, and Y then read as X (the
    // stale-read detector found it first); keyed by the key, put now also
    // refuses an entry of another key (memo.ts put).
    const map = await ShardedMap.create({ shards: 4 });
    const reader = await ShardedMap.attach(map.handle);
    const Y = { who: 'Y', pad: 'a value long enough to be tagged' };
    const X = { who: 'X', pad: 'a value long enough to be tagged' };
    map.store('Y', Y);
    map.store('X', X);
    for (let i = 0; i < MEMO_WINDOW; i++) map.store(`other ${i}`, { i, pad: 'a value long enough to be tagged' });
    let lookups = 0;
    const load = (k: string) => (lookups++, reader.load(k));
    for (let i = 0; i < 4; i++) load('Y');
    expect(hits(reader)).toBe(1);
    for (let i = 0; i < 2; i++) load('X');
    for (let i = 0; lookups < MEMO_WINDOW - 1; i++) load(`other ${i}`);
    const Y2 = { who: 'Y2', pad: 'a value long enough to be tagged' };
    map.store('Y', Y2);
    expect(load('Y')).toEqual(Y2); // the window's last lookup: paused from here
    for (let i = 0; i < MEMO_PAUSE; i++) reader.load('X');
    expect(reader.load('Y')).toEqual(Y2);
    expect(reader.load('Y')).toEqual(Y2);
  });

  it('a write stopped inside the core (trap mid-rewrite) and repaired: the new value is seen, not the one kept', async () => {
    // The stop comes after the cell switched to the new value and before
    // the key's stripe was bumped: the repair bumps every stripe of the
    // shard (without that, `other` kept answering the old value).
    const map = await ShardedMap.create({ shards: 2, lockTimeout: 500 });
    const other = await ShardedMap.attach(map.handle, { lockTimeout: 500 });
    map.store('k', 'old value!!'); // inline, over 8 bytes: kept
    for (let i = 0; i < 4; i++) expect(other.load('k')).toBe('old value!!');
    const before = hits(other);
    expect(before).toBeGreaterThan(0);
    internalsOf(map).failNextWrite('staged');
    expect(() => map.store('k', 'new value!!')).toThrow(/were repaired/);
    expect(other.load('k')).toBe('new value!!');
    expect(hits(other)).toBe(before);
    // Kept again, the new one (found by its bytes and kept, then answered).
    for (let i = 0; i < 3; i++) expect(other.load('k')).toBe('new value!!');
    expect(hits(other)).toBeGreaterThan(before);
  });
});
