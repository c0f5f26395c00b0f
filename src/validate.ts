import { canonicalJson } from './canonical-json.js';
import {
  type DeclaredRecord,
  type DocumentChunk,
  type DocumentResult,
  diagnosticAt,
} from './check/check-document.js';
import {
  type Checker,
  inlineChecker,
  PARALLEL_THRESHOLD_BYTES,
  poolChecker,
  workerCount,
} from './check/pool.js';
import { resultCache } from './check/result-cache.js';
import { compareDiagnostics, type Diagnostic } from './diagnostics/diagnostic.js';
import { type Locator, locator } from './load/precise-parse.js';
import { listedFiles, listInputFiles, type ReadOptions, readInputs } from './load/read-sources.js';
import { splitDocuments } from './load/split-documents.js';
import { PolicyChecks } from './monitoring/policy-checks.js';
import { quote } from './quote.js';
import type { ResourceRefs } from './resources/cross-references.js';
import { ReferenceIndex } from './resources/cross-references.js';
import { DEFAULT_SITE } from './resources/kinds.js';
import {
  BLOCK_AT,
  effectiveTransportProblems,
  pluginOptionProblems,
  setTransportSchemas,
  type TransportSchemas,
  unknownTransportsAllowed,
} from './resources/transport-options.js';
import { figures, phase } from './timing.js';

export type { DocumentChunk };

/** A valid declared resource and the document it came from. */
export interface DeclaredResource extends DeclaredRecord {
  source: DocumentChunk;
}

export interface ValidationResult {
  diagnostics: Diagnostic[];
  files: number;
  documents: number;
  /** Valid resources, in input order; filled only with `collect: true`. */
  resources: DeclaredResource[];
}

export interface ValidateOptions extends ReadOptions {
  /** Keep the valid resources (plan and apply need them; validate does not). */
  collect?: boolean;
  /** Reuse and keep the check results of unchanged files (with `collect`; see check/result-cache). */
  cacheDir?: string;
  /**
   * The installed transports' option schemas, to check transport blocks against, and whether types
   * none of them provides are allowed (see transport-options).
   */
  transportSchemas?: TransportSchemas;
  /**
   * The resources the database holds (plan and apply): references resolve against them too. Without
   * them (rmm validate), references resolve among the inputs only, and messages say so.
   */
  stored?: StoredRefs;
  /** A file this says true for is neither split nor checked: its stored rows stand in (reconcile/incremental). */
  skipFile?: (file: string, text: string) => boolean;
}

/** What the database holds, for plan and apply (state/stored-refs). */
export interface StoredRefs {
  /** Every stored site, policy and group. */
  resources: readonly ResourceRefs[];
  /** The stored devices the checks need, but those the input declares; `kinds`: the kinds it declares. */
  devices(declared: ReadonlySet<string>, kinds: ReadonlySet<string>): readonly ResourceRefs[];
}

/** Documents per batch sent to a worker: large enough to amortize messaging, small enough to balance. */
const BATCH_DOCUMENTS = 500;

interface Batch {
  chunks: DocumentChunk[];
  results: Promise<DocumentResult[]>;
}

/**
 * The whole check behind `rmm validate`: read the inputs, split them into documents, check each
 * document by itself (YAML, its kind's schema; on worker threads when the input is large), then the
 * rules across documents. Every problem is collected; none stops the run. Positions are computed
 * only for documents with problems. With a cache, files seen before are not checked again.
 */
