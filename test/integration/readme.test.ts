/**
 * The code blocks of README.md and docs/*.md, as a reader copies them:
 * every JavaScript block is either
 * - a file of a complete program (first line `// name.mjs`), which this test
 *   extracts from the page, writes into a temporary project where the packed
 *   package is installed (test/helpers/packed.ts), runs with node, and
 *   checks (PROGRAMS below; a program block not listed there fails);
 * - a file of the bundler recipe, built and run in Chromium by
 *   test/integration/bundlers.test.ts (BUNDLED);
 * - or a fragment, whose first line says what it leaves out:
 *   `// (fragment: ...)`.
 * The Redis program gets its own redis-server on a free port (REDIS_URL),
 * never 6379.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { install, pack, remove, root, tempDir } from '../helpers/packed.js';
import { codeBlocks, type CodeBlock } from '../helpers/readme.js';
import { startRedis } from '../../scripts/redis-server.mjs';

const PAGES = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const blocks = PAGES.flatMap(codeBlocks).filter((b) => b.lang === 'js' || b.lang === 'ts');

/** The bundler recipe's files (bundlers.test.ts builds them). */
const BUNDLED = ['// vite.config.js', '// src/cache.js (Vite)', '// build.mjs (esbuild): node build.mjs', '// src/cache.js (esbuild)'];
const FRAGMENT = /^\/\/ \(fragment: .{10,}\)$/;
const fileOf = (b: CodeBlock) => /^\/\/ ([\w-]+\.mjs)\b/.exec(b.title)?.[1];

interface Program {
  /** Its files, by name (the first is run). */
  files: string[];
  /** What it must print (stdout), or for a server, what it must serve. */
  stdout?: RegExp;
  serves?: { url: string; body: RegExp };
  redis?: boolean;
}
const PROGRAMS: Record<string, Program> = {
  'Quick start': { files: ['main.mjs', 'worker.mjs'], stdout: /^\{ name: 'Bob' \}\n$/ },
  'A cache': { files: ['cache.mjs'], stdout: /^user:2 0\n$/ },
  Metrics: { files: ['metrics.mjs'], serves: { url: 'http://127.0.0.1:9464/metrics', body: /^shardedmap_\w+/m } },
  'Near cache': { files: ['near-main.mjs', 'near-worker.mjs'], stdout: /^\{ name: 'Alice' \}\n$/, redis: true },
};

let tmp: string;
let tarball: string;
beforeAll(() => {
  tmp = tempDir('readme');
  tarball = pack(tmp);
});
afterAll(() => remove(tmp));

/** Write the program's files, extracted from the pages, into a project of
 *  its own. */
function project(name: string, program: Program): string {
  const dir = path.join(tmp, name.replace(/\W+/g, '-'));
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'readme-program', private: true, type: 'module' }));
  install(tarball, dir, ['msgpackr', 'prom-client', '@redis/client']);
  for (const f of program.files) {
    const found = blocks.filter((b) => fileOf(b) === f);
    if (found.length !== 1) throw new Error(`${found.length} code blocks are the file ${f}, expected 1`);
    writeFileSync(path.join(dir, f), found[0]!.text);
  }
  return dir;
}

/** Run `node file` in `dir`; resolves with its output once it exits (or,
 *  with `until`, once `until` resolves, then stops it). */
function run(dir: string, file: string, env: Record<string, string> = {}, until?: () => Promise<void>) {
  const child = spawn(process.execPath, [file], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return (async () => {
    if (until) {
      await Promise.race([until(), exited.then((code) => Promise.reject(new Error(`exited with ${code}: ${stderr}`)))]);
      child.kill('SIGTERM');
    }
    const code = await exited;
    clearTimeout(timer);
    return { code: until ? 0 : code, stdout, stderr };
  })();
}

describe('README.md and docs/: every code block runs or says what it leaves out', () => {
  it('each JavaScript block is a program file listed here, a bundler recipe file, or a fragment', () => {
    const listed = new Set(Object.values(PROGRAMS).flatMap((p) => p.files));
    const problems = blocks.flatMap((b) => {
      const where = `${b.page}:${b.line}`;
      if (FRAGMENT.test(b.title) || BUNDLED.includes(b.title)) return [];
      const f = fileOf(b);
      if (!f) return [`${where}: neither a program file (// name.mjs) nor a fragment saying what it leaves out: ${b.title}`];
      return listed.has(f) ? [] : [`${where}: the program file ${f} is run by no test (add it to PROGRAMS)`];
    });
    expect(problems).toEqual([]);
    expect(blocks.filter((b) => BUNDLED.includes(b.title)).length).toBe(BUNDLED.length);
  });

  it.each(Object.entries(PROGRAMS))('%s: runs as written', async (name, program) => {
    const dir = project(name, program);
    const redis = program.redis ? await startRedis() : undefined;
    try {
      const env = redis ? { REDIS_URL: redis.url } : {};
      let served = '';
      const until = program.serves && (async () => {
        for (let i = 0; ; i++) {
          try {
            served = await (await fetch(program.serves!.url)).text();
            return;
          } catch (e) {
            if (i === 100) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      });
      const r = await run(dir, program.files[0]!, env, until);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      if (program.stdout) expect(r.stdout).toMatch(program.stdout);
      if (program.serves) expect(served).toMatch(program.serves.body);
    } finally {
      await redis?.stop();
    }
  });
});
