// Objects as records over the map's shared shapes (src/codec/records.ts):
// shapes published by one worker decode in another, two workers adding
// shapes at once never give one id to two shapes (with a control that
// does), a worker that dies adding a shape leaves the log readable and its
// lock to the release, many shapes stay within the bound, and every object
// packs to the same bytes each time (compareAndSwap compares bytes).
import { describe, it, expect } from 'vitest';
import { Packr } from 'msgpackr';
import { ShardedMap } from 'shardedmap';
import { internalsOf, codes } from 'shardedmap/internals';
import { runWorker, startAttached } from '../helpers/workers';
import { expectSound } from '../helpers/sound';

type WriterResult = { writes: number; reads: number; bad: number; errors: number; firstBad?: string; shapesSeen: number; refused: number };

async function race(mode: 'records' | 'control') {
  const map = await ShardedMap.create({ shards: 4 });
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const run = (id: number, other: number) =>
    runWorker<WriterResult>('records-writer', { handle: map.handle, id, other, rounds: 20_000, shapes: 100, gate, mode });
  const [a, b] = await Promise.all([run(1, 2), run(2, 1)]);
  const shapes = internalsOf(map).records.table.size;
  expectSound(map);
  map.close();
  const refused = a.refused + b.refused;
  console.log(`records race, ${mode}: ${a.reads + b.reads} reads of the other's objects, ${a.bad + b.bad} misdecoded, ${a.errors + b.errors} errors, ${shapes} shapes, ${refused} saves refused`);
  return { bad: a.bad + b.bad, errors: a.errors + b.errors, reads: a.reads + b.reads, shapes, refused, firstBad: a.firstBad ?? b.firstBad };
}

