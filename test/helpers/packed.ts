/**
 * The package as a user installs it: `npm pack` of the built tree (dist/
 * must be built: `npm test` builds first), unpacked into the node_modules of
 * a temporary project outside this repository, next to links to the
 * project's own copies of whatever else that project needs (bundlers,
 * TypeScript's @types, the optional peers). Nothing is downloaded.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** A fresh temporary directory (removed by `remove`). */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `shardedmap-${prefix}-`));
}

export function remove(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** `npm pack` into `dir`, without running the build again (prepack): the
 *  tarball's path. */
export function pack(dir: string): string {
  for (const f of ['dist/index.js', 'dist/browser.js', 'dist/shared-worker.js', 'dist/types/src/index.d.ts']) {
    if (!existsSync(path.join(root, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(out) as { filename: string }[];
  return path.join(dir, info!.filename);
}

/** Unpack `tarball` as `project`/node_modules/shardedmap, and link each of
 *  `packages` (names as in package.json, e.g. '@types/node') to this
 *  repository's installed copy. */
export function install(tarball: string, project: string, packages: readonly string[] = []): void {
  const into = path.join(project, 'node_modules', 'shardedmap');
  mkdirSync(into, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', into, '--strip-components=1']);
  for (const name of packages) {
    const target = path.join(root, 'node_modules', name);
    if (!existsSync(target)) throw new Error(`${name} is not installed here (npm ci)`);
    const link = path.join(project, 'node_modules', name);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(target, link, 'dir');
  }
}
