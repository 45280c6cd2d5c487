// Turning results into tables: per cell, ratios of shardedmap against each
// peer, and the project's targets with the measured value next to each.
import { fmtCount, YCSB, YCSB_FIELDS, YCSB_FIELD_BYTES, OP_NAMES } from './workloads.mjs';
import { anchorCellId } from './native.mjs';
import { availableParallelism } from 'node:os';

/** Workers of the quick profile's multi-worker object cell (workloads.mjs). */
const OBJECT_WORKERS = Math.max(2, availableParallelism());

export function fmtOps(x) {
  if (!(x > 0)) return '-';
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e7 ? 1 : 2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(x >= 1e4 ? 0 : 1)}k`;
  return x.toFixed(0);
}

export function fmtNs(x) {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)} ms`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} µs`;
  return `${x.toFixed(0)} ns`;
}

function fmtRatio(x) {
  if (!Number.isFinite(x)) return '-';
  return x >= 100 ? `${x.toFixed(0)}×` : x >= 0.01 ? `${x.toFixed(2)}×` : `${x.toPrecision(2)}×`;
}

function cellTitle(c) {
  const w = `${c.workers} worker${c.workers > 1 ? 's' : ''}`;
  const fresh = c.fresh ? ', keys built per call' : '';
  if (c.workload) {
    const y = YCSB[c.workload];
    const mix = Object.entries(y.mix).map(([k, f]) => `${f * 100}% ${k === 'rmw' ? 'read-modify-write' : k}s`).join(', ');
    return `YCSB ${y.title}: ${mix}, ${y.dist} keys, ${fmtCount(c.keys)} records of ${YCSB_FIELDS} × ${YCSB_FIELD_BYTES} B, ${w}${fresh}`;
  }
  const writes = c.reads < 100 ? `, ${100 - c.reads}% writes${c.deletes ? ` (${c.deletes * 100}% of them deletes)` : ''}` : '';
  return `${fmtCount(c.keys)} keys, ${c.reads}% reads${writes}, ${w}, ${c.value} values, ${c.draw} keys${fresh}`;
}

function table(header, rows) {
  const md = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) md.push(`| ${r.join(' | ')} |`);
  return md.join('\n');
}

/** Per-cell tables (markdown). */
export function cellTables(results, cells, contestants) {
  const out = [];
  for (const c of cells) {
    const rows = [];
    const blank = (why) => [why, '', '', '', '', '', '', '', '', '', '', '', ''];
    for (const k of contestants) {
      const r = results.find((x) => x.cell === c.id && x.contestant === k.id);
      if (!r) continue;
      if (r.error) {
        rows.push([k.label, ...blank(`failed: ${r.error}`)]);
        continue;
      }
      if (r.skipped) {
        rows.push([k.label, ...blank(`n/a: ${r.skipped}`)]);
        continue;
      }
      rows.push([
        k.label,
        fmtOps(r.opsPerSec),
        `±${(r.spread * 50).toFixed(0)}%`,
        fmtNs(r.p50ns),
        fmtNs(r.p99ns),
        fmtNs(r.p999ns),
        c.reads < 100 ? fmtNs(r.writeP99ns) : '-',
        r.lockWaitsPerWindow == null ? '-' : r.lockWaitsPerWindow.toFixed(0),
        `${r.gcEventsPerWindow.toFixed(1)} / ${r.gcMsPerWindow.toFixed(1)} ms`,
        r.heapMB.toFixed(0),
        r.rssMB.toFixed(0),
        Number.isFinite(r.bytesPerEntry) ? `${r.bytesPerEntry.toFixed(0)} (${r.bytesKind})` : '-',
        r.visible === null ? 'n/a' : r.visible ? 'yes' : '**no**',
      ]);
    }
    const mix = mixLine(c, results);
    out.push(`#### ${c.id}: ${cellTitle(c)}\n\n` + table(
      ['contestant', 'ops/s', 'spread', c.workload ? 'read p50' : 'load p50', c.workload ? 'read p99' : 'load p99', c.workload ? 'read p99.9' : 'load p99.9', 'write p99', 'lock waits / window', 'GC / window', 'heap MB', 'RSS MB', 'bytes/entry', 'visible'],
      rows,
    ) + (mix ? `\n\n${mix}` : ''));
  }
  return out.join('\n\n');
}

