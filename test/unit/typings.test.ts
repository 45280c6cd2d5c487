/**
 * The published typings, as installed: the package is packed (`npm pack`),
 * unpacked into the node_modules of a temporary project outside this
 * repository (test/helpers/packed.ts), and the files of test/types/ are
 * compiled there as a user's code, against the declarations the tarball
 * ships (its package.json "exports" → "types"):
 *   readme.ts    README.md's Quick start and docs/api.md's examples, with
 *                expectTypeOf assertions on the result types
 *   negative.ts  lines that must not compile
 *   node.ts      every entry, in a Node project (no DOM lib)
 *   page.ts      the browser recipes and SharedCache<V> (DOM lib, Vite's
 *                `?url` types)
 * under the four settings users have:
 *   tsconfig.node.json          Node: "lib": ["ES2022"] + @types/node, NodeNext
 *   tsconfig.node-bundler.json  the same, moduleResolution Bundler
 *   tsconfig.json               browser: DOM lib, moduleResolution Bundler
 *   tsconfig.nodenext.json      browser: DOM lib, NodeNext
 * all `--strict` with `skipLibCheck: false`. Runs the TypeScript compiler API
 * (node_modules/typescript) in process: the same as `npx tsc -p <config>` in
 * that project (this test reports the diagnostics of those files and of the
 * package's declarations, not those of third-party declarations). Control:
 * negative.ts with its `@ts-expect-error` comments removed must give exactly
 * one error per removed comment, of the code the comment names, so the type
 * test can fail.
 *
 * Needs dist/: `npm run build` (npm test does it first).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { install, pack, remove, root, tempDir } from '../helpers/packed.js';

let tmp: string;
let project: string;
const file = (name: string) => path.join(project, name);
const installed = () => path.join(project, 'node_modules', 'shardedmap') + path.sep;

const CONFIGS = {
  node: { config: 'tsconfig.node.json', files: ['readme.ts', 'negative.ts', 'node.ts'] },
  'node-bundler': { config: 'tsconfig.node-bundler.json', files: ['readme.ts', 'negative.ts', 'node.ts'] },
  browser: { config: 'tsconfig.json', files: ['readme.ts', 'negative.ts', 'page.ts'] },
  'browser-nodenext': { config: 'tsconfig.nodenext.json', files: ['readme.ts', 'negative.ts', 'page.ts'] },
} as const;
type ConfigName = keyof typeof CONFIGS;

beforeAll(() => {
  tmp = tempDir('types');
  const tarball = pack(tmp);
  project = path.join(tmp, 'consumer');
  cpSync(path.join(root, 'test', 'types'), project, { recursive: true });
  writeFileSync(file('package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // What the type test files import besides the package: @types/node,
  // piscina and prom-client (README examples), vitest (expectTypeOf), the
  // optional peers @redis/client and keyv, vite (vite/client: `?url`).
  install(tarball, project, ['@types/node', 'piscina', 'prom-client', 'vitest', '@redis/client', 'keyv', 'vite']);
});
afterAll(() => remove(tmp));

function parseConfig(file: string): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(file, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`cannot read ${file}`);
  if (parsed.errors.length) throw new Error(format(parsed.errors));
  return parsed;
}

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => project,
  getNewLine: () => '\n',
};
const format = (diagnostics: readonly ts.Diagnostic[]) => ts.formatDiagnostics(diagnostics, formatHost);

/** Parsed files, per config (so the control does not parse the libraries
 *  again). */
const parsedFiles = new Map<ts.ParsedCommandLine, Map<string, ts.SourceFile>>();

/** A program over `rootNames`; `texts` replaces files' contents in memory. */
function createProgram(
  parsed: ts.ParsedCommandLine, rootNames: readonly string[], texts: Map<string, string> = new Map(),
): ts.Program {
  const host = ts.createCompilerHost(parsed.options, true);
  let cache = parsedFiles.get(parsed);
  if (!cache) parsedFiles.set(parsed, (cache = new Map()));
  const files = cache;
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const text = texts.get(path.resolve(fileName));
    if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersion, true);
    const o = typeof languageVersion === 'object' ? languageVersion : { languageVersion };
    const key = `${fileName}\0${o.languageVersion}\0${o.impliedNodeFormat}`;
    let f = files.get(key);
    if (!f) {
      f = getSourceFile(fileName, languageVersion, onError, shouldCreate);
      if (f) files.set(key, f);
    }
    return f;
  };
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => texts.get(path.resolve(fileName)) ?? readFile(fileName);
  return ts.createProgram({ rootNames, options: parsed.options, host });
}

