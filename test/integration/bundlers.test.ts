/**
 * The browser recipe of README.md ("With a bundler"), followed from the
 * packed package: a page (test/fixtures/bundled-app) built once with Vite
 * and once with esbuild, with the README's `vite.config.js`, `build.mjs`
 * and `src/cache.js` as written there, then opened in Chromium:
 * - the page shares its map with a dedicated worker (cross-origin
 *   isolation: Vite's preview server with the config's `preview.headers`;
 *   esbuild's output from a static server sending the two headers);
 * - two tabs share the SharedWorker cache whose script each bundler serves
 *   (Vite: `shardedmap/shared-worker?url`; esbuild: an entry point).
 * The bundlers are this repository's (linked into the temporary project).
 */
import { cpSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Server } from 'node:http';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { install, pack, remove, root, tempDir } from '../helpers/packed.js';
import { block } from '../helpers/readme.js';
import { startServer } from '../../scripts/static-server.mjs';
import { launchChromium } from '../../scripts/chromium.mjs';

const README = 'README.md';
let tmp: string;
let tarball: string;
let browser: Browser;
const closers: (() => unknown)[] = [];

/** A temporary project: the fixture page, the package from the tarball,
 *  the bundler linked, and the README's files for that bundler. */
function project(name: string, bundler: 'vite' | 'esbuild', files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  cpSync(path.join(root, 'test', 'fixtures', 'bundled-app'), dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  install(tarball, dir, [bundler]);
  for (const [file, title] of Object.entries(files)) writeFileSync(path.join(dir, file), block(README, title).text);
  return dir;
}

beforeAll(async () => {
  tmp = tempDir('bundlers');
  tarball = pack(tmp);
  browser = await launchChromium();
});
afterAll(async () => {
  for (const close of closers) await close();
  await browser?.close();
  remove(tmp);
});

interface PageResult {
  isolated: boolean;
  seen?: unknown;
  fromWorker?: unknown;
  size?: number;
  error?: string;
}
type W = { cache: import('shardedmap').SharedCache; result?: PageResult };

/** Open `url` in two tabs: the dedicated-worker result of the first, and
 *  a value written through the cache by one tab and read by the other. */
async function twoTabs(url: string) {
  const context: BrowserContext = await browser.newContext();
  try {
    const [a, b] = [await context.newPage(), await context.newPage()];
    const errors: string[] = [];
    for (const p of [a, b]) {
      p.on('pageerror', (e) => errors.push(e.message));
      await p.goto(url);
      await p.waitForFunction(() => (window as unknown as W).result !== undefined, undefined, { timeout: 30_000 });
    }
    const result = await a.evaluate(() => (window as unknown as W).result!);
    await a.evaluate(() => (window as unknown as W).cache.store('greeting', { from: 'tab A' }));
    const shared = await b.evaluate(async () => {
      const c = (window as unknown as W).cache;
      return { value: await c.load('greeting'), dedicated: c.dedicated, size: await c.size() };
    });
    return { result, shared, errors };
  } finally {
    await context.close();
  }
}

const expected = {
  result: { isolated: true, seen: { n: 1 }, fromWorker: { n: 2 }, size: 1002 },
  shared: { value: { from: 'tab A' }, dedicated: false, size: 1 },
  errors: [],
};

describe('a page built from the packed package, run in Chromium', () => {
  it('with Vite: the map shared with a dedicated worker; two tabs share the SharedWorker cache (?url)', async () => {
    const dir = project('vite-app', 'vite', { 'vite.config.js': '// vite.config.js', 'src/cache.js': '// src/cache.js (Vite)' });
    const vite = await import('vite');
    await vite.build({ root: dir, logLevel: 'warn' });
    // The script was emitted as an asset of its own, not inlined.
    expect(readdirSync(path.join(dir, 'dist', 'assets')).some((f) => /^shared-worker-.*\.js$/.test(f))).toBe(true);
    const server = await vite.preview({ root: dir, logLevel: 'warn', preview: { port: 0, host: '127.0.0.1', strictPort: false } });
    closers.push(() => server.close());
    const url = server.resolvedUrls?.local[0];
    expect(url).toBeDefined();
    expect(await twoTabs(url!)).toEqual(expected);
  });

  it('with esbuild: the same page, the SharedWorker script as an entry point', async () => {
    const dir = project('esbuild-app', 'esbuild', { 'build.mjs': '// build.mjs (esbuild): node build.mjs', 'src/cache.js': '// src/cache.js (esbuild)' });
    execFileSync(process.execPath, ['build.mjs'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = path.join(dir, 'out');
    expect(readdirSync(out).sort()).toEqual(['main.js', 'shared-worker.js', 'worker.js']);
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'index.html'), '<!doctype html>\n<meta charset="utf-8">\n<script type="module" src="./main.js"></script>\n');
    const { server, url } = (await startServer(out)) as { server: Server; url: string };
    closers.push(() => server.close());
    expect(await twoTabs(`${url}/iso/index.html`)).toEqual(expected);
  });
});
