// The native anchor: the Go design shardedmap comes from (bench/go: 256 ×
// RWMutex + map, FNV-64a) and Go's sync.Map, built and run by `npm start`
// when `go` is on the PATH, on the harness's anchor cells (1K and 1M keys,
// 90 % reads, number values, 1 and 2 threads), so the JS rows have a
// native figure from the same machine and the same hour beside them.
//
// The build is GOPATH mode on the standard library alone (GO111MODULE=off,
// GOPROXY=off, GOTOOLCHAIN=local, GOFLAGS cleared): nothing is downloaded,
// and a Go that would want to fetch something fails instead.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The cells of the anchor: key counts × threads at 90 % reads. */
export const ANCHOR_KEYS = [1_000, 1_000_000];
export const ANCHOR_THREADS = [1, 2];
export const ANCHOR_READS = 90;
/** Longest Go window: compiled code has no warm-up to wait out, so a
 *  shorter window measures the same steady state (its spread here is the
 *  host's load, as the JS windows'), and the quick profile stays short. */
export const ANCHOR_WINDOW_MS = 250;

/** The one line printed when there is no Go. */
export function skipLine(go, why) {
  return `Native anchor (Go): skipped, ${why}. Install Go to get it (\`apt-get install golang-go\`; or pass \`--go /path/to/go\`).`;
}

const ENV = { GO111MODULE: 'off', GOPROXY: 'off', GOTOOLCHAIN: 'local', GOFLAGS: '', CGO_ENABLED: '0' };

/**
 * Build and run bench/go. `go` is the command ('go' finds it on the PATH).
 * @returns {{ rows, go: string } | { skipped: string }} rows as main.go
 *   prints them ({ map, keys, threads, opsPerSec, runsOpsPerSec }).
 */
export function nativeAnchor({ go = 'go', keys = ANCHOR_KEYS, threads = ANCHOR_THREADS, durationMs = 500, runs = 3 } = {}) {
  const env = { ...process.env, ...ENV };
  const version = spawnSync(go, ['version'], { encoding: 'utf8', env });
  if (version.error || version.status !== 0) {
    const why = version.error?.code === 'ENOENT' ? `\`${go}\` is not on the PATH` : `\`${go} version\` failed (${version.error?.message ?? version.stderr.trim()})`;
    return { skipped: skipLine(go, why) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'shardedmap-bench-go-'));
  try {
    const bin = join(dir, 'anchor');
    const src = fileURLToPath(new URL('./go/', import.meta.url));
    const build = spawnSync(go, ['build', '-o', bin, 'main.go'], { cwd: src, encoding: 'utf8', env });
    if (build.status !== 0) return { skipped: skipLine(go, `the build failed: ${(build.stderr || String(build.error)).trim().split('\n')[0]}`) };
    const args = ['-keys', keys.join(','), '-threads', threads.join(','), '-reads', String(ANCHOR_READS), '-window', `${durationMs}ms`, '-runs', String(runs)];
    const r = spawnSync(bin, args, { encoding: 'utf8', env, timeout: 600_000 });
    if (r.status !== 0) return { skipped: skipLine(go, `the anchor failed: ${(r.stderr || String(r.error)).trim().split('\n')[0]}`) };
    return { go: version.stdout.trim(), rows: JSON.parse(r.stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The JS cell id an anchor row stands beside. */
export function anchorCellId(keys, threads) {
  return `${keys >= 1e6 ? `${keys / 1e6}M` : `${keys / 1e3}K`}-r${ANCHOR_READS}-w${threads}-number`;
}
