// The SVG charts, made with vega-lite (compiled to vega, rendered to SVG
// headless):
// - chartSvg: ops/s by worker count, one line per contestant, one panel per
//   cell family (the cell without its worker count); shardedmap drawn
//   thick and dark, its peers thin and paler.
// - ratioChartSvg: shardedmap ÷ each peer per cell, one bar each, on a log
//   axis with the 1× line marked: a bar right of it is a cell shardedmap
//   wins, left of it one it loses.
import * as vl from 'vega-lite';
import * as vega from 'vega';

const ME = 'shardedmap';

/** The panel a cell goes in: its id without the worker count. */
function family(id) {
  return id.replace(/-w\d+/, '');
}

async function render(spec) {
  // vega-lite's warnings (about scales it resolved as asked) are not the
  // reader's business: a silent logger.
  const view = new vega.View(vega.parse(vl.compile(spec, { logger: vega.logger(vega.None) }).spec), { renderer: 'none' });
  return view.toSVG();
}

export async function chartSvg(results, cells, contestants) {
  const byId = new Map(cells.map((c) => [c.id, c]));
  const label = new Map(contestants.map((c) => [c.id, c.label]));
  const values = results
    .filter((r) => r.opsPerSec > 0 && byId.has(r.cell))
    .map((r) => {
      const c = byId.get(r.cell);
      return {
        contestant: label.get(r.contestant) ?? r.contestant,
        who: r.contestant === ME ? ME : 'peer',
        workers: c.workers,
        cell: family(c.id),
        opsPerSec: r.opsPerSec,
      };
    });
  const meLabel = label.get(ME);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    facet: { field: 'cell', type: 'nominal', title: null },
    columns: 3,
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'workers', type: 'ordinal', title: 'workers' },
        y: { field: 'opsPerSec', type: 'quantitative', scale: { type: 'log' }, title: 'ops/s (all workers)' },
        color: {
          field: 'contestant',
          type: 'nominal',
          // shardedmap first, in black; the peers in the palette's colours.
          scale: meLabel ? { domain: [meLabel, ...contestants.filter((c) => c.id !== ME).map((c) => c.label)], range: ['#000000', '#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac', '#439894', '#d6616b'] } : {},
          legend: { orient: 'bottom', columns: 2, labelLimit: 400 },
        },
        strokeWidth: { field: 'who', type: 'nominal', sort: 'descending', scale: { domain: [ME, 'peer'], range: [3.5, 1.2] }, legend: null },
        opacity: { field: 'who', type: 'nominal', sort: 'descending', scale: { domain: [ME, 'peer'], range: [1, 0.55] }, legend: null },
      },
    },
    config: { font: 'sans-serif' },
  };
  return render(spec);
}

/** shardedmap ÷ each peer per cell (bars on a log axis, 1× marked). Null
 *  when shardedmap has no result to divide. */
export async function ratioChartSvg(results, cells, contestants) {
  const values = [];
  for (const c of cells) {
    const me = results.find((r) => r.cell === c.id && r.contestant === ME && r.opsPerSec > 0);
    if (!me) continue;
    for (const k of contestants) {
      if (k.id === ME) continue;
      const r = results.find((x) => x.cell === c.id && x.contestant === k.id && x.opsPerSec > 0);
      if (!r) continue;
      const ratio = me.opsPerSec / r.opsPerSec;
      values.push({ cell: c.id, peer: k.id, ratio, wins: ratio >= 1 ? 'shardedmap faster' : 'shardedmap slower', text: ratio >= 100 ? `${ratio.toFixed(0)}×` : `${ratio.toFixed(2)}×` });
    }
  }
  if (!values.length) return null;
  const x = { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, title: 'shardedmap ops/s ÷ peer ops/s (log; 1× = as fast)' };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'shardedmap ÷ each peer, per cell',
    data: { values },
    facet: { row: { field: 'cell', type: 'nominal', sort: cells.map((c) => c.id), title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } } },
    spec: {
      width: 420,
      layer: [
        {
          mark: { type: 'bar', height: { band: 0.8 } },
          encoding: {
            y: { field: 'peer', type: 'nominal', title: null },
            x,
            x2: { datum: 1 }, // bars grow from 1×: right is a win, left a loss
            color: { field: 'wins', type: 'nominal', scale: { domain: ['shardedmap faster', 'shardedmap slower'], range: ['#000000', '#bab0ac'] }, legend: { orient: 'bottom', title: null } },
          },
        },
        // The figure beside each bar's end: right of a win, left of a loss.
        {
          transform: [{ filter: 'datum.ratio >= 1' }],
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
          encoding: { y: { field: 'peer', type: 'nominal' }, x, text: { field: 'text' } },
        },
        {
          transform: [{ filter: 'datum.ratio < 1' }],
          mark: { type: 'text', align: 'right', dx: -3, fontSize: 10 },
          encoding: { y: { field: 'peer', type: 'nominal' }, x, text: { field: 'text' } },
        },
        {
          mark: { type: 'rule', color: '#d62728', strokeWidth: 2, strokeDash: [4, 2] },
          encoding: { x: { datum: 1 } },
        },
        {
          mark: { type: 'text', text: '1×', color: '#d62728', align: 'center', baseline: 'bottom', dy: -1, y: 0, fontWeight: 'bold' },
          encoding: { x: { datum: 1 } },
        },
      ],
    },
    // Each cell lists only the peers that ran it; one x axis for all.
    resolve: { scale: { x: 'shared', y: 'independent' } },
    config: { font: 'sans-serif' },
  };
  return render(spec);
}
