// Many real workers on one map: nothing lost, nothing torn, nothing missed.
import { describe, it, expect } from 'vitest';
import { ShardedMap } from 'shardedmap';
import { internalsOf } from 'shardedmap/internals';
import { runWorker, stopFlag } from '../helpers/workers';

describe('workers on one map', () => {
  it('the quick start works: a worker reads what the main thread stored', async () => {
    const map = await ShardedMap.create({ shards: 64 });
    map.store('user:1001', { name: 'Alice' });
    const r = await runWorker<{ stored: number }>('writer', { handle: map.handle, prefix: 'w:', from: 0, to: 10 });
    expect(r.stored).toBe(10);
    expect(map.load('w:3')).toEqual({ i: 3, by: 'w:' });
    expect(map.load('user:1001')).toEqual({ name: 'Alice' });
  });

  it('disjoint writers lose nothing', async () => {
    const map = await ShardedMap.create({ shards: 16 });
    const per = 20_000;
    const prefixes = ['a:', 'b:', 'c:'];
    await Promise.all(prefixes.map((prefix) => runWorker('writer', { handle: map.handle, prefix, from: 0, to: per })));
    expect(map.size).toBe(per * prefixes.length);
    for (const prefix of prefixes) {
      for (let i = 0; i < per; i++) expect(map.load(`${prefix}${i}`)).toEqual({ i, by: prefix });
    }
  });

  it('compareAndSwap counters from several workers sum exactly', async () => {
    const map = await ShardedMap.create({ shards: 4 });
    const keys = ['c0', 'c1', 'c2'];
    const increments = 50_000;
    const gate = stopFlag();
    const rs = await Promise.all(
      [0, 1, 2].map(() => runWorker<{ retries: number }>('counter', { handle: map.handle, keys, increments, gate, parties: 3 })),
    );
    const total = keys.reduce((s, k) => s + map.loadNumber(k, 0), 0);
    expect(total).toBe(3 * increments);
    // The workers did contend (otherwise this proves little).
    expect(rs.reduce((s, r) => s + r.retries, 0)).toBeGreaterThan(0);
  });

  it('readers never miss a present key while tables grow', async () => {
    const map = await ShardedMap.create({ shards: 2 });
    const present = 2_000;
    for (let i = 0; i < present; i++) map.storeNumber(`old:${i}`, i);
    // [0]: growth done; [1]: the checker reads (the grower waits for it).
    const stop = new Int32Array(new SharedArrayBuffer(8));
    const [grown, read] = await Promise.all([
      runWorker<{ inserted: number }>('grower', { handle: map.handle, count: 300_000, stop }),
      runWorker<{ reads: number; misses: number; rounds: number }>('checker', { handle: map.handle, present, stop }),
    ]);
    expect(read.misses).toBe(0);
    expect(read.rounds).toBeGreaterThan(1);
    expect(map.size).toBe(present + grown.inserted);
    for (let i = 0; i < grown.inserted; i += 997) expect(map.loadNumber(`new:${i}`)).toBe(i);
  });
});

describe('torn-read detector', () => {
  async function tear(mode: 'store' | 'inline' | 'protected' | 'unprotected' | 'objects', first: unknown = 'a'.repeat(4096)) {
    const map = await ShardedMap.create({ shards: 1 });
    map.store('T', first);
    const { core, token, encodeKey } = internalsOf(map);
    // 1 = inline in its cell, 2 = out of line (see test/unit/inline.test.ts).
    if (typeof first === 'string') expect(core.cellForm(token, encodeKey('T'))).toBe(first.length <= 24 ? 1 : 2);
    const stop = stopFlag();
    // The writer's time starts once the reader is reading (under load a
    // worker can take longer to start than the whole window).
    const ready = stopFlag();
    const [writer, ...readers] = await Promise.all([
      runWorker<{ writes: number; inlineBefore: number }>('tear-writer', { handle: map.handle, mode, ms: 600, stop, ready }),
      runWorker<{ reads: number; torn: number; missing: number }>('tear-reader', { handle: map.handle, stop, mode, ready }),
    ]);
    const r = {
      reads: readers.reduce((s, x) => s + x.reads, 0),
      torn: readers.reduce((s, x) => s + x.torn, 0),
      missing: readers.reduce((s, x) => s + x.missing, 0),
      ...writer,
    };
    const inline = mode === 'inline' ? ` (${r.inlineBefore} to an inline cell)` : '';
    console.log(`torn-read detector, ${mode}: ${r.torn} torn and ${r.missing} missing of ${r.reads} reads, ${r.writes} writes${inline}`);
    expect(r.missing).toBe(0);
    return r;
  }

  it('control: in-place writes without the seqlock are seen torn', async () => {
    const r = await tear('unprotected');
    expect(r.reads).toBeGreaterThan(100);
    expect(r.torn).toBeGreaterThan(0);
  });

  it('the same in-place writes under the lock and seqlock are never seen torn', async () => {
    const r = await tear('protected');
    expect(r.reads).toBeGreaterThan(100);
    expect(r.torn).toBe(0);
  });

  it('real stores (appends, compaction, resizes) are never seen torn', async () => {
    const r = await tear('store');
    expect(r.reads).toBeGreaterThan(100);
    expect(r.torn).toBe(0);
  });

  it('control: unprotected in-place writes to an inline value are seen torn', async () => {
    const r = await tear('unprotected', 'a'.repeat(24));
    expect(r.reads).toBeGreaterThan(100);
    expect(r.torn).toBeGreaterThan(0);
  });

  it('objects stored as records (shapes published mid-run, inline and out of line) are never seen torn', async () => {
    const r = await tear('objects', { f0_0: 'a' });
    expect(r.reads).toBeGreaterThan(100);
    expect(r.inlineBefore).toBeGreaterThan(10); // small records fit the cell
    expect(r.torn).toBe(0);
  });

  it('short values switching between inline and out of line are never seen torn', async () => {
    const r = await tear('inline', 'b');
    expect(r.reads).toBeGreaterThan(100);
    expect(r.inlineBefore).toBeGreaterThan(100); // many inline -> out-of-line switches
    expect(r.torn).toBe(0);
  });
});