export async function validateInputs(
  inputs: readonly string[],
  options: ValidateOptions = {},
): Promise<ValidationResult> {
  const collect = options.collect ?? false;
  setTransportSchemas(options.transportSchemas);
  const cache =
    collect && options.cacheDir
      ? resultCache(options.cacheDir, transportSalt(options.transportSchemas))
      : undefined;
  const diagnostics: Diagnostic[] = [];
  const batches: Batch[] = [];
  const documentsPerFile = new Map<string, number>();
  const entries = await listInputFiles(inputs, options.recursive ?? false);
  // Batches are listed in input order (so "declared twice" names the first in input order); a batch
  // found before the checker is chosen waits for it.
  let checker: Checker | undefined;
  const waiting: Array<{ chunks: DocumentChunk[]; start: (check: Checker) => void }> = [];
  const submit = (chunks: DocumentChunk[]) => {
    for (let i = 0; i < chunks.length; i += BATCH_DOCUMENTS) {
      const batch = chunks.slice(i, i + BATCH_DOCUMENTS);
      if (checker) {
        batches.push({ chunks: batch, results: checker.check(batch) });
        continue;
      }
      batches.push({
        chunks: batch,
        results: new Promise((resolve, reject) => {
          waiting.push({ chunks: batch, start: (check) => check.check(batch).then(resolve, reject) });
        }),
      });
    }
  };
  const useChecker = (bytes: number) => {
    checker =
      workerCount() > 0 && bytes > PARALLEL_THRESHOLD_BYTES
        ? poolChecker(workerCount(), collect, options.transportSchemas)
        : inlineChecker(collect);
    for (const w of waiting.splice(0)) w.start(checker);
  };
  // Files whose results must be computed, kept to fill the cache once they are known.
  // Their batches are batches[from..to): submit cuts each file's documents into batches of its own.
  const misses: Array<{ text: string; file: string; from: number; to: number }> = [];
  let missedBytes = 0;
  let files = 0;
  try {
    // Worker threads take a while to start: when the files likely to need checking (all of them
    // without a cache; with one, those whose size or time changed since they were last seen valid)
    // are large, they start before reading, so they are ready when the first batch is. Otherwise
    // they start once the files that did miss add up to enough work; a plan where ten small files
    // changed checks them inline. Stdin's size is unknown; it is checked inline.
    const listed = listedFiles(entries);
    const likelyWork = cache ? cache.likelyMissBytes(listed) : listed.reduce((sum, f) => sum + f.size, 0);
    if (likelyWork > PARALLEL_THRESHOLD_BYTES) useChecker(likelyWork);
    for await (const source of readInputs(entries, options.stdin)) {
      files++;
      if ('diagnostic' in source) {
        diagnostics.push(source.diagnostic);
        continue;
      }
      if (options.skipFile?.(source.file, source.text)) continue;
      documentsPerFile.set(source.file, 0);
      const chunks = splitDocuments(source.text).map((c) => ({
        file: source.file,
        text: c.text,
        firstLine: c.firstLine,
      }));
      const cached = cache?.get(source.text, source.file);
      if (cached && cached.length === chunks.length) {
        batches.push({ chunks, results: Promise.resolve(cached) });
        continue;
      }
      const from = batches.length;
      submit(chunks);
      if (!cache) continue;
      misses.push({ text: source.text, file: source.file, from, to: batches.length });
      missedBytes += source.text.length;
      if (!checker && missedBytes > PARALLEL_THRESHOLD_BYTES) useChecker(missedBytes);
    }
    if (!checker) useChecker(missedBytes);
    phase('read and queued');

    const locateIn = locatorCache();
    const index = new ReferenceIndex<DocumentChunk>((chunk) => {
      const { line, column } = positionIn(chunk, locateIn(chunk), ['metadata', 'name']);
      return `${chunk.file}:${line}:${column}`;
    }, options.stored?.resources);
    const resources: DeclaredResource[] = [];
    const installed = unknownTransportsAllowed();
    // For the checks of the block each device is reached with: sites' defaults, and the devices
    // whose documents are valid by themselves (the others' problems are reported already).
    const siteDefaults = new Map<string, { block: Record<string, unknown> | undefined; valid: boolean }>();
    for (const refs of options.stored?.resources ?? [])
      if (refs.kind === 'Site') siteDefaults.set(refs.name, { block: refs.transportBlock, valid: true });
    const declaredSites = new Map<string, { chunk: DocumentChunk; valid: boolean }>();
    const declaredDevices = new Set<string>();
    const declaredKinds = new Set<string>();
    const devices: Array<{ refs: ResourceRefs; chunk: DocumentChunk }> = [];
    // Every transport block, for the plugins' own checks (their results are never cached).
    const blocks: Array<{ refs: ResourceRefs; chunk: DocumentChunk }> = [];
    const unknownTransports = new Map<string, { refs: ResourceRefs; chunk: DocumentChunk; count: number }>();
    const policyChecks = new PolicyChecks<DocumentChunk>();
    for (const refs of options.stored?.resources ?? []) policyChecks.addStored(refs);
    let documents = 0;
    for (const batch of batches) {
      const results = await batch.results;
      results.forEach((result, i) => {
        const chunk = batch.chunks[i] as DocumentChunk;
        diagnostics.push(...result.diagnostics);
        if (result.empty) return;
        documents++;
        documentsPerFile.set(chunk.file, (documentsPerFile.get(chunk.file) ?? 0) + 1);
        if (result.refs) {
          const valid = !result.diagnostics.some((d) => d.severity === 'error');
          if (result.refs.kind === 'Site' && !declaredSites.has(result.refs.name)) {
            declaredSites.set(result.refs.name, { chunk, valid });
            siteDefaults.set(result.refs.name, { block: result.refs.transportBlock, valid });
          }
          declaredKinds.add(result.refs.kind);
          if (result.refs.kind === 'Device') declaredDevices.add(result.refs.name);
          if (result.refs.kind === 'Device' && result.refs.transportBlock && valid)
            devices.push({ refs: result.refs, chunk });
          if (result.refs.transportBlock) blocks.push({ refs: result.refs, chunk });
          const type = result.refs.transport;
          if (type !== undefined && installed && !installed.includes(type)) {
            const seen = unknownTransports.get(type);
            if (seen) seen.count++;
            else unknownTransports.set(type, { refs: { ...result.refs }, chunk, count: 1 });
          }
          index.add(result.refs, chunk);
          policyChecks.add(result.refs, chunk);
        }
        if (result.declared && !result.diagnostics.some((d) => d.severity === 'error'))
          resources.push({ ...result.declared, source: chunk });
      });
    }
    phase('checked documents');
    for (const { refs, chunk } of devices) {
      const site = refs.site ?? DEFAULT_SITE;
      const defaults = siteDefaults.get(site);
      if (defaults && !defaults.valid) continue;
      for (const problem of effectiveTransportProblems(refs.transportBlock, {
        name: site,
        block: defaults?.block,
      }))
        diagnostics.push(diagnosticAt(chunk, 'Device', refs.name, problem, locateIn(chunk)));
    }
    for (const { refs, chunk } of blocks) {
      const kind = refs.kind as 'Device' | 'Site' | 'Relay';
      const siteBlock = kind === 'Device' ? siteDefaults.get(refs.site ?? DEFAULT_SITE)?.block : undefined;
      for (const problem of pluginOptionProblems(kind, refs.transportBlock, siteBlock))
        diagnostics.push(diagnosticAt(chunk, kind, refs.name, problem, locateIn(chunk)));
    }
    phase('plugin option checks');
    // A declared site's default must still fit the devices only the database holds (plan, apply):
    // one problem per site, at its default, naming the first such device.
    const strays = new Map<string, { device: string; message: string; count: number }>();
    // Stored devices are read only now that the declared ones are known: most plans declare them all.
    const storedDevices = options.stored?.devices(declaredDevices, declaredKinds) ?? [];
    index.addStored(storedDevices);
    for (const refs of storedDevices) {
      if (refs.kind !== 'Device' || declaredDevices.has(refs.name) || !refs.transportBlock) continue;
      const site = refs.site ?? DEFAULT_SITE;
      if (!declaredSites.get(site)?.valid) continue;
      const [problem] = effectiveTransportProblems(refs.transportBlock, {
        name: site,
        block: siteDefaults.get(site)?.block,
      });
      if (!problem) continue;
      const seen = strays.get(site);
      if (seen) seen.count++;
      else strays.set(site, { device: refs.name, message: problem.message, count: 1 });
    }
    for (const [site, { device, message, count }] of strays) {
      const more = count > 1 ? ` (and ${count - 1} more devices in the database)` : '';
      const { chunk } = declaredSites.get(site) as { chunk: DocumentChunk };
      diagnostics.push(
        diagnosticAt(
          chunk,
          'Site',
          site,
          {
            code: 'schema',
            path: ['spec', 'defaults', 'transport'],
            at: 'key',
            message: `device ${quote(device)} in the database would not work with this default: ${message}${more}`,
          },
          locateIn(chunk),
        ),
      );
    }
    for (const [type, { refs, chunk, count }] of unknownTransports) {
      // A Relay's nats block is the relay transport's by its kind: it has no type to point at.
      const path =
        refs.kind === 'Relay' ? [...BLOCK_AT.Relay] : [...BLOCK_AT[refs.kind as 'Device' | 'Site'], 'type'];
      const more = count > 1 ? ` (and ${count - 1} more like it)` : '';
      diagnostics.push(
        diagnosticAt(
          chunk,
          refs.kind,
          refs.name,
          {
            code: 'schema',
            severity: 'warning',
            path,
            at: 'value',
            message: `no installed plugin provides the transport ${quote(type)} (installed: ${installed?.join(', ') || 'none'}); its options are not checked${more}`,
          },
          locateIn(chunk),
        ),
      );
    }
    for (const [file, count] of documentsPerFile) {
      if (count === 0) {
        diagnostics.push({
          severity: 'error',
          code: 'empty',
          file,
          line: 1,
          column: 1,
          message: 'no YAML documents in this file',
        });
      }
    }
    for (const problem of index.check()) {
      diagnostics.push(
        diagnosticAt(
          problem.ref,
          problem.kind,
          problem.name,
          { ...problem, at: 'value' },
          locateIn(problem.ref),
        ),
      );
    }
    for (const problem of policyChecks.check())
      diagnostics.push(
        diagnosticAt(
          problem.ref,
          problem.kind,
          problem.name,
          { ...problem, at: 'value' },
          locateIn(problem.ref),
        ),
      );
    phase('cross-references');
    if (cache) {
      // Only files whose documents are all valid by themselves: problems are always found afresh.
      for (const miss of misses) {
        const results: DocumentResult[] = [];
        for (const batch of batches.slice(miss.from, miss.to)) results.push(...(await batch.results));
        if (results.every((r) => r.diagnostics.length === 0)) cache.set(miss.text, results, miss.file);
      }
      cache.flush();
      figures('check cache', cache.counts());
      phase('check cache written');
    }
    diagnostics.sort(compareDiagnostics);
    return { diagnostics, files, documents, resources: collect ? resources : [] };
  } finally {
    await checker?.close();
  }
}