/** A YCSB cell's measured operation mix (sampled), from its first result. */
function mixLine(c, results) {
  if (!c.workload) return '';
  const r = results.find((x) => x.cell === c.id && x.opMix);
  if (!r) return '';
  const parts = r.opMix.map((f, i) => (f > 0 ? `${OP_NAMES[i]} ${(f * 100).toFixed(1)}%` : null)).filter(Boolean);
  return `Operations done in the timed windows (${r.contestant}): ${parts.join(', ')}. Reads and scans are timed as "read", updates, inserts and read-modify-writes as "write".`;
}

/** The native anchor's rows beside the JS cells of the same shape
 *  (`native`: nativeAnchor's result). */
export function nativeSection(native, results) {
  if (!native) return 'not run (`--go off`, or no shardedmap contestant)';
  if (native.skipped) return native.skipped;
  const get = (cell, who) => results.find((r) => r.cell === cell && r.contestant === who && r.opsPerSec > 0);
  const rows = [];
  const shapes = [...new Set(native.rows.map((r) => `${r.keys}/${r.threads}`))].map((s) => s.split('/').map(Number));
  for (const [keys, threads] of shapes) {
    const id = anchorCellId(keys, threads);
    const g = (m) => native.rows.find((r) => r.map === m && r.keys === keys && r.threads === threads)?.opsPerSec;
    const me = get(id, 'shardedmap');
    const map = get(id, 'map');
    const ratio = (a, b) => (a && b ? fmtRatio(a / b) : '-');
    rows.push([id, fmtOps(g('ShardedMap')), fmtOps(g('sync.Map')), me ? fmtOps(me.opsPerSec) : 'not run', map ? fmtOps(map.opsPerSec) : '-',
      ratio(me?.opsPerSec, g('ShardedMap')), ratio(me?.opsPerSec, g('sync.Map')), ratio(map?.opsPerSec, g('sync.Map'))]);
  }
  return [
    `${native.go}, GOMAXPROCS = cores; threads = goroutines (Go) or workers (JS); float64 values, 90% loads, 10% stores.`,
    table(['cell', 'Go ShardedMap (256 × RWMutex)', 'Go sync.Map', 'shardedmap (JS)', 'Map (JS, private)', 'shardedmap ÷ Go ShardedMap', 'shardedmap ÷ sync.Map', 'Map ÷ sync.Map'], rows),
  ].join('\n\n');
}

/** shardedmap's ratio against each peer, per cell (markdown). */
export function ratioTable(results, cells, contestants) {
  const peers = contestants.filter((k) => k.id !== 'shardedmap');
  const rows = [];
  for (const c of cells) {
    const me = results.find((x) => x.cell === c.id && x.contestant === 'shardedmap');
    if (!me || me.error) continue;
    rows.push([c.id, fmtOps(me.opsPerSec), ...peers.map((k) => {
      const r = results.find((x) => x.cell === c.id && x.contestant === k.id);
      return r && r.opsPerSec > 0 ? fmtRatio(me.opsPerSec / r.opsPerSec) : '-';
    })]);
  }
  return table(['cell', 'shardedmap ops/s', ...peers.map((k) => `÷ ${k.id}`)], rows);
}

