// Warm restart: map.snapshot(path) writes every live entry with its expiry;
// ShardedMap.restore(path, options?) makes a new map of them. Round trips of
// every value kind, expiries, bounds, atomic replacement, every bad file
// typed, and a snapshot taken while two workers write.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ShardedMap, SnapshotError, type Key } from 'shardedmap';
import { startAttached } from '../helpers/workers';
import { expectSound } from '../helpers/sound';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shardedmap-snapshot-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_800_000_000_000;
const entriesOf = (m: ShardedMap<unknown>) => new Map<Key, unknown>([...m.entries()].map(([k, v]) => [typeof k === 'object' ? `bytes:${[...k]}` : k, v]));

describe('snapshot and restore', () => {
  it('round-trips every kind of key and value, inline and out of line', async () => {
    const map = await ShardedMap.create({ shards: 8 });
    const long = 'x'.repeat(5000);
    const values: [Key, unknown][] = [
      ['n', 1.5], ['nan', NaN], ['neg0', -0], ['s', 'hello'], ['lone', 'a\ud800b'], ['long', long], [7, true], [8, false],
      [9n, null], ['u', undefined], ['big', -(2n ** 70n)], ['obj', { a: [1, 2, { b: 'c' }], d: new Date(0) }],
      [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])], ['bigobj', { s: long, n: Array.from({ length: 300 }, (_, i) => i) }],
    ];
    for (const [k, v] of values) map.store(k, v);
    for (let i = 0; i < 5000; i++) map.store(`k${i}`, i % 3 ? i : { i, name: `user ${i}` });
    const path = join(dir, 'plain.snap');
    const info = await map.snapshot(path);
    expect(info.entries).toBe(map.size);
    expect(info.bytes).toBe(readFileSync(path).length);
    const back = await ShardedMap.restore(path);
    expect(back.isCache).toBe(false);
    expect(back.size).toBe(map.size);
    expect(entriesOf(back)).toEqual(entriesOf(map));
    expect(Object.is(back.get('neg0'), -0)).toBe(true);
    expect(back.has('u')).toBe(true);
    expectSound(back);
    back.close();
    map.close();
  });

  it('a cache keeps its settings and expiries; expired entries are left out; fetch stamps survive', async () => {
    let t = T0;
    const clock = () => t;
    const map = await ShardedMap.create({ maxEntries: 4096, ttl: 1000, clock });
    for (let i = 0; i < 1000; i++) map.store(`a${i}`, i); // expires at T0 + 1000
    for (let i = 0; i < 1000; i++) map.store(`b${i}`, `v${i}`, { ttl: 10_000 });
    for (let i = 0; i < 100; i++) map.store(`c${i}`, { i }, { ttl: 0 }); // never
    await map.fetch('swr', async () => 'old', { ttl: 100, staleWhileRevalidate: 5000 });
    t += 500;
    const path = join(dir, 'cache.snap');
    expect((await map.snapshot(path)).entries).toBe(2101);
    t += 600; // a* expired between the snapshot and the restore
    const back = await ShardedMap.restore(path, { maxEntries: 4096, clock });
    expect(back.size).toBe(1101);
    expect(back.get('a1')).toBeUndefined();
    expect(back.get('b1')).toBe('v1');
    expect(back.get('c99')).toEqual({ i: 99 });
    // The stale window came along: fetch serves the stale value and refreshes.
    expect(await back.fetch('swr', async () => 'new', { staleWhileRevalidate: 5000 })).toBe('old');
    t += 9000; // b* expire when they would have in the original
    expect(back.get('b1')).toBeUndefined();
    expect(back.get('c99')).toEqual({ i: 99 });
    // Without options: the settings of the map the snapshot was taken of.
    const same = await ShardedMap.restore(path, { clock: () => T0 + 500, maxEntries: 4096, ttl: 1000 });
    expect(same.stats().cache).toMatchObject({ maxEntries: 4096, ttl: 1000 });
    expect(same.size).toBe(2101);
    same.close();
    back.close();
    map.close();
  });

  it('restores with no options as the map it was taken of, and within smaller bounds when given them', async () => {
    const map = await ShardedMap.create({ maxEntries: 8192, maxBytes: 1 << 20, shards: 16 });
    // 3/4 full: every shard's share (512) holds what a new hash seed sends
    // it (mean 375, 7 standard deviations below the share).
    for (let i = 0; i < 6000; i++) map.store(`k${i}`, `value ${i}`);
    const path = join(dir, 'bounds.snap');
    await map.snapshot(path);
    const same = await ShardedMap.restore(path);
    expect(same.shardCount).toBe(16);
    expect(same.stats().cache).toMatchObject({ maxEntries: 8192, maxBytes: 1 << 20 });
    expect(entriesOf(same)).toEqual(entriesOf(map));
    const small = await ShardedMap.restore(path, { maxEntries: 1000, shards: 4 });
    expect(small.size).toBeLessThanOrEqual(1000);
    expect(small.size).toBeGreaterThan(900);
    for (const [k, v] of small.entries()) expect(v).toBe(`value ${String(k).slice(1)}`);
    expectSound(small);
    await expect(ShardedMap.restore(join(dir, 'cache.snap'), { shards: 4 })).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    small.close();
    same.close();
    map.close();
  });

  it('replaces the previous snapshot whole and leaves no temporary file', async () => {
    const map = await ShardedMap.create();
    const path = join(dir, 'replace.snap');
    map.store('v', 1);
    await map.snapshot(path);
    map.store('v', 2);
    await map.snapshot(path);
    expect(readdirSync(dir).filter((f) => f.startsWith('replace.snap'))).toEqual(['replace.snap']);
    const back = await ShardedMap.restore(path);
    expect(back.get('v')).toBe(2);
    back.close();
    await expect(map.snapshot(join(dir, 'no-such-dir', 'x.snap'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(map.snapshot('' as string)).rejects.toMatchObject({ code: 'ERR_SHARDEDMAP_INVALID_ARGUMENT' });
    map.close();
  });
});

describe('a bad snapshot file fails with a typed error', () => {
  let good: Buffer;
  beforeAll(async () => {
    const map = await ShardedMap.create();
    for (let i = 0; i < 1000; i++) map.store(`k${i}`, { i });
    const path = join(dir, 'good.snap');
    await map.snapshot(path);
    map.close();
    good = readFileSync(path);
  });

  /** Restoring `bytes` rejects with a SnapshotError of `code`. */
  async function rejects(name: string, bytes: Uint8Array, code: string) {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const e = await ShardedMap.restore(path).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(SnapshotError);
    expect(e).toMatchObject({ code, path });
  }
  /** A copy of the good file with its header changed by `f` and its header checksum made right again. */
  function withHeader(f: (dv: DataView) => void): Buffer {
    const b = Buffer.from(good);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    f(dv);
    dv.setUint32(12, 0, true);
    dv.setUint32(12, crc32(b.subarray(0, 96)), true);
    return b;
  }

  it('foreign: an empty file, a JSON file, random bytes', async () => {
    await rejects('empty', new Uint8Array(0), 'ERR_SHARDEDMAP_SNAPSHOT_FOREIGN');
    await rejects('json', Buffer.from(JSON.stringify({ entries: [[1, 2]] })), 'ERR_SHARDEDMAP_SNAPSHOT_FOREIGN');
    await rejects('random', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)), 'ERR_SHARDEDMAP_SNAPSHOT_FOREIGN');
  });

  it('truncated: cut inside the magic, the header, the body, or by one byte', async () => {
    await rejects('cut4', good.subarray(0, 4), 'ERR_SHARDEDMAP_SNAPSHOT_TRUNCATED');
    await rejects('cut40', good.subarray(0, 40), 'ERR_SHARDEDMAP_SNAPSHOT_TRUNCATED');
    await rejects('cut-half', good.subarray(0, good.length >> 1), 'ERR_SHARDEDMAP_SNAPSHOT_TRUNCATED');
    await rejects('cut-1', good.subarray(0, good.length - 1), 'ERR_SHARDEDMAP_SNAPSHOT_TRUNCATED');
  });

  it('corrupt: a byte changed in the body or the header, bytes appended, counts that disagree', async () => {
    const body = Buffer.from(good);
    body[good.length - 10] ^= 0x01;
    await rejects('flip-body', body, 'ERR_SHARDEDMAP_SNAPSHOT_CORRUPT');
    const header = Buffer.from(good);
    header[24] ^= 0x40;
    await rejects('flip-header', header, 'ERR_SHARDEDMAP_SNAPSHOT_CORRUPT');
    await rejects('appended', Buffer.concat([good, Buffer.from([0])]), 'ERR_SHARDEDMAP_SNAPSHOT_CORRUPT');
    await rejects('count', withHeader((dv) => dv.setFloat64(24, 999, true)), 'ERR_SHARDEDMAP_SNAPSHOT_CORRUPT');
  });

  it('newer format: a version past this build', async () => {
    await rejects('v3', withHeader((dv) => dv.setUint32(8, 3, true)), 'ERR_SHARDEDMAP_SNAPSHOT_VERSION');
  });

  it('a missing file is the file system error', async () => {
    await expect(ShardedMap.restore(join(dir, 'absent.snap'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('a snapshot while two workers write', () => {
  it('restores to a sound map holding every entry untouched during the snapshot, and only values the writers wrote', async () => {
    const map = await ShardedMap.create({ shards: 64 });
    const still = 200_000;
    for (let i = 0; i < still; i++) map.store(`s:${i}`, i % 2 ? i : { i, tag: 'still' });
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const ops = new Int32Array(new SharedArrayBuffer(4));
    const ws = [0, 1].map((id) => startAttached('snapshot-writer', { handle: map.handle, id, keys: 20_000, stop, ops }));
    await Promise.all(ws.map((w) => w.owner));
    while (Atomics.load(ops, 0) < 20_000) await new Promise((r) => setTimeout(r, 1));
    const before = Atomics.load(ops, 0);
    const path = join(dir, 'concurrent.snap');
    const info = await map.snapshot(path);
    const during = Atomics.load(ops, 0) - before;
    Atomics.store(stop, 0, 1);
    await Promise.all(ws.map((w) => new Promise((r) => w.worker.once('exit', r))));
    expect(during).toBeGreaterThan(0); // the writers did write while it ran
    const back = await ShardedMap.restore(path);
    expectSound(back);
    expect(back.size).toBe(info.entries);
    for (let i = 0; i < still; i++) expect(back.get(`s:${i}`)).toEqual(i % 2 ? i : { i, tag: 'still' });
    let written = 0;
    for (const [k, v] of back.entries()) {
      const m = /^w(\d):(\d+)$/.exec(String(k));
      if (!m) continue;
      written++;
      expect(v).toMatchObject({ id: Number(m[1]), k: Number(m[2]) });
    }
    expect(written).toBe(info.entries - still);
    expectSound(map);
    back.close();
    map.close();
  });
});
