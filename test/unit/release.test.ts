// The release build carries no test code: the core's export list is the
// API the facade uses, and the release bundles have no test door. (The
// tests themselves run the test build, which adds the doors.)
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { CORE_ARITY, GUARDED } from 'shardedmap/internals';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url));

/** Every export of the release core, and only these: the facade's one
 *  list (core/core.ts CORE_ARITY, which the compiler checks against the
 *  CoreExports interface), plus the memory it imports and re-exports. */
const RELEASE_EXPORTS = [...Object.keys(CORE_ARITY), 'memory'];

const exportsOf = (path: string) => WebAssembly.Module.exports(new WebAssembly.Module(read(path))).map((e) => e.name);

describe('release build', () => {
  it('exports the API and no test door', () => {
    expect(exportsOf('build/core.wasm').sort()).toEqual([...RELEASE_EXPORTS].sort());
  });

  it('takes the number of arguments the facade passes, export by export (CORE_ARITY, which the fault guard uses)', async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const abort = () => {
      throw new Error('abort');
    };
    const { instance } = await WebAssembly.instantiate(read('build/core.wasm'), { env: { memory, abort } });
    const arity = CORE_ARITY as Record<string, number>;
    for (const name of Object.keys(arity)) {
      expect([name, (instance.exports[name] as (...a: number[]) => unknown).length]).toEqual([name, arity[name]]);
    }
    // Every guarded export is in the list (the guard takes its arity there).
    for (const name of GUARDED) expect(Object.keys(arity)).toContain(name);
  });

  it('differs from the test build only by the doors (control: the test build has them)', () => {
    const test = exportsOf('build/core.test.wasm');
    const doors = test.filter((n) => !RELEASE_EXPORTS.includes(n)).sort();
    expect(doors).toEqual([
      'cellAddress', 'cellForm', 'entryAddress', 'headerAddress', 'shardAddress', 'shardLockAddress', 'testCorrupt',
      'testHash', 'testOverwrite', 'testStall',
    ]);
    for (const name of RELEASE_EXPORTS) expect(test).toContain(name);
  });

  it('the write path of the release core reads no fault-injection word', () => {
    // The test build's write calls the fault door; the release build's does
    // not even contain its message.
    expect(read('build/core.wasm').includes(Buffer.from('test-induced abort', 'utf16le'))).toBe(false);
    expect(read('build/core.test.wasm').includes(Buffer.from('test-induced abort', 'utf16le'))).toBe(true);
  });

  it('the release bundles have no internals door', () => {
    for (const f of ['dist/index.js', 'dist/browser.js', 'dist/shared-worker.js']) {
      const text = read(f).toString();
      expect(text).not.toContain('failNextWrite');
      expect(text).not.toContain('TEST_ONLY');
    }
    expect(read('dist/test/chunks/chunk.js').toString()).toContain('failNextWrite');
    const pkg = JSON.parse(read('package.json').toString());
    // No door to the test build in the package: no ./internals export, no
    // condition pointing into dist/test, dist/test not shipped.
    expect(pkg.exports['./internals']).toBeUndefined();
    expect(JSON.stringify(pkg.exports)).not.toContain('dist/test');
    expect(pkg.files).toContain('!dist/test');
  });
});
