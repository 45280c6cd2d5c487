// In a real browser (Chromium driven by playwright-core; see
// scripts/chromium.mjs for which one): dedicated
// workers of an isolated page share one map; a page that is not isolated
// gets a clear error; tabs share a SharedWorker cache.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { startServer } from '../../scripts/static-server.mjs';
import { launchChromium, chromiumExecutable } from '../../scripts/chromium.mjs';

let browser: Browser;
let server: Server;
let base: string;

beforeAll(async () => {
  ({ server, url: base } = await startServer(fileURLToPath(new URL('../browser/', import.meta.url))));
  browser = await launchChromium();
  console.log(`browser: Chromium ${browser.version()} from ${(await chromiumExecutable()).source}`);
});
afterAll(async () => {
  await browser?.close();
  server?.close();
});

async function result<T>(page: Page): Promise<T> {
  await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, undefined, { timeout: 30_000 });
  return page.evaluate(() => (window as unknown as { result: T }).result);
}

describe('browser', () => {
  it('an isolated page: two dedicated workers write, a third reads everything back', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/iso/dedicated.html`);
    const r = await result<{ isolated: boolean; size: number; found: number; message?: string }>(page);
    expect(r.message).toBeUndefined();
    expect(r).toMatchObject({ isolated: true, size: 4000, found: 4000 });
    await page.close();
  });

  it('a page without isolation gets an error naming the headers', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/plain/dedicated.html`);
    const r = await result<{ code: string; message: string; isolated: boolean }>(page);
    expect(r.isolated).toBe(false);
    expect(r.code).toBe('ERR_SHARDEDMAP_NOT_ISOLATED');
    expect(r.message).toContain('Cross-Origin-Opener-Policy: same-origin');
    expect(r.message).toContain('Cross-Origin-Embedder-Policy: require-corp');
    await page.close();
  });

  it('two tabs share a SharedWorker cache: writes, chunked range, batched bursts', async () => {
    const context = await browser.newContext();
    const [a, b] = [await context.newPage(), await context.newPage()];
    for (const p of [a, b]) {
      await p.goto(`${base}/plain/cache.html`);
      await p.waitForFunction(() => (window as { ready?: boolean }).ready === true);
    }
    type W = { cache: import('shardedmap').SharedCache };
    expect(await a.evaluate(() => (window as unknown as W).cache.dedicated)).toBe(false);
    await a.evaluate(() => (window as unknown as W).cache.store('greeting', { from: 'tab A' }));
    expect(await b.evaluate(() => (window as unknown as W).cache.load('greeting'))).toEqual({ from: 'tab A' });
    // 10K entries stored from one tab in one tick, ranged from the other in chunks.
    await a.evaluate(() => {
      const c = (window as unknown as W).cache;
      return Promise.all(Array.from({ length: 10_000 }, (_, i) => c.store(`k${i}`, i)));
    });
    const ranged = await b.evaluate(async () => {
      const c = (window as unknown as W).cache;
      const before = c.messagesSent;
      let n = 0;
      let sum = 0;
      for await (const [k, v] of c.range()) {
        if (String(k).startsWith('k')) {
          n++;
          sum += v as number;
        }
      }
      return { n, sum, messages: c.messagesSent - before };
    });
    expect(ranged.n).toBe(10_000);
    expect(ranged.sum).toBe((9_999 * 10_000) / 2);
    expect(ranged.messages).toBeGreaterThan(1); // came in chunks
    // A burst of 1,000 loads issued in one tick travels as one message.
    const burst = await b.evaluate(async () => {
      const c = (window as unknown as W).cache;
      const before = c.messagesSent;
      const values = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.load(`k${i}`)));
      return { ok: values.every((v, i) => v === i), messages: c.messagesSent - before };
    });
    expect(burst).toEqual({ ok: true, messages: 1 });
    // The batch reads: one request each.
    const batch = await b.evaluate(async () => {
      const c = (window as unknown as W).cache;
      const before = c.messagesSent;
      const many = await c.getMany(['k1', 'k2', 'absent', 'greeting']);
      const numbers = Array.from(await c.loadNumbers(['k3', 'absent', 'k4'], -1));
      const bad = await c.getMany(['k1', {} as never]).then(() => 'resolved', (e: { code: string }) => e.code);
      return { many, numbers, bad, messages: c.messagesSent - before };
    });
    expect(batch).toEqual({ many: [1, 2, undefined, { from: 'tab A' }], numbers: [3, -1, 4], bad: 'ERR_SHARDEDMAP_KEY_TYPE', messages: 2 });
    expect(await a.evaluate(() => (window as unknown as W).cache.size())).toBe(10_001);
    await context.close();
  });

  it('a bounded SharedWorker cache: bounds from the script URL, ttl on writes, stats', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/plain/cache.html`);
    await page.waitForFunction(() => (window as { ready?: boolean }).ready === true);
    const r = await page.evaluate(async () => {
      const w = window as unknown as { connectSharedCache: typeof import('shardedmap').connectSharedCache };
      const c = w.connectSharedCache(new URL('./dist/shared-worker.js?maxEntries=500&ttl=60000&shards=4', location.href));
      await Promise.all(Array.from({ length: 2000 }, (_, i) => c.set(`k${i}`, { i })));
      await c.store('short', 'lived', { ttl: 50 });
      const before = await c.load('short');
      await new Promise((res) => setTimeout(res, 120));
      const after = await c.load('short');
      const badTtl = await c.store('x', 1, { ttl: -1 }).then(() => 'stored', (e: { code: string }) => e.code);
      const stats = await c.stats();
      const size = await c.size();
      c.close();
      return { before, after, badTtl, size, cache: stats.cache, evictions: stats.counters.evictions };
    });
    expect(r.before).toBe('lived');
    expect(r.after).toBeUndefined();
    expect(r.badTtl).toBe('ERR_SHARDEDMAP_INVALID_OPTION');
    expect(r.size).toBeLessThanOrEqual(500);
    expect(r.evictions).toBeGreaterThanOrEqual(1500);
    expect(r.cache).toMatchObject({ maxEntries: 500, ttl: 60000 });
    // The plain cache of the other tests refuses a ttl with the map's code.
    const plain = await page.evaluate(() => (window as unknown as { cache: import('shardedmap').SharedCache }).cache
      .store('k', 1, { ttl: 5 }).then(() => 'stored', (e: { code: string }) => e.code));
    expect(plain).toBe('ERR_SHARDEDMAP_INVALID_OPTION');
    await page.close();
  });

  it("without SharedWorker (Chrome on Android) the client falls back to a dedicated worker", { timeout: 30_000 }, async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      delete (window as { SharedWorker?: unknown }).SharedWorker;
    });
    await page.goto(`${base}/plain/cache.html`);
    await page.waitForFunction(() => (window as { ready?: boolean }).ready === true);
    const r = await page.evaluate(async () => {
      const c = (window as unknown as { cache: import('shardedmap').SharedCache }).cache;
      await c.store('k', [1, 2]);
      return { dedicated: c.dedicated, value: await c.load('k') };
    });
    expect(r).toEqual({ dedicated: true, value: [1, 2] });
    await page.close();
  });

  it('the cache client: every bad input rejects with the map\'s code, alone; the batch goes on', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/plain/cache.html`);
    await page.waitForFunction(() => (window as { ready?: boolean }).ready === true);
    const r = await page.evaluate(async () => {
      const c = (window as unknown as { cache: import('shardedmap').SharedCache }).cache;
      await c.store('n', 1);
      const settle = (p: Promise<unknown>) =>
        p.then((v) => ({ ok: v }), (e: { code?: string; name?: string }) => ({ code: e.code, name: e.name }));
      const before = c.messagesSent;
      // All in one tick: one message, good and bad requests mixed.
      const results = await Promise.all([
        settle(c.store('good1', { a: 1 })),
        settle(c.load(Symbol('s') as never)),
        settle(c.store({} as never, 1)),
        settle(c.store('f', (() => 1) as never)),
        settle(c.store('nested', { f: () => 1 })), // not cloneable
        settle(c.store('big', 'x'.repeat(2000))), // over maxValueBytes=1024
        settle(c.loadNumber('good1')), // not a number
        settle(c.storeNumber('s', 'x' as never)),
        settle(c.swap('n', 2)),
        settle(c.loadAndDelete('n')),
        settle(c.compareAndDelete('good1', { a: 1 })),
        settle(c.compareAndSwap('missing', 1, 2)),
        settle(c.tryStore('t', 'v')),
        settle(c.loadOrStore('t', 'w')),
        settle(c.store('good2', [1, 2])),
      ]);
      return { results, messages: c.messagesSent - before, good2: await c.load('good2'), size: await c.size() };
    });
    expect(r.results).toEqual([
      { ok: undefined },
      { code: 'ERR_SHARDEDMAP_KEY_TYPE', name: 'ShardedMapTypeError' },
      { code: 'ERR_SHARDEDMAP_KEY_TYPE', name: 'ShardedMapTypeError' },
      { code: 'ERR_SHARDEDMAP_VALUE_TYPE', name: 'ShardedMapTypeError' },
      { code: 'ERR_SHARDEDMAP_VALUE_TYPE', name: 'ShardedMapTypeError' },
      { code: 'ERR_SHARDEDMAP_VALUE_TOO_LARGE', name: 'ShardedMapRangeError' },
      { code: 'ERR_SHARDEDMAP_NOT_A_NUMBER', name: 'ShardedMapTypeError' },
      { code: 'ERR_SHARDEDMAP_VALUE_TYPE', name: 'ShardedMapTypeError' },
      { ok: { previous: 1, loaded: true } },
      { ok: { value: 2, loaded: true } },
      { ok: true },
      { ok: false },
      { ok: true },
      { ok: { value: 'v', loaded: true } },
      { ok: undefined },
    ]);
    expect(r.good2).toEqual([1, 2]);
    expect(r.size).toBe(2); // t and good2
    // Values the page can clone but the worker cannot receive (the whole
    // batch was lost, and every request in it waited out the timeout), and
    // arguments whose inspection throws (they threw synchronously).
    const r2 = await page.evaluate(async () => {
      const c = (window as unknown as { cache: import('shardedmap').SharedCache }).cache;
      const settle = (p: () => Promise<unknown>) => {
        try {
          return p().then((v) => ({ ok: v }), (e: { code?: string; name?: string }) => ({ code: e.code, name: e.name }));
        } catch (e) {
          return Promise.resolve({ threw: String(e) });
        }
      };
      let deep: object = {};
      for (let i = 0; i < 3000; i++) deep = { d: deep };
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      const results = await Promise.all([
        settle(() => c.store('w1', 'one')),
        settle(() => c.store('wasm', new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])) as never)),
        settle(() => c.store('deep', deep)),
        settle(() => c.load(proxy as never)),
        settle(() => c.store('k', 1, { get ttl(): number { throw new Error('boom'); } })),
        settle(() => c.load('w1')),
      ]);
      return { results };
    });
    expect(r2.results).toEqual([
      { ok: undefined },
      { code: 'ERR_SHARDEDMAP_VALUE_TYPE', name: 'ShardedMapTypeError' },
      { code: 'ERR_SHARDEDMAP_VALUE_TYPE', name: 'ShardedMapTypeError' },
      { code: 'ERR_SHARDEDMAP_KEY_TYPE', name: 'ShardedMapTypeError' },
      { code: 'ERR_SHARDEDMAP_INVALID_OPTION', name: 'ShardedMapTypeError' },
      { ok: 'one' },
    ]);
    await page.close();
  });

  it('the cache client never hangs: a worker that fails to start, a map it cannot create, a silent worker, a crash', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/plain/cache.html`);
    await page.waitForFunction(() => (window as { ready?: boolean }).ready === true);
    const r = await page.evaluate(async () => {
      const { connectSharedCache } = window as unknown as { connectSharedCache: typeof import('shardedmap').connectSharedCache };
      const settle = (p: Promise<unknown>) =>
        p.then((v) => ({ ok: v }), (e: { code?: string }) => ({ code: e.code }));
      const missing = connectSharedCache(new URL('./dist/no-such-worker.js', location.href));
      const badOptions = connectSharedCache(new URL('./dist/shared-worker.js?shards=3', location.href));
      const silent = connectSharedCache(new URL('./silent-worker.js', location.href), { timeout: 300 });
      const crashing = connectSharedCache(new URL('./crashing-worker.js', location.href));
      return {
        missing: await Promise.all([settle(missing.load('a')), settle(missing.store('b', 1))]),
        missingMessage: await missing.size().then(String, (e: Error) => e.message),
        badOptions: await Promise.all([settle(badOptions.load('a')), settle(badOptions.size())]),
        badOptionsLater: await settle(badOptions.has('a')),
        silent: await settle(silent.load('a')),
        crashing: await Promise.all([settle(crashing.load('a')), settle(crashing.store('b', 1))]),
        crashingLater: await settle(crashing.size()),
      };
    });
    expect(r.missing).toEqual([{ code: 'ERR_SHARDEDMAP_WORKER_FAILED' }, { code: 'ERR_SHARDEDMAP_WORKER_FAILED' }]);
    // The message names the URL the worker was started from, as resolved.
    expect(r.missingMessage).toMatch(/^the cache worker http:\/\/127\.0\.0\.1:\d+\/plain\/dist\/no-such-worker\.js failed to start/);
    expect(r.badOptions).toEqual([{ code: 'ERR_SHARDEDMAP_INVALID_OPTION' }, { code: 'ERR_SHARDEDMAP_INVALID_OPTION' }]);
    expect(r.badOptionsLater).toEqual({ code: 'ERR_SHARDEDMAP_INVALID_OPTION' });
    expect(r.silent).toEqual({ code: 'ERR_SHARDEDMAP_TIMEOUT' });
    expect(r.crashing).toEqual([{ code: 'ERR_SHARDEDMAP_WORKER_FAILED' }, { code: 'ERR_SHARDEDMAP_WORKER_FAILED' }]);
    expect(r.crashingLater).toEqual({ code: 'ERR_SHARDEDMAP_WORKER_FAILED' });
    await page.close();
  });
});
