/**
 * The package as published, checked on its tarball (`npm pack`) by the
 * tools users and registries run:
 * - publint: no errors, no warnings (suggestions are printed);
 * - @arethetypeswrong/cli: no problem for any entry, ESM-only profile (the
 *   package is ESM; Node 20.19+ `require()` loads it, and CommonJS
 *   resolution modes are not promised);
 * - its contents: a LICENSE, no test build, no source maps, no install
 *   script for consumers.
 * (Its types in a consumer project: test/unit/typings.test.ts; its browser
 * bundles in Vite and esbuild: test/integration/bundlers.test.ts.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, remove, root, tempDir } from '../helpers/packed.js';

let tmp: string;
let tarball: string;
beforeAll(() => {
  tmp = tempDir('package');
  tarball = pack(tmp);
});
afterAll(() => remove(tmp));

/** Run attw on the tarball; its JSON report goes to a file, not a pipe: the
 *  CLI exits with process.exit, which on Node 24 cut a piped report of
 *  150 KB short (a file is written synchronously). */
const attw = (...args: string[]) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'attw-'));
  const out = path.join(dir, 'report.json');
  const fd = openSync(out, 'w');
  try {
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'), tarball, '--format', 'json', ...args], {
      stdio: ['ignore', fd, 'pipe'],
      encoding: 'utf8',
    });
    return { status: r.status, stdout: readFileSync(out, 'utf8') };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
};

describe('the packed package', () => {
  it('publint: no errors, no warnings', async () => {
    const data = readFileSync(tarball);
    const { messages, pkg } = await publint({ pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) }, level: 'suggestion' });
    const text = (type: string) => messages.filter((m) => m.type === type).map((m) => formatMessage(m, pkg));
    for (const s of text('suggestion')) console.log(`publint suggestion: ${s}`);
    expect({ errors: text('error'), warnings: text('warning') }).toEqual({ errors: [], warnings: [] });
  });

  it('@arethetypeswrong/cli --profile esm-only: no problems, every entry typed', () => {
    const r = attw('--profile', 'esm-only');
    const report = JSON.parse(r.stdout) as { analysis: { entrypoints: Record<string, unknown> }; problems?: unknown };
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(['.', './keyv', './package.json', './prometheus', './redis', './shared-worker']);
    expect(r.status, r.stdout).toBe(0);
    // Control: without the profile, it reports that CommonJS `require`
    // resolution gets ESM (so the check does report what it finds).
    const all = attw();
    expect(all.status).toBe(1);
    expect(all.stdout).toContain('CJSResolvesToESM');
  });

  it('ships a LICENSE, the builds and declarations, and no test build, source maps or install script', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).toContain('LICENSE');
    expect(readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    for (const f of ['dist/index.js', 'dist/browser.js', 'dist/shared-worker.js', 'dist/prometheus.js', 'dist/redis.js', 'dist/types/src/index.d.ts']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('dist/test/') || f.endsWith('.map') || f.includes('internals'))).toEqual([]);
    const pkg = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
    expect(pkg.license).toBe('MIT');
    const install = ['preinstall', 'install', 'postinstall', 'prepare'].filter((s) => pkg.scripts?.[s]);
    expect(install).toEqual([]);
  });
});
