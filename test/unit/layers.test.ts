// The layers of the source trees, kept: every file has a rank, and a file
// imports only files of lower ranks, or of its own rank without a cycle.
// The rank table of the core (assembly/) is CORE_LAYERS below, the one
// place it is written; overview.ts's "How this core is organized" list
// must name the same files at the same ranks. The checker takes a rank
// table and an edge list, so another tree (src/) can be held to its own
// table the same way: add a table and one `it`.
import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** An import of one file by another, both named by their path inside
 *  their tree ('writer.ts', or 'map/index.ts' in a tree with folders). */
export interface Edge {
  readonly from: string;
  readonly to: string;
}

/** An upward (or same-rank cyclic) import allowed by name, with why. */
export interface Exception extends Edge {
  readonly why: string;
}

/** Layers listed from the bottom: the files of `layers[r]` have rank r. */
type Layers = readonly (readonly string[])[];

/** The rank of every file of a layer list. */
export function ranksOf(layers: Layers): Map<string, number> {
  const ranks = new Map<string, number>();
  layers.forEach((files, rank) => {
    for (const f of files) {
      if (ranks.has(f)) throw new Error(`${f} is listed twice`);
      ranks.set(f, rank);
    }
  });
  return ranks;
}

/** Everything wrong with `edges` under rank table `ranks` (empty if
 *  nothing): a file of the tree (`files`, or any end of an edge) missing
 *  from the table, a table entry naming no file, an import of a higher
 *  rank, a cycle among files of one rank, and an exception that allows no
 *  actual edge (stale). An edge listed in `exceptions` is not checked. */
export function layerViolations(
  ranks: ReadonlyMap<string, number>,
  edges: readonly Edge[],
  files: readonly string[] = [],
  exceptions: readonly Exception[] = [],
): string[] {
  const problems: string[] = [];
  const known = new Set([...files, ...edges.flatMap((e) => [e.from, e.to])]);
  for (const f of [...known].sort()) if (!ranks.has(f)) problems.push(`${f}: not in the rank table`);
  if (files.length > 0) {
    for (const f of ranks.keys()) if (!known.has(f)) problems.push(`${f}: in the rank table, but no such file`);
  }
  const excused = (e: Edge) => exceptions.some((x) => x.from === e.from && x.to === e.to);
  for (const x of exceptions) {
    if (!edges.some((e) => e.from === x.from && e.to === x.to)) problems.push(`exception ${x.from} -> ${x.to}: no such import (stale)`);
  }
  const same = new Map<string, string[]>(); // same-rank edges, for the cycle search
  for (const e of edges) {
    const rf = ranks.get(e.from);
    const rt = ranks.get(e.to);
    if (rf === undefined || rt === undefined || excused(e)) continue;
    if (rt > rf) problems.push(`${e.from} (rank ${rf}) imports ${e.to} (rank ${rt}): upward`);
    if (rt === rf) same.set(e.from, [...(same.get(e.from) ?? []), e.to]);
  }
  for (const cycle of cyclesOf(same)) problems.push(`rank ${ranks.get(cycle[0]!)}: cycle ${[...cycle, cycle[0]].join(' -> ')}`);
  return problems;
}

/** The cycles of a graph: each strongly connected component of more than
 *  one node, or a node importing itself (Tarjan's algorithm), as a list of
 *  its nodes. */
function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.reverse());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** The relative module specifiers a source file imports or re-exports
 *  (`import ... from "./x"`, `export * from "./x"`, `import "./x"`),
 *  comments left out. */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const specs: string[] = [];
  const re = /\b(?:import|export)\s+(?:[\w*\s{},]*?\s*from\s*)?["'](\.{1,2}\/[^"']+)["']/g;
  for (let m = re.exec(code); m !== null; m = re.exec(code)) specs.push(m[1]!);
  return specs;
}

/** Every .ts file under `dir`, as a path inside it ('/'-separated). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path).map((f) => posix.join(name, f));
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [name] : [];
  });
}

/** The files of the tree at `dir` and their import edges inside it
 *  ('./x', './x.js' and './x.ts' all name x.ts, './d' names d/index.ts
 *  when there is no d.ts; imports that leave the tree, and package
 *  imports, are not edges). */
