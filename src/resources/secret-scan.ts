import type { PathSegment } from '../diagnostics/diagnostic.js';
import { quote } from '../quote.js';
import type { DocumentProblem } from './ajv-messages.js';
import { isKind } from './kinds.js';
import { isLiteralCredential, isSecretKey, secretShapeOf } from './secret-patterns.js';
import { type SensitivePath, sensitiveFieldPaths } from './sensitive-fields.js';

/**
 * Inline secrets in every string of every document, whatever its kind or field: keys and values,
 * descriptions and commands alike. rmm's own rules (secret-patterns.ts) run per string;
 * secretlint's recommended preset runs once over a batch of documents, each string on a line of
 * its own as `key: value`: one call per document cost 70 µs of setup and, through secretlint's
 * always-on profiler (quadratic in the marks it keeps), grew without bound over 100,000 documents.
 */

/** One parsed document and its kind, as the scan needs it. */
export interface ScannedDocument {
  value: unknown;
  kind?: string;
}

/** A node of a document: its parent and the step from it. Paths are built only for findings. */
interface Step {
  parent?: Step;
  step?: PathSegment;
}

/** One line of the text secretlint reads: where it starts, and where its value starts. */
interface Line {
  document: number;
  at: Step;
  start: number;
  /** Characters of `key: ` before the value; 0 for a list item, the whole line for a key alone. */
  valueAt: number;
  key?: string;
}

/** What secretlint's rules find, in words; a rule this list does not know yet still refuses. */
const RULE_WORDS: Record<string, string> = {
  '1password': 'a 1Password service account token',
  anthropic: 'an Anthropic API key',
  aws: 'an AWS credential',
  basicauth: 'a URL with a password',
  'database-connection-string': 'a database connection string with a password',
  gcp: 'a GCP service account key',
  github: 'a GitHub token',
  linear: 'a Linear API key',
  npm: 'an npm token',
  openai: 'an OpenAI API key',
  privatekey: 'a private key',
  sendgrid: 'a SendGrid API key',
  shopify: 'a Shopify token',
  slack: 'a Slack token or webhook',
};

/** Each document's secret problems, in the order of the documents given. */
export async function findSecrets(documents: readonly ScannedDocument[]): Promise<DocumentProblem[][]> {
  const found = documents.map(() => new Map<string, DocumentProblem>());
  const lines: Line[] = [];
  const texts: string[] = [];
  let offset = 0;
  const report = (
    document: number,
    at: Step,
    where: 'key' | 'value',
    message: (path: PathSegment[]) => string,
  ) => {
    const path = pathOf(at);
    const id = JSON.stringify(path);
    const seen = found[document] as Map<string, DocumentProblem>;
    if (!seen.has(id)) seen.set(id, { code: 'secret', path, at: where, message: message(path) });
  };
  documents.forEach((doc, document) => {
    const sensitive = isKind(doc.kind) ? sensitiveFieldPaths()[doc.kind] : [];
    walk(doc.value, (at, key, value) => {
      if (key !== undefined) {
        if (isLiteralCredential(key, value) && !isSensitive(pathOf(at), sensitive)) {
          report(document, at, 'value', () => LITERAL_CREDENTIAL);
          return false;
        }
        if (isSecretKey(key, value)) {
          report(document, at, 'key', () => `${quote(key)} ${SECRET_KEY_ADVICE}`);
          return false;
        }
        const keyShape = secretShapeOf(key);
        if (keyShape) {
          report(document, at, 'key', () => keyMessage(keyShape));
          return false;
        }
      }
      const scanned = typeof value === 'string' ? scannedPart(value) : undefined;
      const shape = scanned === undefined ? undefined : secretShapeOf(scanned);
      if (shape) {
        report(document, at, 'value', (path) => valueMessage(path, key, shape));
        return false;
      }
      // Shorter strings hold no secret the preset knows (none of its rules matches so few): most of a
      // document's values (os: linux, port numbers, site names) need not cost secretlint a pass.
      const long = scanned !== undefined && scanned.length >= MIN_SCANNED;
      if (!long && (key === undefined || key.length < MIN_SCANNED)) return true;
      const prefix = key === undefined ? '' : long ? `${key}: ` : key;
      const text = long ? prefix + (scanned as string) : prefix;
      lines.push({ document, at, start: offset, valueAt: prefix.length, key });
      texts.push(text);
      offset += text.length + 1;
      return true;
    });
  });
  if (texts.length > 0) {
    for (const hit of await secretlint(texts.join('\n'))) {
      const line = lineAt(lines, hit.start);
      const what = RULE_WORDS[hit.rule] ?? `a secret (secretlint rule ${hit.rule})`;
      // A finding that ends before the value does is in the key itself.
      const inKey = line.key !== undefined && hit.end <= line.start + line.valueAt;
      report(line.document, line.at, inKey ? 'key' : 'value', (path) =>
        inKey ? keyMessage(what) : valueMessage(path, line.key, what),
      );
    }
  }
  return found.map((problems) => [...problems.values()]);
}

const MIN_SCANNED = 8;

