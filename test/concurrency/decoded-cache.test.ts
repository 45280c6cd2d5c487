// The decoded-value cache and the read memo never hide a write: a reader
// that loads keys another worker keeps rewriting never gets a value older
// than one that was already committed when its read began. The control (a
// reader that memoizes values itself) is caught by the same detector.
import { describe, it, expect } from 'vitest';
import { ShardedMap } from 'shardedmap';
import { runWorker } from '../helpers/workers';

async function staleReads(mode: 'cache' | 'repeat' | 'memo') {
  const map = await ShardedMap.create({ shards: 4 });
  const keys = 8;
  const committed = new Int32Array(new SharedArrayBuffer(4 * keys));
  // Every key there before the reader starts (sequence 0): a reader that
  // found them absent for its first loads (the writer's worker still
  // starting, on a busy machine) paused its memo for longer than the run.
  for (let k = 0; k < keys; k++) map.store(`K${k}`, { seq: 0, pad: 'a value long enough to be tagged' });
  const stop = new Int32Array(new SharedArrayBuffer(4));
  // How far each has got: the run lasts until both did enough (a busy
  // machine slows them), at most 10 s.
  const progress = new Int32Array(new SharedArrayBuffer(8));
  // (Repeat: a store per 4 reads at most, so that some keys are read again
  // unchanged however the machine schedules the two workers.)
  const pace = mode === 'repeat' ? 4 : 0;
  const writer = runWorker<{ writes: number }>('stale-writer', { handle: map.handle, committed, stop, keys, progress, pace });
  const reader = runWorker<{ reads: number; stale: number; memoHits: number }>('stale-reader', { handle: map.handle, committed, stop, keys, mode, progress });
  const until = Date.now() + 10_000;
  await new Promise((r) => setTimeout(r, 700));
  while ((Atomics.load(progress, 0) < 2000 || Atomics.load(progress, 1) < 2000) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  Atomics.store(stop, 0, 1);
  const [w, r] = await Promise.all([writer, reader]);
  console.log(`stale-read detector, ${mode}: ${r.stale} stale of ${r.reads} reads (${r.memoHits} answered by the read memo), ${w.writes} writes`);
  return { ...w, ...r };
}

describe('decoded-value cache', () => {
  it('control: a reader that memoizes values is caught reading stale values', async () => {
    const r = await staleReads('memo');
    expect(r.writes).toBeGreaterThan(1000);
    expect(r.stale).toBeGreaterThan(0);
  });

  it('a write by another worker is never hidden by the cache (single and batch reads)', async () => {
    const r = await staleReads('cache');
    expect(r.writes).toBeGreaterThan(1000);
    expect(r.reads).toBeGreaterThan(1000);
    expect(r.stale).toBe(0);
  });

  it('the read memo never hides a write: keys read again and again while another worker rewrites them', async () => {
    const r = await staleReads('repeat');
    expect(r.writes).toBeGreaterThan(1000);
    expect(r.reads).toBeGreaterThan(1000);
    expect(r.memoHits).toBeGreaterThan(0);
    expect(r.stale).toBe(0);
  });

  it('repeat loads of unchanged values decode nothing: the same value, no copy', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const long = { list: Array.from({ length: 100 }, (_, i) => `item ${i}`) }; // tagged: not even copied
    const medium = { list: Array.from({ length: 20 }, (_, i) => `item ${i}`) }; // tagged, under 512 bytes
    map.store('long', long);
    map.store('medium', medium);
    map.store('short', 'sixteen chars!!!'); // by content
    // Tagged objects (and any value over 512 bytes) are kept from their
    // second read on: the first read is a fresh, unfrozen copy.
    const first = map.load('long') as typeof long;
    const a = map.load('long');
    expect(a).not.toBe(first);
    expect(Object.isFrozen(first)).toBe(false);
    expect(a).toEqual(long);
    const firstMedium = map.load('medium');
    const m = map.load('medium');
    expect(m).not.toBe(firstMedium);
    const s = map.load('short');
    for (let i = 0; i < 100; i++) {
      expect(map.load('long')).toBe(a);
      expect(map.load('medium')).toBe(m);
      expect(map.load('short')).toBe(s);
    }
    expect(map.getMany(['long', 'short'])).toEqual([a, s]);
    expect(map.getMany(['long'])[0]).toBe(a);
    // A rebuild or compaction moves entries: a new heap epoch, decoded again.
    for (let i = 0; i < 2000; i++) map.store(`filler:${i}`, 'y'.repeat(40));
    expect(map.load('long')).toEqual(long);
    map.close();
  });

  it('short values out of line (17-32 bytes, tagged): kept from their first read, shared by equal bytes stored again, never hiding a new value', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const key = 'a key long enough to put every value out of line';
    const A = { id: 1, name: 'user number 0001', tags: ['a'] }; // 23 bytes as a record
    const B = { id: 2, name: 'user number 0002', tags: ['b'] }; // the same length
    for (let round = 0; round < 3; round++) {
      map.store(key, A);
      const a = map.load(key);
      expect(a).toEqual(A);
      expect(Object.isFrozen(a)).toBe(true); // kept at once (by its bytes)
      expect(map.load(key)).toBe(a); // then by its tag
      map.store(key, B); // a new entry of the same length
      const b = map.load(key);
      expect(b).toEqual(B);
      expect(map.load(key)).toBe(b);
      map.store(key, { ...A }); // A's bytes again, as a new entry: found by them
      expect(map.load(key)).toBe(a);
      map.store(key, 'a string of twenty-four!'); // and a short string
      expect(map.load(key)).toBe('a string of twenty-four!');
    }
    map.close();
  });

  it('objects of plain data come back deep-frozen and shared; ones holding a Date, Set or typed array come back fresh and mutable', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const plain = { id: 1, tags: ['a', 'b'], nested: { ok: true, n: null } };
    const withBytes = { id: 2, raw: new Uint8Array(40).fill(7) }; // tagged (out of line)
    const shortBytes = { b: new Uint8Array([1, 2, 3]) }; // by content (short)
    const withDate = { at: new Date(1_700_000_000_000) };
    const withSet = { s: new Set(['x', 'y']) };
    const withTyped = [new Float64Array([1.5, 2.5])];
    map.store('plain', plain);
    const mutable = { withBytes, shortBytes, withDate, withSet, withTyped };
    for (const [k, v] of Object.entries(mutable)) map.store(k, v);

    map.load('plain'); // the first read of a stored object: a fresh copy
    const p = map.load('plain') as typeof plain;
    expect(p).toEqual(plain);
    expect(Object.isFrozen(p) && Object.isFrozen(p.tags) && Object.isFrozen(p.nested)).toBe(true);
    expect(map.load('plain')).toBe(p);

    for (const [k, v] of Object.entries(mutable)) {
      const a = map.load(k);
      const b = map.load(k);
      expect(a).toEqual(v);
      expect(b).not.toBe(a); // never shared, so never frozen under the caller
      expect(Object.isFrozen(a)).toBe(false);
      expect(map.getMany([k])[0]).toEqual(v);
    }
    // Changing what one load returned changes nothing for the next.
    const d = map.load('withDate') as typeof withDate;
    d.at.setTime(0);
    expect((map.load('withDate') as typeof withDate).at.getTime()).toBe(1_700_000_000_000);
    const st = map.load('withSet') as typeof withSet;
    st.s.add('z');
    expect([...(map.load('withSet') as typeof withSet).s]).toEqual(['x', 'y']);
    const wb = map.load('withBytes') as typeof withBytes;
    wb.raw[0] = 0;
    expect((map.load('withBytes') as typeof withBytes).raw[0]).toBe(7);
    map.close();
  });
});