export function treeOf(dir: string): { files: string[]; edges: Edge[] } {
  const files = filesUnder(dir).sort();
  const edges: Edge[] = [];
  for (const from of files) {
    for (const spec of importsOf(readFileSync(join(dir, from), 'utf8'))) {
      const path = posix.normalize(posix.join(posix.dirname(from), spec));
      if (path.startsWith('../')) continue;
      const to = path.replace(/\.js$/, '.ts').replace(/(?<!\.ts)$/, '.ts');
      const folder = posix.join(path, 'index.ts');
      edges.push({ from, to: !files.includes(to) && files.includes(folder) ? folder : to });
    }
  }
  return { files, edges };
}

// ---- the core (assembly/) ------------------------------------------------------

/** The core's ranks, from the bottom (overview.ts lists the same, with
 *  what each file is). */
const CORE_LAYERS: Layers = [
  /* 0 codes      */ ['shared.ts', 'build.ts', 'overview.ts'],
  /* 1 words      */ ['layout.ts', 'words.ts', 'ctrl.ts', 'hash.ts', 'sync.ts'],
  /* 2 table      */ ['table.ts'],
  /* 3 services   */ ['alloc.ts', 'counters.ts', 'owners.ts', 'flights.ts', 'ring.ts'],
  /* 4 policy     */ ['policy.ts'],
  /* 5 rules      */ ['check.ts'],
  /* 6 one key    */ ['reader.ts', 'resize.ts', 'writer.ts'],
  /* 7 eviction   */ ['eviction.ts'],
  /* 8 operations */ ['doors.ts', 'ops.ts', 'init.ts', 'stats.ts', 'recover.ts'],
  /* 9 exports    */ ['admin.ts', 'index.ts', 'test.ts'],
];

/** Imports of the core allowed against its ranks: none. */
const CORE_EXCEPTIONS: readonly Exception[] = [];

const ASSEMBLY = join(ROOT, 'assembly');

/** The rank table written in overview.ts: the lines under "How this core
 *  is organized" whose file column names a file, each rank starting at
 *  a line with its number. */
function overviewLayers(): string[][] {
  const text = readFileSync(join(ASSEMBLY, 'overview.ts'), 'utf8');
  const section = text.slice(text.indexOf('How this core is organized'));
  const lines = section.split('\n');
  const first = lines.findIndex((l) => /^ \*\s+0\s+\S+\s+\S+\.ts\b/.test(l));
  if (first < 0) return [];
  const column = lines[first]!.search(/\S+\.ts\b/);
  const layers: string[][] = [];
  for (const line of lines.slice(first)) {
    if (line.startsWith(' */')) break;
    const file = /^[\w.]+\.ts\b/.exec(line.slice(column))?.[0];
    if (file === undefined || line.slice(0, column).replace(/^ \*/, '').trim().replace(/^\d+\s+[\w ]+$/, '') !== '') continue;
    if (/^ \*\s+\d+\s/.test(line)) layers.push([]);
    layers[layers.length - 1]?.push(file);
  }
  return layers;
}

// ---- the facade (src/) ----------------------------------------------------------

/** The facade's ranks, from the bottom: a folder per layer (each folder's
 *  README.md states its rule), the package entries on top. */
const SRC_LAYERS: Layers = [
  /* 0 base         */ ['base/errors.ts', 'base/platform.ts', 'base/options.ts', 'base/wait.ts'],
  /* 1 codec        */ ['codec/words.ts', 'codec/msgpack.ts', 'codec/shapes.ts', 'codec/records.ts', 'codec/codec.ts', 'codec/decoded.ts'],
  /* 2 core         */ [
    'core/core.ts', 'core/memo.ts', 'core/session.ts', 'core/debug.ts', 'core/recovery.ts', 'core/check.ts', 'core/stats.ts',
    'core/batch.ts', 'core/iterate.ts', 'core/snapshot.ts',
  ],
  /* 3 cache mode   */ ['cache/entry.ts', 'cache/fetch.ts'],
  /* 4 public class */ ['map/handle.ts', 'map/iterator.ts', 'map/watch.ts', 'map/args.ts', 'map/door.ts', 'map/map.ts'],
  /* 5 its users    */ [
    'browser/protocol.ts', 'browser/client.ts', 'browser/worker.ts', 'integrations/prometheus.ts',
    'integrations/redis-shared.ts', 'integrations/redis-types.ts', 'integrations/redis-trackers.ts',
    'integrations/redis-cluster.ts', 'integrations/redis.ts', 'integrations/keyv.ts',
  ],
  /* 6 entries      */ ['index.ts', 'internals.ts', 'redis.ts', 'prometheus.ts', 'keyv.ts', 'shared-worker.ts'],
];

