#!/usr/bin/env node
// Takes docs/browser-example.png: the example in headless Chromium after
// tab A stores a value and tab B loads it (a hit) and a missing key (a miss).
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/static-server.mjs';
import { launchChromium } from '../../scripts/chromium.mjs';

const { server, url } = await startServer(fileURLToPath(new URL('./', import.meta.url)));
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 420 } });
  await page.goto(`${url}/plain/index.html`);
  const a = page.frameLocator('#a');
  const b = page.frameLocator('#b');
  for (const f of [page.frame({ url: /name=A/ }), page.frame({ url: /name=B/ })]) await f.waitForFunction(() => window.ready === true);
  await a.locator('#store button').click();
  await page.waitForTimeout(200);
  await b.locator('#load button').click();
  await b.locator('#load input').fill('user:2');
  await b.locator('#load button').click();
  await page.waitForTimeout(800);
  await page.screenshot({ path: fileURLToPath(new URL('../../docs/browser-example.png', import.meta.url)) });
  console.log('written docs/browser-example.png');
} finally {
  await browser.close();
  server.close();
}
