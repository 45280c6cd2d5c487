// Bundles the facade (src/) with the Wasm core inlined as bytes, so one file
// works in Node and in browsers with no fetch and no fs; then emits .d.ts.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/index.ts', 'src/internals.ts'],
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  external: ['msgpackr'],
  loader: { '.wasm': 'binary' },
  sourcemap: true,
  logLevel: 'warning',
});
// Browsers: everything bundled (msgpackr too), the map and the SharedWorker
// cache's worker script.
await build({
  entryPoints: { browser: 'src/index.ts', 'shared-worker': 'src/shared-worker.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  loader: { '.wasm': 'binary' },
  sourcemap: true,
  logLevel: 'warning',
});
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
