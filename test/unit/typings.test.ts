/**
 * The published typings: README.md's Quick start and API examples, written
 * as a TypeScript user writes them (test/types/readme.ts, with expectTypeOf
 * assertions on the result types), must compile against the declarations
 * the package ships (dist/types, reached as 'shardedmap' and
 * 'shardedmap/prometheus' through package.json "exports" → "types", by
 * package self-reference), and the lines of test/types/negative.ts must not.
 *
 * Runs the TypeScript compiler API (node_modules/typescript) in process, on
 * the two settings users have:
 *   test/types/tsconfig.json           bundlers (moduleResolution Bundler)
 *   test/types/tsconfig.nodenext.json  plain Node ESM (module NodeNext)
 * Same as `npx tsc -p test/types/tsconfig.json` (this test reports the
 * diagnostics of test/types/ and dist/types/, not those of third-party
 * declarations under node_modules). Control: negative.ts with its
 * `@ts-expect-error` comments removed must give exactly one error per
 * removed comment, of the code the comment names, so the type test can fail.
 *
 * Needs dist/types: `npm run build` (npm test does it first).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const typesDir = path.join(root, 'test', 'types');
const readme = path.join(typesDir, 'readme.ts');
const negative = path.join(typesDir, 'negative.ts');
const published = {
  shardedmap: path.join(root, 'dist', 'types', 'src', 'index.d.ts'),
  'shardedmap/prometheus': path.join(root, 'dist', 'types', 'src', 'prometheus.d.ts'),
};

const CONFIGS = {
  bundler: path.join(typesDir, 'tsconfig.json'),
  nodenext: path.join(typesDir, 'tsconfig.nodenext.json'),
} as const;
type ConfigName = keyof typeof CONFIGS;

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
  getCurrentDirectory: () => root,
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
    const parsed = parseConfig(CONFIGS[name]);
    configs.set(name, parsed);
    p = createProgram(parsed, parsed.fileNames);
    programs.set(name, p);
  }
  return p;
}

beforeAll(() => {
  for (const file of Object.values(published)) {
    if (!existsSync(file)) throw new Error(`${path.relative(root, file)} is missing: run \`npm run build\` first`);
  }
});

describe('typings: README.md examples for a TypeScript user', () => {
  describe.each(Object.keys(CONFIGS) as ConfigName[])('%s', (name) => {
    it("resolves 'shardedmap' and 'shardedmap/prometheus' to dist/types through package.json exports, not to src/", () => {
      const p = program(name);
      const options = configs.get(name)!.options;
      for (const [specifier, expected] of Object.entries(published)) {
        const resolved = ts.resolveModuleName(specifier, readme, options, ts.sys).resolvedModule;
        expect(resolved?.resolvedFileName && path.resolve(resolved.resolvedFileName), specifier).toBe(expected);
      }
      const roots = p.getRootFileNames().map((f) => path.resolve(f)).sort();
      expect(roots).toEqual([negative, readme].sort());
      const fromSrc = p.getSourceFiles().map((f) => path.resolve(f.fileName)).filter((f) => f.startsWith(path.join(root, 'src') + path.sep));
      expect(fromSrc).toEqual([]);
    });

    it('the published declarations (dist/types) compile with no diagnostics', () => {
      const p = program(name);
      const dist = path.join(root, 'dist', 'types') + path.sep;
      const files = p.getSourceFiles().map((f) => path.resolve(f.fileName)).filter((f) => f.startsWith(dist));
      expect(format([...p.getOptionsDiagnostics(), ...p.getGlobalDiagnostics(), ...files.flatMap((f) => diagnosticsOf(p, f))]))
        .toBe('');
    });

    it('readme.ts and negative.ts compile with no diagnostics', () => {
      const p = program(name);
      expect(format([readme, negative].flatMap((f) => diagnosticsOf(p, f)))).toBe('');
    });
  });

  it('control: negative.ts without its @ts-expect-error comments gives one error per removed comment, of the code it names', () => {
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
    program('bundler');
    const p = createProgram(configs.get('bundler')!, [negative], new Map([[negative, stripped.join('\n')]]));
    const actual = diagnosticsOf(p, negative).map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
      return `negative.ts:${where} TS${d.code}`;
    });
    expect(actual.sort()).toEqual(expected.sort());
  });
});