/** What the browser client and the integrations may use besides their own
 *  folder: the public class and its types, errors and options, and the
 *  map's MessagePack (never core/, cache/ or the codec's internals). */
const PUBLIC_SURFACE = ['map/map.ts', 'base/errors.ts', 'base/options.ts', 'codec/msgpack.ts'];
const API_USERS = ['browser/', 'integrations/'];
const ENTRIES = SRC_LAYERS[SRC_LAYERS.length - 1]!;

const SRC = join(ROOT, 'src');

/** Edges from a public-API user to anything but its own folder and the
 *  public surface. */
function surfaceViolations(edges: readonly Edge[]): string[] {
  return edges
    .filter((e) => API_USERS.some((d) => e.from.startsWith(d)))
    .filter((e) => posix.dirname(e.to) !== posix.dirname(e.from) && !PUBLIC_SURFACE.includes(e.to))
    .map((e) => `${e.from} imports ${e.to}: not the public API`);
}

/** Files other than the package entries that re-export at run time
 *  (`export * from`, `export { x } from`; type-only re-exports are fine). */
function reexporters(dir: string, files: readonly string[]): string[] {
  return files.filter((f) => !ENTRIES.includes(f)).filter((f) => {
    const code = readFileSync(join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    return /^export\s+(\*|\{[^}]*\})\s*from/m.test(code);
  });
}