describe('records', () => {
  it('two workers adding shapes at once: every object the other wrote decodes with its own shape', async () => {
    const r = await race('records');
    expect(r.reads).toBeGreaterThan(10_000);
    expect(r.shapes).toBe(200); // both writers' 100 shapes, each once
    // The two did publish at once: the conflict check refused a save.
    expect(r.refused).toBeGreaterThan(0);
    expect(r.firstBad).toBeUndefined();
    expect(r.bad + r.errors).toBe(0);
  });

  it('control: a table that publishes without the conflict check is caught misdecoding', async () => {
    const r = await race('control');
    expect(r.bad + r.errors).toBeGreaterThan(0);
  });

  it('a worker killed while adding a shape: its lock waits for the release, then the log goes on from where it was published', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const impatient = await ShardedMap.attach(map.handle, { lockTimeout: 200 });
    map.store('before', { alpha: 1, beta: 2 });
    const holder = startAttached('records-holder', { handle: map.handle });
    const owner = await holder.owner;
    await holder.worker.terminate();
    // Control: the lock really is held (by a dead owner not yet released).
    expect(() => impatient.store('new', { gamma: 1, delta: 2 })).toThrow(expect.objectContaining({ code: 'ERR_SHARDEDMAP_LOCK_TIMEOUT' }));
    map.release(owner);
    impatient.store('new', { gamma: 1, delta: 2 });
    const fresh = await ShardedMap.attach(map.handle);
    expect(fresh.load('before')).toEqual({ alpha: 1, beta: 2 });
    expect(fresh.load('new')).toEqual({ gamma: 1, delta: 2 });
    expect(internalsOf(fresh).records.table.size).toBe(2);
    expectSound(map);
    for (const m of [fresh, impatient, map]) m.close();
  });

  it('a lock left by a closed owner is taken over without a release', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const other = await ShardedMap.attach(map.handle);
    const { core } = internalsOf(map);
    const i32 = new Int32Array(map.handle.memory.buffer);
    Atomics.store(i32, (core.recordsAddress() + codes.RECORDS_LOCK) >>> 2, other.owner);
    other.close();
    map.store('x', { after: 'close' });
    expect(map.load('x')).toEqual({ after: 'close' });
    map.close();
  });

  it('many shapes: the shared ones stop at the bound, the rest carry their shape inline, memory stays bounded', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const reader = await ShardedMap.attach(map.handle);
    map.store('common', { id: 1, name: 'a' });
    const used = map.usedBytes;
    for (let i = 0; i < 10_000; i++) map.store(`k${i % 100}`, { [`field${i}`]: i, other: 'x' });
    const shapes = internalsOf(map).records.table.size;
    expect(shapes).toBe(codes.RECORDS_MAX);
    // The shapes take no memory beyond the fixed area: 100 small entries.
    expect(map.usedBytes - used).toBeLessThan(64 * 1024);
    for (let i = 9_900; i < 10_000; i++) expect(reader.load(`k${i % 100}`)).toEqual({ [`field${i}`]: i, other: 'x' });
    // The common shape is still shared: a repeat store adds nothing.
    map.store('common2', { id: 2, name: 'b' });
    expect(internalsOf(map).records.table.size).toBe(codes.RECORDS_MAX);
    expect(reader.load('common2')).toEqual({ id: 2, name: 'b' });
    // Shapes too large to share are inline too.
    const wide = Object.fromEntries(Array.from({ length: codes.RECORD_KEYS_MAX + 1 }, (_, j) => [`w${j}`, j]));
    map.store('wide', wide);
    expect(reader.load('wide')).toEqual(wide);
    reader.close();
    map.close();
  });

  it('clear() keeps the shapes: objects stored after it decode in an instance that read the table before', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const reader = await ShardedMap.attach(map.handle);
    map.store('a', { p: 1, q: 2 });
    expect(reader.load('a')).toEqual({ p: 1, q: 2 });
    map.clear();
    map.store('b', { p: 3, q: 4 });
    map.store('c', { r: 5 });
    expect(reader.load('b')).toEqual({ p: 3, q: 4 });
    expect(reader.load('c')).toEqual({ r: 5 });
    reader.close();
    map.close();
  });

  it('a key named "__keys__" (a word of msgpackr\'s own shape index) stops no other object from being stored', async () => {
    // Control: msgpackr's records writer alone, once it has packed an
    // object whose first key is "__keys__", cannot pack {} (here a shape
    // of one key is enough; over the map's shared shapes, any).
    const packr = new Packr({ useRecords: true });
    packr.pack({ __keys__: 1 });
    expect(() => packr.pack({})).toThrow();
    const map = await ShardedMap.create({ shards: 2 });
    const other = await ShardedMap.attach(map.handle);
    const odd = [{ __keys__: 1, x: 2 }, { __keys__: 1 }, { p: 1, __keys__: [3] }, { a: { __keys__: 'n' } }, [{ __keys__: {} }], new Map([[{ __keys__: 2 }, 'k']])];
    odd.forEach((v, i) => map.store(`odd${i}`, v));
    const plain = [{}, { y: {} }, { p: 1 }, { a: { b: 1 } }, { x: 2 }, [{}]];
    for (const m of [map, other]) {
      plain.forEach((v, i) => m.store(`plain${i}`, v));
      for (const n of [map, other]) {
        odd.forEach((v, i) => expect(n.load(`odd${i}`)).toEqual(v));
        plain.forEach((v, i) => expect(n.load(`plain${i}`)).toEqual(v));
      }
    }
    // One encoding each: compareAndSwap with what a load returned succeeds.
    odd.forEach((v, i) => expect(other.compareAndSwap(`odd${i}`, structuredClone(other.load(`odd${i}`)), v)).toBe(true));
    expectSound(map);
    other.close();
    map.close();
  });

  it('an object packs to the same bytes every time: compareAndSwap with what a load returned succeeds, shared shape or inline', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const other = await ShardedMap.attach(map.handle);
    const wide = (i: number) => Object.fromEntries(Array.from({ length: 40 }, (_, j) => [`f${j}`, i + j]));
    const nested = (i: number) => ({ a: { x: i }, b: [{ y: i }, { z: i }] });
    let swaps = 0;
    for (let i = 0; i < 300; i++) {
      const many = { [`k${i}`]: i, v: 'x' }; // fills the shared table, then inline
      for (const make of [wide, nested, () => many]) {
        map.store('k', make(i));
        expect(map.compareAndSwap('k', map.load('k'), make(i + 1))).toBe(true);
        // Another instance, with its own view of the table, packs alike.
        expect(other.compareAndSwap('k', structuredClone(other.load('k')), make(i))).toBe(true);
        swaps += 2;
      }
    }
    expect(swaps).toBe(1800);
    other.close();
    map.close();
  });
});
