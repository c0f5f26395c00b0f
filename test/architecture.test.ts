import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering rules of docs/Architecture.md, read from the imports under src/: the core runs
 * headless (`rmm serve` calls it without a command or a terminal), so it never reaches up into the
 * commands, their shared code, the views or oclif. Rules follow runtime imports transitively (a
 * type-only import is erased and loads nothing, so only a rule that says so counts it); each broken
 * rule is shown with its import chain.
 */
const ROOT = path.resolve(import.meta.dirname, '..');

/** What the CLI side holds: a core module that loads any of it is not headless. */
const CLI_SIDE = ['src/commands', 'src/cli', 'src/views', 'src/base-command', '@oclif/core'];

const RULES: { layers: string[]; forbidden: string[]; why: string; types?: 'counted' }[] = [
  {
    layers: ['src/actions'],
    forbidden: CLI_SIDE,
    why: 'the runners emit events; commands and the service render them',
  },
  {
    layers: ['src/service', 'src/monitoring', 'src/notify'],
    forbidden: CLI_SIDE,
    why: 'rmm serve is the first caller of the core that is not a command: the service logs through what it is given',
  },
  {
    layers: ['src/relay'],
    forbidden: CLI_SIDE,
    why: 'the relay agent runs headless as a service: rmm relay hands it a logger',
  },
  {
    layers: ['src/replay'],
    forbidden: CLI_SIDE,
    why: 'the plan replay returns counts; the plan view renders them',
  },
  {
    layers: ['src/reconcile'],
    forbidden: CLI_SIDE,
    why: 'plan and apply return data and throw RmmErrors; commands render',
  },
  {
    layers: ['src/maintenance'],
    forbidden: [...CLI_SIDE, 'src/state'],
    types: 'counted',
    why: 'maintenance windows are pure functions of the declared state and a time; the service and plan read the rows',
  },
  {
    layers: ['src/engine', 'src/check'],
    forbidden: ['src/state'],
    // Even a type from storage ties the pure core to its modules.
    types: 'counted',
    why: 'the engine is pure and the checks run on workers; the formats they share with storage live in src/formats',
  },
];

/** Where the core would talk to a terminal itself: these modules return what they have to say. */
const SILENT = [
  'src/reconcile',
  'src/actions',
  'src/engine',
  'src/check',
  'src/state',
  'src/service',
  'src/monitoring',
  'src/notify',
  'src/maintenance',
  'src/replay',
  'src/relay',
];

/** Where a module has grown past one job (issue 12 split the ones above it). */
const MAX_LINES = 400;

/** Module ids without extension: `src/actions/store`; packages by name: `@oclif/core`. */
type Graph = Map<string, { imports: string[]; typeImports: string[]; text: string }>;

/** The .ts files under `dir` (relative to the repository), with their text. */
function sourceFiles(dir: string): { file: string; text: string }[] {
  const files: { file: string; text: string }[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts'))
        files.push({ file: child, text: readFileSync(path.join(ROOT, child), 'utf8') });
    }
  };
  walk(dir);
  return files;
}

function sourceGraph(): Graph {
  const graph: Graph = new Map();
  for (const { file, text } of sourceFiles('src'))
    graph.set(file.replace(/\.ts$/, ''), { ...importsOf(file, text), text });
  return graph;
}

/** The plugins' sources: written like a third party's, but kept to the house's sizes all the same. */
function pluginFiles(): { file: string; text: string }[] {
  return readdirSync(path.join(ROOT, 'plugins'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => sourceFiles(`plugins/${entry.name}/src`));
}

/** The modules a file loads when it runs, and those it takes only types from (erased when compiled). */
function importsOf(file: string, text: string): { imports: string[]; typeImports: string[] } {
  const imports: string[] = [];
  const typeImports: string[] = [];
  const statement = /^(?:import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  const dynamic = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(statement))
    (m[1] ? typeImports : imports).push(resolve(file, m[2] as string));
  for (const m of text.matchAll(dynamic)) imports.push(resolve(file, m[1] as string));
  return { imports, typeImports };
}

function resolve(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return path.posix.join(path.posix.dirname(file), specifier).replace(/\.js$/, '');
}

const within = (id: string, area: string) => id === area || id.startsWith(`${area}/`);

/** For each module of `layers`, the first import chain that reaches a forbidden module. */
function violations(graph: Graph, layers: string[], forbidden: string[], withTypes: boolean): string[] {
  const found: string[] = [];
  for (const start of graph.keys()) {
    if (!layers.some((layer) => within(start, layer))) continue;
    const seen = new Set([start]);
    const queue: string[][] = [[start]];
    // Bounded: each module enters the queue at most once.
    while (queue.length > 0) {
      const chain = queue.shift() as string[];
      const node = graph.get(chain.at(-1) as string);
      const imports = node ? [...node.imports, ...(withTypes ? node.typeImports : [])] : [];
      const bad = imports.find((id) => forbidden.some((area) => within(id, area)));
      if (bad) {
        found.push([...chain, bad].join(' -> '));
        break;
      }
      for (const id of imports) {
        if (seen.has(id) || !graph.has(id)) continue;
        seen.add(id);
        queue.push([...chain, id]);
      }
    }
  }
  return found;
}

describe('layering of src/', () => {
  const graph = sourceGraph();

  it('reads the imports it checks', () => {
    expect(graph.get('src/actions/runner')?.imports).toContain('src/actions/store');
    expect(graph.get('src/commands/exec')?.imports).toContain('@oclif/core');
    expect(graph.get('src/transports/registry')?.typeImports).toContain('@oclif/core');
  });

  it(`${SILENT.join(', ')} write nothing to stdout or stderr`, () => {
    const writers = [...graph]
      .filter(([id]) => SILENT.some((area) => within(id, area)))
      .filter(([, { text }]) => /process\.(stdout|stderr)|console\./.test(text))
      .map(([id]) => id);
    expect(writers).toEqual([]);
  });

  it(`no module under src/ or plugins/*/src is longer than ${MAX_LINES} lines: split it by its jobs`, () => {
    const files = [...sourceFiles('src'), ...pluginFiles()];
    expect(files.map(({ file }) => file)).toContain('plugins/winrm/src/ntlm/client.ts');
    const long = files
      .map(({ file, text }) => ({ file, lines: text.split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    expect(long).toEqual([]);
  });

  for (const rule of RULES) {
    it(`${rule.layers.join(', ')} load nothing of ${rule.forbidden.join(', ')}: ${rule.why}`, () => {
      expect(violations(graph, rule.layers, rule.forbidden, rule.types === 'counted')).toEqual([]);
    });
  }
});