describe('layers', () => {
  it('assembly/: every file has a rank, and imports only lower ranks (or its own, without a cycle)', () => {
    const { files, edges } = treeOf(ASSEMBLY);
    expect(edges.length).toBeGreaterThan(50); // the parser found the imports
    expect(layerViolations(ranksOf(CORE_LAYERS), edges, files, CORE_EXCEPTIONS)).toEqual([]);
  });

  it("assembly/: overview.ts's file list is this rank table, in import order", () => {
    expect(overviewLayers()).toEqual(CORE_LAYERS.map((l) => [...l]));
    // Within a rank, a file is listed after the files it imports.
    const order = new Map(CORE_LAYERS.flat().map((f, i) => [f, i]));
    const later = treeOf(ASSEMBLY).edges.filter((e) => order.get(e.to)! > order.get(e.from)!);
    expect(later).toEqual([]);
  });

  it('src/: every file has a rank, and imports only lower ranks (or its own, without a cycle)', () => {
    const { files, edges } = treeOf(SRC);
    expect(edges.length).toBeGreaterThan(50);
    expect(layerViolations(ranksOf(SRC_LAYERS), edges, files)).toEqual([]);
  });

  it('src/: the browser client and the integrations use only the public API and the map\'s MessagePack, never core/', () => {
    expect(surfaceViolations(treeOf(SRC).edges)).toEqual([]);
    // Control: an integration reaching into core/ is reported.
    expect(surfaceViolations([{ from: 'integrations/redis.ts', to: 'core/session.ts' }])).toEqual([
      'integrations/redis.ts imports core/session.ts: not the public API',
    ]);
  });

  it('src/: only the package entries re-export', () => {
    const { files } = treeOf(SRC);
    expect(reexporters(SRC, files)).toEqual([]);
    // Control: a barrel file is found.
    const dir = mkdtempSync(join(tmpdir(), 'layers-'));
    try {
      mkdirSync(join(dir, 'core'));
      writeFileSync(join(dir, 'core', 'index.ts'), "export { Session } from './session.js';\nexport type { X } from './x.js';\n");
      writeFileSync(join(dir, 'core', 'types.ts'), "export type { X } from './x.js';\n");
      expect(reexporters(dir, ['core/index.ts', 'core/types.ts'])).toEqual(['core/index.ts']);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  describe('the checker can fail', () => {
    const ranks = ranksOf([['a.ts'], ['b.ts', 'c.ts', 'd.ts'], ['e.ts']]);

    it('passes downward and acyclic same-rank imports', () => {
      const edges = [
        { from: 'e.ts', to: 'b.ts' },
        { from: 'b.ts', to: 'a.ts' },
        { from: 'c.ts', to: 'b.ts' },
        { from: 'd.ts', to: 'c.ts' },
      ];
      expect(layerViolations(ranks, edges)).toEqual([]);
    });

    it('reports an upward import', () => {
      expect(layerViolations(ranks, [{ from: 'a.ts', to: 'e.ts' }])).toEqual(['a.ts (rank 0) imports e.ts (rank 2): upward']);
    });

    it('reports a cycle among files of one rank, and a file importing itself', () => {
      const edges = [
        { from: 'b.ts', to: 'c.ts' },
        { from: 'c.ts', to: 'd.ts' },
        { from: 'd.ts', to: 'b.ts' },
        { from: 'e.ts', to: 'e.ts' },
      ];
      expect(layerViolations(ranks, edges)).toEqual(['rank 1: cycle b.ts -> c.ts -> d.ts -> b.ts', 'rank 2: cycle e.ts -> e.ts']);
    });

    it('reports a file missing from the table, and an entry with no file', () => {
      expect(layerViolations(ranks, [{ from: 'x.ts', to: 'a.ts' }], ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts', 'x.ts'])).toEqual([
        'x.ts: not in the rank table',
      ]);
      expect(layerViolations(ranks, [], ['a.ts', 'b.ts', 'c.ts', 'd.ts'])).toEqual(['e.ts: in the rank table, but no such file']);
    });

    it('lets an exception through by name, and reports one that allows nothing', () => {
      const up = { from: 'a.ts', to: 'e.ts', why: 'a DEBUG-only check call' };
      expect(layerViolations(ranks, [{ from: 'a.ts', to: 'e.ts' }], [], [up])).toEqual([]);
      expect(layerViolations(ranks, [], [], [up])).toEqual(['exception a.ts -> e.ts: no such import (stale)']);
    });

    it('parses the imports and re-exports of a file, not those in comments', () => {
      const source = [
        'import { a, b as c } from "./one";',
        'import {',
        '  d,',
        '} from "./two.js";',
        "export * from './three';",
        'import "./four";',
        'import { e } from "pkg";',
        '// import { f } from "./five";',
        '/* export * from "./six"; */',
      ].join('\n');
      expect(importsOf(source)).toEqual(['./one', './two.js', './three', './four']);
    });

    it('resolves a folder to its index.ts and drops imports that leave the tree (a tree like src/)', () => {
      const dir = mkdtempSync(join(tmpdir(), 'layers-'));
      try {
        mkdirSync(join(dir, 'core'));
        writeFileSync(join(dir, 'core', 'index.ts'), 'export * from "./words.js";\n');
        writeFileSync(join(dir, 'core', 'words.ts'), 'import { X } from "../../assembly/shared.js";\n');
        writeFileSync(join(dir, 'map.ts'), 'import { a } from "./core";\nimport { b } from "./core/words.js";\n');
        const { files, edges } = treeOf(dir);
        expect(files).toEqual(['core/index.ts', 'core/words.ts', 'map.ts']);
        expect(edges).toEqual([
          { from: 'core/index.ts', to: 'core/words.ts' },
          { from: 'map.ts', to: 'core/index.ts' },
          { from: 'map.ts', to: 'core/words.ts' },
        ]);
        expect(layerViolations(ranksOf([['core/words.ts', 'core/index.ts'], ['map.ts']]), edges, files)).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true });
      }
    });

    it('finds the edges of a real tree (this one), with the names of its files', () => {
      const { edges } = treeOf(ASSEMBLY);
      expect(edges).toContainEqual({ from: 'writer.ts', to: 'table.ts' });
      expect(edges).toContainEqual({ from: 'index.ts', to: 'admin.ts' }); // export * from
      expect(relative(ROOT, ASSEMBLY).split(sep)).toEqual(['assembly']);
    });
  });
});