/** What `tsc -p` reports for one file (syntax and types). */
function diagnosticsOf(program: ts.Program, file: string): ts.Diagnostic[] {
  const f = program.getSourceFile(file);
  if (!f) throw new Error(`${file} is not in the program`);
  return [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)];
}

const configs = new Map<ConfigName, ts.ParsedCommandLine>();
const programs = new Map<ConfigName, ts.Program>();
function program(name: ConfigName): ts.Program {
  let p = programs.get(name);
  if (!p) {
    const parsed = parseConfig(file(CONFIGS[name].config));
    configs.set(name, parsed);
    p = createProgram(parsed, parsed.fileNames);
    programs.set(name, p);
  }
  return p;
}

describe('typings: the packed package in a TypeScript project', () => {
  describe.each(Object.keys(CONFIGS) as ConfigName[])('%s', (name) => {
    it("resolves the package's entries to the installed tarball's declarations", () => {
      const p = program(name);
      const options = configs.get(name)!.options;
      const from = file('readme.ts');
      const expected = {
        shardedmap: 'dist/types/src/index.d.ts',
        'shardedmap/prometheus': 'dist/types/src/prometheus.d.ts',
        'shardedmap/redis': 'dist/types/src/redis.d.ts',
        'shardedmap/shared-worker': 'dist/types/src/shared-worker.d.ts',
      };
      for (const [specifier, declarations] of Object.entries(expected)) {
        const resolved = ts.resolveModuleName(specifier, from, options, ts.sys).resolvedModule;
        expect(resolved?.resolvedFileName && path.resolve(resolved.resolvedFileName), specifier).toBe(path.join(installed(), declarations));
      }
      expect(ts.resolveModuleName('shardedmap/internals', from, options, ts.sys).resolvedModule).toBeUndefined();
      const roots = p.getRootFileNames().map((f) => path.resolve(f)).sort();
      expect(roots).toEqual(CONFIGS[name].files.map(file).sort());
      const fromRepo = p.getSourceFiles().map((f) => path.resolve(f.fileName))
        .filter((f) => f.startsWith(path.join(root, 'src') + path.sep) || f.startsWith(path.join(root, 'dist') + path.sep));
      expect(fromRepo).toEqual([]);
    });

    it('the declarations the package ships compile with no diagnostics', () => {
      const p = program(name);
      const files = p.getSourceFiles().map((f) => path.resolve(f.fileName)).filter((f) => f.startsWith(installed()));
      expect(files.length).toBeGreaterThan(10);
      expect(format([...p.getOptionsDiagnostics(), ...files.flatMap((f) => diagnosticsOf(p, f))]))
        .toBe('');
    });

    it(`${CONFIGS[name].files.join(', ')} compile with no diagnostics`, () => {
      const p = program(name);
      expect(format(CONFIGS[name].files.map(file).flatMap((f) => diagnosticsOf(p, f)))).toBe('');
    });
  });

  it('control: negative.ts without its @ts-expect-error comments gives one error per removed comment, of the code it names', () => {
    const negative = file('negative.ts');
    const source = readFileSync(negative, 'utf8');
    const lines = source.split('\n');
    const directive = /^\s*\/\/\s*@ts-expect-error\b/;
    const named = /^\s*\/\/\s*@ts-expect-error -- TS(\d+):/;
    const expected: string[] = [];
    const stripped = lines.map((line, i) => {
      if (!directive.test(line)) return line;
      const code = named.exec(line);
      if (!code) throw new Error(`negative.ts:${i + 1}: write the directive as \`// @ts-expect-error -- TSnnnn: why\``);
      expected.push(`negative.ts:${i + 2} TS${code[1]}`); // the line after the comment
      return ''; // keep the line numbers
    });
    expect(expected.length).toBeGreaterThanOrEqual(10);
    program('browser');
    const p = createProgram(configs.get('browser')!, [negative], new Map([[negative, stripped.join('\n')]]));
    const actual = diagnosticsOf(p, negative).map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
      return `negative.ts:${where} TS${d.code}`;
    });
    expect(actual.sort()).toEqual(expected.sort());
  });
});
