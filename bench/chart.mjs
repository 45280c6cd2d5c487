// The SVG chart: ops/s by worker count, one line per contestant, one panel
// per read ratio, for the cells that vary the worker count. Made with
// vega-lite (compiled to vega, rendered to SVG headless).
import * as vl from 'vega-lite';
import * as vega from 'vega';

export async function chartSvg(results, cells, contestants) {
  const byId = new Map(cells.map((c) => [c.id, c]));
  const label = new Map(contestants.map((c) => [c.id, c.label]));
  const values = results
    .filter((r) => r.opsPerSec > 0)
    .map((r) => {
      const c = byId.get(r.cell);
      return {
        contestant: label.get(r.contestant) ?? r.contestant,
        workers: c.workers,
        reads: `${c.reads}% reads, ${c.keys >= 1e6 ? c.keys / 1e6 + 'M' : c.keys / 1e3 + 'K'} keys, ${c.value}${c.draw === 'zipf' ? ', zipf' : ''}`,
        opsPerSec: r.opsPerSec,
      };
    });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    facet: { field: 'reads', type: 'nominal', title: null },
    columns: 3,
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'workers', type: 'ordinal', title: 'workers' },
        y: { field: 'opsPerSec', type: 'quantitative', scale: { type: 'log' }, title: 'ops/s (all workers)' },
        color: { field: 'contestant', type: 'nominal', legend: { orient: 'bottom', columns: 2, labelLimit: 400 } },
      },
    },
    config: { font: 'sans-serif' },
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}