/** The targets of the project (issue 3), each with what was measured. */
export function targets(results, cells) {
  const get = (cell, who) => results.find((r) => r.cell === cell && r.contestant === who && !r.error);
  const ratio = (cell, a, b) => {
    const x = get(cell, a);
    const y = get(cell, b);
    return x && y ? x.opsPerSec / y.opsPerSec : NaN;
  };
  const cell2w = cells.find((c) => c.keys === 1000 && c.reads === 90 && c.workers === 2 && c.value === 'number')?.id ?? '1K-r90-w2-number';
  const numericCells = cells.filter((c) => c.value === 'number').map((c) => c.id);
  const gcs = numericCells.map((id) => get(id, 'shardedmap')).filter(Boolean);
  const big = get('1M-r100-w1-number', 'shardedmap');
  const keyBytes = avgKeyBytes(1_000_000);
  const list = [
    ['1K keys, 1 worker: load ≥ 0.7× private Map.get', ratio('1K-r100-w1-number', 'shardedmap', 'map'), 0.7, fmtRatio],
    ['1M keys, 1 worker: load ≥ 1.5× private Map.get', ratio('1M-r100-w1-number', 'shardedmap', 'map'), 1.5, fmtRatio],
    ['1K keys, 90% reads: 2 workers ≥ 1.8× 1 worker', ratio(cell2w, 'shardedmap', 'shardedmap') && get(cell2w, 'shardedmap') && get('1K-r90-w1-number', 'shardedmap') ? get(cell2w, 'shardedmap').opsPerSec / get('1K-r90-w1-number', 'shardedmap').opsPerSec : NaN, 1.8, fmtRatio],
    ['vs npm sharedmap (1K, 90% reads, 2 workers) ≥ 30×', ratio(cell2w, 'shardedmap', 'sharedmap'), 30, fmtRatio],
    ['vs npm lmdb (1K, 90% reads, 2 workers) ≥ 30×', ratio(cell2w, 'shardedmap', 'lmdb'), 30, fmtRatio],
    ['vs Map behind postMessage (1K, 90% reads, 2 workers) ≥ 1000×', ratio(cell2w, 'shardedmap', 'postmessage'), 1000, fmtRatio],
    ['p99 load latency, 2 workers, 10% writes ≤ 1 µs', get(cell2w, 'shardedmap')?.p99ns ?? NaN, -1000, fmtNs],
    ['GC events in workers, numeric values = 0', gcs.length ? Math.max(...gcs.map((r) => r.gcEventsPerWindow)) : NaN, -0, (x) => `${x.toFixed(1)} per window`],
    [`shared bytes/entry at 1M ≤ key + value + 24 (= ${(keyBytes + 8 + 24).toFixed(1)})`, big ? big.bytesPerEntry : NaN, -(keyBytes + 8 + 24), (x) => `${x.toFixed(1)} B`],
  ];
  const rows = list.map(([what, value, goal, fmt]) => {
    const met = !Number.isFinite(value) ? 'n/a' : goal >= 0 && !Object.is(goal, -0) ? value >= goal : value <= -goal;
    return [what, Number.isFinite(value) ? fmt(value) : 'not measured', met === 'n/a' ? 'n/a' : met ? 'met' : '**missed**'];
  });
  return table(['target', 'measured', ''], rows);
}

/** A targets table from rows [what, measured, goal, higher-is-better,
 *  format?]: "met" or "**missed**" beside each, "n/a" when not measured. */
function goalTable(rows) {
  return table(['target', 'measured', ''], rows.map(([what, x, goal, higher, fmt = (y) => `${y.toFixed(2)}×`]) => {
    const met = !Number.isFinite(x) ? 'n/a' : higher ? x >= goal : x <= goal;
    return [what, Number.isFinite(x) ? fmt(x) : 'not measured', met === 'n/a' ? 'n/a' : met ? 'met' : '**missed**'];
  }));
}

function avgKeyBytes(n) {
  let s = 0;
  for (let i = 0; i < n; i += 1) s += 4 + String(i).length;
  return s / n;
}

export function microTable(micro) {
  return table(['operation (1 thread, 1K keys)', 'ns/op'], Object.entries(micro.ns).map(([k, v]) => [k, v.toFixed(1)]));
}

/** The value-path goals (issue 11), read from the value and batch
 *  microbenchmarks and the plain-API cells. Ratios are "how many times
 *  better" where bigger is better, and "how many times the cost" where the
 *  goal is a bound on cost. */
