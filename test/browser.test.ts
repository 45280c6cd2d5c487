// In a real browser (Chromium driven by playwright-core; see
// scripts/chromium.mjs for which one): dedicated
// workers of an isolated page share one map; a page that is not isolated
// gets a clear error; tabs share a SharedWorker cache.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { startServer } from '../scripts/static-server.mjs';
import { launchChromium, chromiumExecutable } from '../scripts/chromium.mjs';

let browser: Browser;
let server: Server;
let base: string;

beforeAll(async () => {
  ({ server, url: base } = await startServer(fileURLToPath(new URL('./browser/', import.meta.url))));
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
    expect(await a.evaluate(() => (window as unknown as W).cache.size())).toBe(10_001);
    await context.close();
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
});