/**
 * The most of one string the rules read. Every string field of rmm's kinds is at most 8,000
 * characters (a schedule's command), so a longer one is refused by its schema whatever it holds;
 * reading all of a 900 KB value cost the hostile corpus 4 s and 400 MB. A secret past this point of
 * a plugin's unbounded option would be missed: plugins should bound their strings.
 */
const MAX_SCANNED = 16_384;

function scannedPart(value: string): string {
  return value.length > MAX_SCANNED ? value.slice(0, MAX_SCANNED) : value;
}

const SECRET_KEY_ADVICE =
  'looks like an inline secret; keep secrets out of YAML and use credentialRef: env:NAME or file:PATH';

const LITERAL_CREDENTIAL =
  'credentialRef holds a value, not a reference to one: write env:NAME or file:PATH, where rmm reads the secret at run time (the value is not shown)';

function keyMessage(what: string): string {
  return `this key looks like ${what}; secrets never belong in YAML`;
}

function valueMessage(path: readonly PathSegment[], key: string | undefined, what: string): string {
  const last = path[path.length - 1];
  const subject =
    key !== undefined ? `the value of ${quote(key)}` : typeof last === 'number' ? 'this item' : 'this value';
  return `${subject} looks like ${what}; secrets never belong in YAML`;
}

/**
 * Visits every map entry and list item (depth first, without recursion: the parser bounds depth,
 * the stack bounds nothing else). `visit` returns false to skip what is under a reported node.
 */
function walk(root: unknown, visit: (at: Step, key: string | undefined, value: unknown) => boolean): void {
  const top: Step = {};
  if (typeof root === 'string') visit(top, undefined, root);
  const stack: Array<{ at: Step; value: unknown }> = [{ at: top, value: root }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { at, value } = next;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        const child: Step = { parent: at, step: i };
        if (visit(child, undefined, value[i])) stack.push({ at: child, value: value[i] });
      }
    } else if (value !== null && typeof value === 'object') {
      for (const key in value as Record<string, unknown>) {
        const item = (value as Record<string, unknown>)[key];
        const child: Step = { parent: at, step: key };
        if (visit(child, key, item)) stack.push({ at: child, value: item });
      }
    }
  }
}

function pathOf(at: Step): PathSegment[] {
  const path: PathSegment[] = [];
  for (let node: Step | undefined = at; node?.step !== undefined; node = node.parent) path.push(node.step);
  return path.reverse();
}

/** Whether a path is one of the kind's x-sensitive fields (under spec; '*' matches any step). */
function isSensitive(path: readonly PathSegment[], sensitive: readonly SensitivePath[]): boolean {
  if (path[0] !== 'spec') return false;
  return sensitive.some(
    (p) => p.length === path.length - 1 && p.every((step, i) => step === '*' || step === String(path[i + 1])),
  );
}

/** The line a text offset falls on (lines are in offset order). */
function lineAt(lines: readonly Line[], offset: number): Line {
  let low = 0;
  let high = lines.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((lines[mid] as Line).start <= offset) low = mid;
    else high = mid - 1;
  }
  return lines[low] as Line;
}

const AWS_IDS = /-aws$/;

let preset: ReturnType<typeof loadPreset> | undefined;

/**
 * secretlint's recommended preset over a text, as [rule, start, end] of each finding (its messages
 * quote the secret; rmm words its own). Loaded on first use: commands that check no YAML never pay.
 * The filter-comments rule is left out: a value reading "secretlint-disable" would silence the rest
 * of the batch, other documents included.
 */
async function secretlint(content: string): Promise<Array<{ rule: string; start: number; end: number }>> {
  preset ??= loadPreset();
  const { lint, config } = await preset;
  const result = await lint({
    source: { content, filePath: 'rmm-documents', contentType: 'text' },
    options: { config, maskSecrets: true, noPhysicFilePath: true },
  });
  return result.messages.map((m) => ({
    rule: m.ruleId.replace('@secretlint/secretlint-rule-', ''),
    start: m.range[0],
    end: m.range[1],
  }));
}

async function loadPreset() {
  const [core, recommended, profiler] = await Promise.all([
    import('@secretlint/core'),
    import('@secretlint/secretlint-rule-preset-recommend'),
    import('@secretlint/profiler'),
  ]);
  quietProfiler(profiler.secretLintProfiler);
  const rules = recommended.rules
    .filter((rule) => rule.meta.id !== '@secretlint/secretlint-rule-filter-comments')
    // AWS access key ids too (off by default): one in YAML means its secret is near, and rmm
    // refused them before it used secretlint.
    .map((rule) => ({
      id: rule.meta.id,
      rule,
      options: AWS_IDS.test(rule.meta.id) ? { enableIDScanRule: true } : {},
    }));
  return { lint: core.lintSource, config: { rules } };
}

/**
 * secretlint's profiler records every rule of every call, always, and each record scans all the
 * earlier ones (upstream issues 1633 and 1653: quadratic; 12 s of CPU and 1.4 GB over the
 * 100,000-document bench). Later versions turn it off with setEnabled(false), but need Node 22;
 * until then its mark() becomes a no-op, which is what setEnabled(false) does.
 */
function quietProfiler(profiler: {
  mark: (marker: never) => void;
  setEnabled?: (enabled: boolean) => void;
}): void {
  if (profiler.setEnabled) profiler.setEnabled(false);
  else profiler.mark = () => {};
}