/** 1-based file position of a node in a document. */
function positionIn(chunk: DocumentChunk, locate: Locator, path: Parameters<Locator>[0]) {
  const { line, column } = locate(path);
  return { line: chunk.firstLine + line + 1, column: column + 1 };
}

/**
 * The locators of the documents that problems across documents point into, the latest few kept: a
 * document with many such problems is parsed once, and 100,000 documents with one each are not all
 * held in memory at once.
 */
function locatorCache(size = 64): (chunk: DocumentChunk) => Locator {
  const cache = new Map<DocumentChunk, Locator>();
  return (chunk) => {
    let found = cache.get(chunk);
    if (!found) {
      found = locator(chunk.text);
      cache.set(chunk, found);
      if (cache.size > size) cache.delete(cache.keys().next().value as DocumentChunk);
    }
    return found;
  };
}

/**
 * What the cached results depend on of the transport checks, as a function of their content only.
 * Plugins load concurrently, so their schemas arrive in any order: in canonical JSON (keys sorted at
 * every depth), or plan and the apply after it would miss each other's entries (seen: a
 * 100,000-device apply checked again for 4 s). The credential policy too, its lists as sets: a
 * reference allowed under a wider one must be checked again. The plugins' checkOptions are not in
 * it: they run on every run, outside the cache.
 */
export function transportSalt(checks: TransportSchemas | undefined): string {
  if (!checks) return 'null';
  const credentials = checks.credentials
    ? { envPrefixes: [...checks.credentials.envPrefixes].sort(), dirs: [...checks.credentials.dirs].sort() }
    : null;
  return canonicalJson({
    allowUnknown: Boolean(checks.allowUnknown),
    schemas: checks.schemas,
    routeSchemas: checks.routeSchemas ?? {},
    credentials,
  });
}