export function valueTargets(v, results) {
  const ns = v.ns;
  const get = (cell, who) => results.find((r) => r.cell === cell && r.contestant === who && !r.error);
  const cellRatio = (cell, a, b) => {
    const x = get(cell, a);
    const y = get(cell, b);
    return x && y ? x.opsPerSec / y.opsPerSec : NaN;
  };
  const plain = get('1K-r90-w1-number', 'shardedmap-plain');
  const privateMap = get('1K-r90-w1-number', 'map');
  const [b1k, b1m] = v.batch;
  const rows = [
    // [what, measured, goal, higher-is-better, format]
    ['plain load of a number ≤ 1.15× the cost of loadNumber', ns['map.load, number'] / ns['map.loadNumber'], 1.15, false],
    ['plain store of a number ≤ 1.15× the cost of storeNumber', ns['map.store, number'] / ns['map.storeNumber'], 1.15, false],
    ['plain API, 1K keys, 90% reads, 1 worker ≥ 0.6× private Map', cellRatio('1K-r90-w1-number', 'shardedmap-plain', 'map'), 0.6, true],
    ['plain API: GC events per window ≤ the private Map run\'s', plain && privateMap ? plain.gcEventsPerWindow - privateMap.gcEventsPerWindow : NaN, 0, false, (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`],
    ['load of a 16-char string ≥ 0.5× Map.get', ns['Map.get, string16'] / ns['map.load, string16'], 0.5, true],
    ['load of a 64-char string ≥ 0.5× Map.get', ns['Map.get, string64'] / ns['map.load, string64'], 0.5, true],
    ['repeat load of an unchanged object ≤ 2× the cost of Map.get', ns['map.load, object'] / ns['Map.get, object'], 2, false],
    // Like with like (bench/values.mjs objectRows): each load behind its
    // write, and after a batch of writes; the worse of the two.
    ['load of a changed object ≤ 1.3× the cost of msgpackr unpack (plain, distinct buffers; the worse of: behind its write, after a batch of writes)', Math.max(
      ns['map.load of a changed value, object'] / ns['msgpackr unpack, object, distinct buffers, each behind a pack'],
      ns['map.load of a changed value, object, after a batch of stores'] / ns['msgpackr unpack, object, distinct buffers, after a batch of packs'],
    ), 1.3, false],
    ['store of an object ≤ 1.2× the cost of msgpackr pack (plain)', ns['map.store of a new value, object'] / ns['msgpackr pack alone, object'], 1.2, false],
    ['shared bytes per small-object entry at 100K ≤ its plain msgpack + key + 32', v.objectBytes.perEntry / (v.objectBytes.payload + v.objectBytes.key + 32), 1, false],
    ['objects, 1K keys, 90% reads, 1 worker ≥ 0.15× private Map', cellRatio('1K-r90-w1-object', 'shardedmap', 'map'), 0.15, true],
    ['objects, 1K keys, 90% reads, 1 worker ≥ 15× lmdb', cellRatio('1K-r90-w1-object', 'shardedmap', 'lmdb'), 15, true],
    // The quick profile's multi-worker object cell has Zipf keys, the full one's uniform keys.
    [`objects, 1K keys, 90% reads, ${OBJECT_WORKERS} workers ≥ 15× lmdb`, [`1K-r90-w${OBJECT_WORKERS}-object-zipf`, `1K-r90-w${OBJECT_WORKERS}-object`].map((c) => cellRatio(c, 'shardedmap', 'lmdb')).find((x) => Number.isFinite(x)) ?? NaN, 15, true],
    ['batch reads at 1K keys ≥ 1× Map.get per key', b1k.getPerKey / b1k.batchPerKey, 1, true],
    ['batch reads at 1M keys ≥ 1.5× Map.get per key', b1m.getPerKey / b1m.batchPerKey, 1.5, true],
  ];
  return goalTable(rows);
}

/** The value microbenchmark rows and the batch rows (markdown). */
export function valuesTable(v) {
  const rows = Object.entries(v.ns).map(([k, x]) => [k, x.toFixed(1)]);
  const o = v.objectBytes;
  if (o) {
    rows.push([`bytes per small-object entry at 100K (table + heap; plain msgpack ${o.payload.toFixed(1)}, records ${o.recordPayload.toFixed(1)}, key ${o.key.toFixed(1)})`, o.perEntry.toFixed(1)]);
  }
  for (const b of v.batch) {
    rows.push([`batch, ${fmtCount(b.keys)} keys: Map.get per key`, b.getPerKey.toFixed(1)]);
    rows.push([`batch, ${fmtCount(b.keys)} keys: loadNumbers per key (256-key batches)`, b.batchPerKey.toFixed(1)]);
    rows.push([`batch, ${fmtCount(b.keys)} keys: loadNumber per key`, b.singlePerKey.toFixed(1)]);
  }
  return table(['operation', 'ns/op'], rows);
}

/** The cache goals (issue 12): throughput of cache mode against the plain
 *  map and lru-cache in the same run, and the hit-ratio table's verdicts
 *  (`hit`: hitRatioTable's rows, with a 'shardedmap' column). */
export function cacheTargets(results, hit) {
  const get = (cell, who) => results.find((r) => r.cell === cell && r.contestant === who && !r.error);
  const ratio = (cell, a, b) => {
    const x = get(cell, a);
    const y = get(cell, b);
    return x && y ? x.opsPerSec / y.opsPerSec : NaN;
  };
  const rows = [
    ['cached get (1K keys, all reads, 1 worker) ≥ 0.9× the plain map', ratio('1K-r100-w1-number', 'shardedmap-cache', 'shardedmap'), 0.9, true],
    ['cache, 90% reads, 2 workers ≥ 0.9× the plain map', ratio('1K-r90-w2-number', 'shardedmap-cache', 'shardedmap'), 0.9, true],
  ];
  if (hit) {
    const lru = hit.policies.find((n) => n.startsWith('LRU'));
    const worstVsLru = Math.min(...hit.rows.map((r) => r.ratio.shardedmap - r.ratio[lru]));
    const worstVsS3 = Math.min(...hit.rows.map((r) => r.ratio.shardedmap - r.ratio['S3-FIFO']));
    const z = hit.rows.find((r) => r.trace === 'zipf 0.99' && r.fraction === 0.01);
    rows.push(
      ['hit ratio ≥ LRU on every trace (worst difference, points)', 100 * worstVsLru, 0, true, (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`],
      ['hit ratio within 2 points of one global S3-FIFO (worst difference)', 100 * worstVsS3, -2, true, (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`],
      ['Zipf 0.99 at 1%: ≥ LRU + 8 points', z ? 100 * (z.ratio.shardedmap - z.ratio[lru]) : NaN, 8, true, (x) => `+${x.toFixed(1)}`],
    );
  }
  return goalTable(rows);
}

/** The near-cache cell (bench/near.mjs): its table and the goals of
 *  issue 13, or why it was not measured. */
export function nearSection(near) {
  if (!near) return 'not measured (no shardedmap contestant in this run)';
  if (near.error) return `not measured: ${near.error}`;
  const { ns, ops, inval } = near;
  const us = (x) => (x >= 1000 ? `${(x / 1000).toFixed(1)} µs` : `${x.toFixed(0)} ns`);
  const rows = [
    ['near.get, L1 hit (awaited)', us(ns.l1), fmtOps(ops.l1[0]), fmtOps(ops.l1[1])],
    ['near.peek, L1 hit (synchronous)', us(ns.peek), '-', '-'],
    ['node-redis GET on loopback (awaited, one at a time)', us(ns.get), fmtOps(ops.get[0]), fmtOps(ops.get[1])],
    ["node-redis's client-side cache, hit (one per connection)", us(ns.csc), '-', '-'],
  ];
  const goals = [
    ['an L1 hit ≥ 50× faster than a loopback GET', ns.get / ns.l1, 50, true, (x) => `${x.toFixed(0)}×`],
    ['p99 invalidation delay ≤ 5 ms on loopback', inval.p99, 5, false, (x) => `${x.toFixed(2)} ms`],
    ['stale reads after an invalidation arrived = 0', inval.stale, 0, false, (x) => `${x} of ${inval.reads}`],
  ];
  return [
    table(['per get, 1K keys', 'latency', 'ops/s, 1 worker', 'ops/s, 2 workers'], rows),
    `Invalidation delay from a SET issued in one process to its key leaving the other process's L1, over ${inval.count} writes: p50 ${inval.p50.toFixed(2)} ms, p99 ${inval.p99.toFixed(2)} ms, max ${inval.max.toFixed(2)} ms; a reader there made ${inval.reads} reads meanwhile, ${inval.stale} stale.`,
    goalTable(goals),
  ].join('\n\n');
}

/** The near cache over a Redis Cluster (bench/near-cluster.mjs). */
export function nearClusterSection(c) {
  if (!c) return 'not measured (no shardedmap contestant in this run)';
  if (c.error) return `not measured: ${c.error}`;
  const us = (x) => (x >= 1000 ? `${(x / 1000).toFixed(1)} µs` : `${x.toFixed(0)} ns`);
  const rows = [
    ['near.get, L1 hit (awaited)', us(c.ns.l1)],
    ["GET through node-redis's cluster client on loopback (awaited, one at a time)", us(c.ns.get)],
  ];
  const goals = [
    ['an L1 hit ≥ 50× faster than a cluster GET', c.ns.get / c.ns.l1, 50, true, (x) => `${x.toFixed(0)}×`],
    ['p99 invalidation delay ≤ 5 ms on loopback', c.inval.p99, 5, false, (x) => `${x.toFixed(2)} ms`],
  ];
  return [
    table(['per get, 1K keys, 3 masters + 3 replicas', 'latency'], rows),
    `Invalidation delay from a SET issued in one process to its key leaving the other process's L1, over ${c.inval.count} writes spread over the 3 masters: p50 ${c.inval.p50.toFixed(2)} ms, p99 ${c.inval.p99.toFixed(2)} ms, max ${c.inval.max.toFixed(2)} ms.`,
    `From \`CLUSTER FAILOVER\` on a replica to the L1 serving again (tracker armed on the new master): ${c.failoverMs.toFixed(0)} ms. From SIGKILL of a master to the L1 serving again (its replica promoted by the cluster, cluster-node-timeout ${c.nodeTimeoutMs} ms, then armed): ${c.sigkillMs.toFixed(0)} ms.`,
    goalTable(goals),
  ].join('\n\n');
}
