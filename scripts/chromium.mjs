// The browser for the tests and the example screenshot, found without apt:
// CHROMIUM_PATH if set, else the system Chromium (/usr/bin/chromium) if
// installed, else the Chromium that ships inside the @sparticuz/chromium npm
// package (unpacked to /tmp on first use, ~2.5 s). A missing browser is an
// error, never a skipped test.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Flags that work as root on these machines; the background-networking
 *  ones keep Chromium from dialing out of a closed network. */
const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

/** The executable to launch, and where it came from. */
export async function chromiumExecutable() {
  const env = process.env.CHROMIUM_PATH;
  if (env) {
    if (!existsSync(env)) throw new Error(`CHROMIUM_PATH is set to ${env}, which does not exist`);
    return { path: env, source: 'CHROMIUM_PATH' };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { path: SYSTEM_CHROMIUM, source: 'system' };
  const { default: packaged } = await import('@sparticuz/chromium');
  return { path: await packaged.executablePath(), source: '@sparticuz/chromium' };
}

/** Launch headless Chromium through playwright-core. */
export async function launchChromium() {
  const { path } = await chromiumExecutable();
  return chromium.launch({ executablePath: path, args: ARGS });
}
