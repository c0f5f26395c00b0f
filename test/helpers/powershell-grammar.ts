import { createRequire } from 'node:module';
import { Language, type Node, Parser, type Tree } from 'web-tree-sitter';

/**
 * PowerShell syntax checks without PowerShell: the tree-sitter-powershell grammar (WebAssembly), for
 * tests of the scripts rmm sends to Windows devices. A syntax error shows as ERROR or MISSING nodes.
 */
export interface SyntaxProblem {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  /** What is there (trimmed, shortened), or `missing X` for a token the parser had to assume. */
  text: string;
}

export interface PowershellParse {
  /** Free it with tree.delete() when parsing many scripts; the WebAssembly heap is not collected. */
  tree: Tree;
  errors: SyntaxProblem[];
}

const parser = await (async () => {
  await Parser.init();
  const wasm = createRequire(import.meta.url).resolve('tree-sitter-powershell/tree-sitter-powershell.wasm');
  const instance = new Parser();
  instance.setLanguage(await Language.load(wasm));
  return instance;
})();

export function parsePowershell(source: string): PowershellParse {
  const tree = parser.parse(source);
  if (!tree) throw new Error('tree-sitter-powershell returned no tree');
  return { tree, errors: syntaxErrors(tree.rootNode) };
}

/** Every node under (and including) `node`, depth first, in source order. */
export function* walk(node: Node): Generator<Node> {
  yield node;
  for (const child of node.children) if (child) yield* walk(child);
}

/**
 * The innermost ERROR nodes and every MISSING one, in source order. Innermost, because recovery
 * wraps whole statements in ERROR too, and the inner one is where the parse actually broke.
 */
export function syntaxErrors(root: Node): SyntaxProblem[] {
  if (!root.hasError) return [];
  const errors: SyntaxProblem[] = [];
  for (const node of walk(root)) {
    if (node.isMissing) errors.push(problemAt(node, `missing ${node.type}`));
    else if (node.isError && !node.children.some((child) => child?.hasError))
      errors.push(problemAt(node, node.text));
  }
  return errors.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * Syntax Windows PowerShell 5.1 rejects: pipeline chains (&&, ||), which this grammar parses, and
 * the ?-operators (??, ??=, ?., ?[], ternary), which it does not and leaves as ERROR nodes starting
 * with '?'. Strings and comments are their own nodes, so text inside them never matches.
 */
export function findPowershell7Syntax(root: Node): SyntaxProblem[] {
  const found: SyntaxProblem[] = [];
  for (const node of walk(root)) {
    if (node.type === 'pipeline_chain_tail') found.push(problemAt(node, node.text));
    else if (node.isError && node.childCount === 0 && node.text.trim().startsWith('?'))
      found.push(problemAt(node, node.text));
  }
  return found;
}

/** `line:column text`, for assertion messages. */
export function formatProblem(problem: SyntaxProblem): string {
  return `${problem.line}:${problem.column} ${JSON.stringify(problem.text)}`;
}

function problemAt(node: Node, text: string): SyntaxProblem {
  // An ERROR leaf's text can start with the whitespace before it; point at what follows.
  const leading = /^\s*/.exec(text)?.[0] ?? '';
  const skipped = leading.split('\n');
  const line = node.startPosition.row + skipped.length;
  const column =
    skipped.length > 1
      ? (skipped.at(-1) as string).length + 1
      : node.startPosition.column + leading.length + 1;
  const trimmed = text.trim();
  return { line, column, text: trimmed.length > 60 ? `${trimmed.slice(0, 57)}...` : trimmed };
}
