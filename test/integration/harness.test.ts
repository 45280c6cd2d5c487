// The benchmark harness (`npm start`, bench/index.mjs) in short runs: a
// contestant of the user's own and broken ones, YCSB workloads, keys built
// per call, more workers than cores, the native anchor (its rows when `go`
// is on the PATH, its skip line always), --compare, and the charts. Each run
// is a child process with windows of ~100 ms: what is asserted is what the
// harness did and reported, never how fast anything was.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: plain .mjs without types
import { mannWhitney } from '../../bench/compare.mjs';
// @ts-expect-error: plain .mjs without types
import { ycsbZipfian, rng, keyOf, opStream, ycsbCell, OP } from '../../bench/workloads.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HARNESS = join(ROOT, 'bench/index.mjs');
const EXAMPLE = join(ROOT, 'examples/bench-adapter/channel-map.mjs');
const SHORT = ['--cells-only', '--duration', '100', '--runs', '2', '--warmup', '50'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shardedmap-harness-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Run the harness; its stdout, and the JSON report it wrote to `out`. */
function harness(args: string[], out = join(dir, `run-${Math.random().toString(36).slice(2)}`)): Promise<{ stdout: string; report: any; out: string }> {
  return new Promise((resolve, reject) => {
    // The release build, as `npm start` runs it (no test conditions).
    execFile(process.execPath, [HARNESS, '--out', out, ...args], { cwd: ROOT, maxBuffer: 64 << 20, env: { ...process.env, INIT_CWD: ROOT } }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`harness failed: ${err.message}\n${stderr}`));
      const file = ['quick', 'workload', 'ycsb'].map((n) => join(out, `${n}.json`)).find((f) => existsSync(f));
      resolve({ stdout, report: file ? JSON.parse(readFileSync(file, 'utf8')) : null, out });
    });
  });
}

const row = (report: any, cell: string, who: string) => report.results.find((r: any) => r.cell === cell && r.contestant === who);

