// Run-to-run comparison (`npm start -- --compare old.json [new.json]`), as
// benchstat does it for `go test -bench`: per cell and contestant, the
// change of the median window and a Mann-Whitney U rank test over the two
// runs' windows; `~` when the difference is not significant at ALPHA.
//
// Why a rank test: windows on a shared 2-core host are not normal (a
// window that lost the core to a neighbour is an outlier, not a sample of
// a bell), and a rank test assumes nothing about the shape. Its power is
// bounded by the number of windows: with 3 + 3 the smallest two-sided p it
// can give is 0.10, so nothing is ever significant at 0.05; 6 + 6 windows
// (`--runs 6`) can reach p = 0.002.
import { median } from './run.mjs';
import { fmtOps } from './report.mjs';

/** benchstat's default significance level. */
export const ALPHA = 0.05;

/**
 * Two-sided Mann-Whitney U test of samples `a` and `b`.
 * Exact distribution of U (by the recurrence on (m, n)) when there are no
 * ties and m·n ≤ 2500; otherwise the normal approximation with the tie
 * correction and a continuity correction.
 * @returns {{ u: number, p: number }} u of `a`, p two-sided
 */
export function mannWhitney(a, b) {
  const m = a.length;
  const n = b.length;
  if (!m || !n) return { u: NaN, p: NaN };
  const all = [...a.map((x) => [x, 0]), ...b.map((x) => [x, 1])].sort((x, y) => x[0] - y[0]);
  // Mid-ranks for ties; tie sizes for the variance correction.
  const ranks = new Float64Array(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1][0] === all[i][0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[k] = r;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  let ra = 0;
  for (let k = 0; k < all.length; k++) if (all[k][1] === 0) ra += ranks[k];
  const u = ra - (m * (m + 1)) / 2;
  const uMin = Math.min(u, m * n - u);
  if (tieTerm === 0 && m * n <= 2500) return { u, p: Math.min(1, 2 * exactCdf(m, n, uMin)) };
  const N = m + n;
  const mean = (m * n) / 2;
  const sd = Math.sqrt(((m * n) / 12) * (N + 1 - tieTerm / (N * (N - 1))));
  if (sd === 0) return { u, p: 1 };
  const z = (Math.abs(u - mean) - 0.5) / sd;
  return { u, p: Math.min(1, 2 * (1 - normalCdf(Math.max(0, z)))) };
}

/** P(U ≤ u) for sample sizes m, n with no ties: counts of arrangements
 *  with each U, f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u), over C(m+n, m). */
function exactCdf(m, n, u) {
  // cnt[j][k]: arrangements of (i, j) with U = k, built up over i.
  let prev = Array.from({ length: n + 1 }, () => [1]); // i = 0: U is 0
  for (let i = 1; i <= m; i++) {
    const cur = [];
    for (let j = 0; j <= n; j++) {
      const len = i * j + 1;
      const row = new Float64Array(len);
      for (let k = 0; k < len; k++) {
        const fromPrevI = k - j >= 0 && k - j < prev[j].length ? prev[j][k - j] : 0; // last is from a
        const fromPrevJ = j > 0 && k < cur[j - 1].length ? cur[j - 1][k] : 0; // last is from b
        row[k] = fromPrevI + fromPrevJ;
      }
      cur.push(row);
    }
    prev = cur;
  }
  const dist = prev[n];
  let total = 0;
  let below = 0;
  for (let k = 0; k < dist.length; k++) {
    total += dist[k];
    if (k <= u) below += dist[k];
  }
  return below / total;
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf, |error| < 1.5e-7). */
function normalCdf(z) {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496735) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Rows of the comparison of two reports (the JSON a run writes): every
 * (cell, contestant) measured in both, in the new report's order.
 */
export function compareReports(oldReport, newReport, alpha = ALPHA) {
  const rows = [];
  for (const r of newReport.results) {
    const o = oldReport.results.find((x) => x.cell === r.cell && x.contestant === r.contestant);
    if (!o || !o.runsOpsPerSec?.length || !r.runsOpsPerSec?.length) continue;
    const a = o.runsOpsPerSec;
    const b = r.runsOpsPerSec;
    const { p } = mannWhitney(a, b);
    const oldMed = median(a);
    const newMed = median(b);
    rows.push({
      cell: r.cell, contestant: r.contestant, old: oldMed, new: newMed,
      oldSpread: spread(a), newSpread: spread(b),
      change: newMed / oldMed - 1, p, n: [a.length, b.length], significant: p < alpha,
    });
  }
  return rows;
}

function spread(xs) {
  const m = median(xs);
  return (Math.max(...xs) - Math.min(...xs)) / 2 / m;
}

/** The comparison as a markdown table, benchstat's columns. */
export function compareTable(rows, alpha = ALPHA) {
  if (!rows.length) return 'Nothing to compare: no cell and contestant is in both runs.';
  const fmt = (x, s) => `${fmtOps(x)} ±${(s * 100).toFixed(0)}%`;
  const lines = [
    '| cell | contestant | old ops/s | new ops/s | change | p (windows) |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const change = r.significant ? `${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(1)}%` : '~';
    lines.push(`| ${r.cell} | ${r.contestant} | ${fmt(r.old, r.oldSpread)} | ${fmt(r.new, r.newSpread)} | ${change} | p=${r.p.toFixed(3)} n=${r.n[0]}+${r.n[1]} |`);
  }
  const few = rows.some((r) => Math.min(...r.n) < 4);
  return [
    lines.join('\n'),
    `Change of the median window; \`~\`: not significant (two-sided Mann-Whitney U over the windows, p ≥ ${alpha}).` +
      (few ? ' With 3 windows a side the smallest p a rank test can give is 0.10: run both with `--runs 6` or more to see a change.' : ''),
  ].join('\n\n');
}