describe('npm start (bench/index.mjs)', () => {
  it('--help lists every option', async () => {
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
      execFile(process.execPath, [HARNESS, '--help'], (err, stdout) => (err ? reject(err) : resolve({ stdout }))),
    );
    for (const opt of ['--contestant ', '--workload', 'ycsb-f', '--profile quick|full|matrix|ycsb', '--fresh-keys', '--compare old.json [new.json]', '--go ', '--timeout'])
      expect(stdout).toContain(opt);
  });

  it('runs an adapter file beside the built-ins; one that throws, returns wrong values or hangs fails its own row and the run goes on', async () => {
    writeFileSync(join(dir, 'throws.mjs'), `export const kind = 'shared';
export async function setup() { throw new Error('no database here'); }
export async function open() {}`);
    const stub = `export const kind = 'shared';
export async function setup() { return { bytesPerEntry: NaN, bytesKind: '', worker: () => ({ data: {} }), teardown() {} }; }`;
    writeFileSync(join(dir, 'wrong.mjs'), `${stub}
export async function open() { return { load: () => 42, store() {}, del() {}, close() {} }; }`);
    // Loops forever in its first load: only the cell's bound ends it.
    writeFileSync(join(dir, 'spins.mjs'), `${stub}
export async function open() { return { load: () => { for (;;); }, store() {}, del() {}, close() {} }; }`);
    writeFileSync(join(dir, 'never.mjs'), `${stub}
export const async = true;
export async function open() { return { load: () => new Promise(() => {}), store: async () => {}, del: async () => {}, close() {} }; }`);
    const { report, stdout } = await harness([
      ...SHORT, '--go', 'off', '--timeout', '6000', '--contestants', 'map', '--cells', '1K-r90-w2-number',
      '--contestant', EXAMPLE, '--contestant', join(dir, 'throws.mjs'), '--contestant', join(dir, 'wrong.mjs'),
      '--contestant', join(dir, 'spins.mjs'), '--contestant', join(dir, 'never.mjs'),
    ]);
    const cell = '1K-r90-w2-number';
    const example = row(report, cell, 'channel-map');
    expect(example.error).toBeUndefined();
    expect(example.opsPerSec).toBeGreaterThan(0);
    expect(example.visible).toBe(true); // one map: a worker reads what the other stored
    expect(row(report, cell, 'map').visible).toBe(false); // private: it does not
    expect(row(report, cell, 'throws').error).toBe('no database here');
    expect(row(report, cell, 'wrong').error).toMatch(/wrong value: load\("key:0"\) returned 42, stored 0.5/);
    expect(row(report, cell, 'spins').error).toMatch(/timed out after 6000 ms/);
    expect(row(report, cell, 'never').error).toMatch(/never settled/);
    expect(stdout).toContain('one Map in a server thread, over MessageChannels');
    expect(stdout).toMatch(/\| wrong \([^)]*\) \| failed: wrong value/);
  });

  it('YCSB workloads (D latest + inserts, E scans where a contestant can range, F read-modify-write), the oversubscribed cell, and the Go skip line', async () => {
    const over = `1K-r90-w${4 * availableParallelism()}-number`;
    const { report, stdout } = await harness([
      ...SHORT, '--go', join(dir, 'no-such-dir', 'go'), '--contestants', 'shardedmap,map,lmdb', '--records', '1000',
      '--cells', `${over},ycsb-d-1K-w2,ycsb-f-1K-w1`, '--workload', 'ycsb-e',
    ]);
    // 4 workers per core, every contestant measured, lock waits counted where the adapter can.
    expect(report.cells.find((c: any) => c.id === over).workers).toBe(4 * availableParallelism());
    for (const who of ['shardedmap', 'map', 'lmdb']) {
      const r = row(report, over, who);
      expect(r.error).toBeUndefined();
      expect(r.opsPerSec).toBeGreaterThan(0);
      expect(Number.isFinite(r.p99ns)).toBe(true);
    }
    expect(row(report, over, 'shardedmap').lockWaitsPerWindow).toBeGreaterThanOrEqual(0);
    expect(row(report, over, 'map').lockWaitsPerWindow).toBeNull();
    // The operation mixes are YCSB's (op codes: 0 read, 1 update, 3 insert, 4 scan, 5 rmw).
    const d = row(report, 'ycsb-d-1K-w2', 'shardedmap');
    expect(d.opsPerSec).toBeGreaterThan(0);
    expect(d.opMix[3]).toBeGreaterThan(0.02);
    expect(d.opMix[3]).toBeLessThan(0.1);
    expect(d.opMix[0] + d.opMix[3]).toBeCloseTo(1, 6);
    const f = row(report, 'ycsb-f-1K-w1', 'lmdb');
    expect(f.opMix[5]).toBeGreaterThan(0.4);
    expect(f.opMix[5]).toBeLessThan(0.6);
    for (const w of [1, Math.max(2, availableParallelism())]) {
      const e = `ycsb-e-1K-w${w}`;
      expect(row(report, e, 'lmdb').opMix[4]).toBeGreaterThan(0.85);
      expect(row(report, e, 'shardedmap').skipped).toMatch(/cannot range/);
      expect(row(report, e, 'map').skipped).toMatch(/cannot range/);
    }
    expect(stdout).toMatch(/YCSB D, read latest: 95% reads, 5% inserts, latest keys, 1K records of 10 × 100 B/);
    expect(stdout).toMatch(/Native anchor \(Go\): skipped, .* is not on the PATH\. Install Go to get it \(`apt-get install golang-go`/);
    expect(report.native.skipped).toBeTruthy();
  });

  it('--fresh-keys, --compare (one file: against a new run; two files: nothing measured), and the charts', async () => {
    const args = ['--cells-only', '--duration', '60', '--runs', '6', '--warmup', '50', '--go', 'off', '--contestants', 'shardedmap,map', '--cells', '1K-r100-w1-number', '--fresh-keys'];
    const first = await harness(args);
    const cell = '1K-r100-w1-number-fresh';
    expect(first.report.cells.map((c: any) => c.id)).toEqual([cell]);
    expect(first.report.cells[0].fresh).toBe(true);
    expect(first.stdout).toContain('keys built per call');
    for (const who of ['shardedmap', 'map']) expect(row(first.report, cell, who).runsOpsPerSec).toHaveLength(6);
    // Both charts, shardedmap highlighted; the ratio chart has its 1× line.
    const svg = readFileSync(join(first.out, 'quick.svg'), 'utf8');
    expect(svg).toContain('shardedmap (256 shards)');
    const ratioSvg = readFileSync(join(first.out, 'quick-ratio.svg'), 'utf8');
    expect(ratioSvg).toContain('1×');
    expect(ratioSvg).toContain('shardedmap ÷ each peer');
    const oldFile = join(first.out, 'quick.json');

    const second = await harness([...args, '--compare', oldFile]);
    expect(second.stdout).toContain(`### Compared with ${oldFile}`);
    expect(second.stdout).toMatch(new RegExp(`\\| ${cell} \\| shardedmap \\| .* \\| p=\\d\\.\\d{3} n=6\\+6 \\|`));
    expect(second.report.comparison).toHaveLength(2);

    // Two files: shardedmap's windows doubled is a significant +100 %; the
    // map's, unchanged, is `~` (windows set by hand, so the verdict is the
    // rank test's, not this machine's).
    const at = (report: any, who: string) => report.results.find((r: any) => r.contestant === who);
    const before = structuredClone(first.report);
    at(before, 'shardedmap').runsOpsPerSec = [10e6, 11e6, 12e6, 13e6, 14e6, 15e6];
    const after = structuredClone(before);
    at(after, 'shardedmap').runsOpsPerSec = [20e6, 22e6, 24e6, 26e6, 28e6, 30e6];
    const beforeFile = join(dir, 'before.json');
    const newFile = join(dir, 'doubled.json');
    writeFileSync(beforeFile, JSON.stringify(before));
    writeFileSync(newFile, JSON.stringify(after));
    const cmp = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [HARNESS, '--compare', beforeFile, newFile], { env: { ...process.env, INIT_CWD: ROOT } }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(cmp).toMatch(new RegExp(`\\| ${cell} \\| shardedmap \\| .* \\| \\+100\\.0% \\| p=0\\.002 n=6\\+6 \\|`));
    expect(cmp).toMatch(new RegExp(`\\| ${cell} \\| map \\| .* \\| ~ \\| p=1\\.000 n=6\\+6 \\|`));
  });

  it('the rank test: exact p for small samples, normal approximation with ties', () => {
    expect(mannWhitney([1, 2, 3], [4, 5, 6]).p).toBeCloseTo(0.1, 10); // the smallest p with 3 + 3
    expect(mannWhitney([1, 5, 3, 8, 2], [4, 6, 7, 9, 10]).p).toBeCloseTo(24 / 252, 10);
    expect(mannWhitney([1, 2, 3, 4], [1, 2, 3, 4]).p).toBe(1);
    expect(mannWhitney([1, 2, 2, 3], [3, 4, 5, 5]).p).toBeLessThan(0.05);
  });

  it("YCSB's zipfian generator: P(rank k) ∝ 1/(k+1)^0.99; keys from the array or built per call", () => {
    const n = 1000;
    const next = ycsbZipfian(n, 0.99, rng(7));
    const counts = new Float64Array(n);
    for (let i = 0; i < 400_000; i++) counts[next()]++;
    expect(counts[0] / counts[1]).toBeCloseTo(2 ** 0.99, 1);
    expect(counts[0] / counts[9]).toBeGreaterThan(8);
    expect(counts[0] / counts[9]).toBeLessThan(11.5); // 10^0.99 = 9.8
    const keys = ['key:0', 'key:1', 'key:2'];
    expect(keyOf({ fresh: false }, keys)(2)).toBe(keys[2]);
    expect(keyOf({ fresh: true }, keys)(2)).toBe('key:2');
    // Workload D's reads of "latest" records only name records loaded or
    // already inserted by that worker, at that point of its stream.
    const cell = ycsbCell('ycsb-d', 1000, 2);
    const { idx, ops } = opStream(cell, 1, 1 << 16);
    const inserted = new Set<number>();
    const unknown: number[] = [];
    for (let i = 0; i < idx.length; i++) {
      if (ops[i] === OP.INSERT) inserted.add(idx[i]);
      else if (idx[i] >= 1000 && !inserted.has(idx[i])) unknown.push(idx[i]);
    }
    expect(unknown).toEqual([]);
    expect(inserted.size).toBeGreaterThan(0.03 * idx.length);
  });

  const hasGo = spawnSync('go', ['version']).status === 0;
  it.runIf(hasGo)('with go on the PATH: builds bench/go and prints its rows and the ratios beside shardedmap', async () => {
    const { report, stdout } = await harness([...SHORT, '--contestants', 'shardedmap', '--cells', '1K-r90-w1-number', '--go', 'go', '--go-keys', '1000']);
    expect(report.native.go).toMatch(/^go version go/);
    for (const map of ['ShardedMap', 'sync.Map'])
      for (const threads of [1, 2]) expect(report.native.rows.find((r: any) => r.map === map && r.keys === 1000 && r.threads === threads).opsPerSec).toBeGreaterThan(0);
    // The 2-worker anchor cell was not in --cells: run for shardedmap alone.
    expect(report.results.find((r: any) => r.cell === '1K-r90-w2-number' && r.anchorOnly).opsPerSec).toBeGreaterThan(0);
    expect(stdout).toContain('### Native anchor (Go)');
    expect(stdout).toMatch(/\| 1K-r90-w1-number \| [\d.]+[Mk] \| [\d.]+[Mk] \| [\d.]+[Mk] \| - \| [\d.]+× \| [\d.]+× \| - \|/);
  });
});
