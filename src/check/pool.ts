import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { TransportSchemas } from '../resources/transport-options.js';
import { checkDocuments, type DocumentChunk, type DocumentResult } from './check-document.js';

/**
 * Checks batches of documents on worker threads and on the main thread, one per core in all, so
 * parsing a large repository uses the whole machine. The main thread takes batches too: it would
 * otherwise wait, and each worker costs its start (modules, compiled schemas) and the copying of
 * documents and results (on 2 cores, two workers cost a cold apply of 100,000 devices about 1.3 s
 * more CPU than checking inline). Small inputs never start a worker (starting one costs more than it
 * saves). RMM_WORKERS sets the number of worker threads; 0 checks everything on the main thread.
 */
export interface Checker {
  check(chunks: DocumentChunk[]): Promise<DocumentResult[]>;
  close(): Promise<void>;
}

/** Below this much YAML, everything is checked inline. */
export const PARALLEL_THRESHOLD_BYTES = 1024 * 1024;

export function workerCount(env: NodeJS.ProcessEnv = process.env): number {
  const configured = env.RMM_WORKERS === undefined ? Number.NaN : Number(env.RMM_WORKERS);
  if (Number.isInteger(configured) && configured >= 0) return Math.min(configured, 64);
  // Worker entry points exist only compiled; running from TypeScript sources (tests) stays inline.
  if (import.meta.url.endsWith('.ts')) return 0;
  return defaultWorkers(availableParallelism());
}

/** Worker threads for a machine of `cores`: the main thread checks too (poolChecker), on a core of its own. */
export function defaultWorkers(cores: number): number {
  return Math.max(0, Math.min(cores - 1, 8));
}

export function inlineChecker(collect: boolean): Checker {
  return {
    check: (chunks) => checkDocuments(chunks, collect),
    close: async () => {},
  };
}

export function poolChecker(size: number, collect: boolean, transportSchemas?: TransportSchemas): Checker {
  const workers: Array<{ worker: Worker; pending: number }> = [];
  const waiting = new Map<
    number,
    { resolve: (r: DocumentResult[]) => void; reject: (e: unknown) => void; slot: number }
  >();
  let nextId = 0;
  const failAll = (error: unknown) => {
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
  };
  // The plugins' option checks are functions, which cannot be sent; they run on the main thread.
  const { optionChecks: _onMainThread, ...sendable } = transportSchemas ?? {};
  const workerSchemas = transportSchemas ? (sendable as TransportSchemas) : undefined;
  for (let i = 0; i < size; i++) {
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { collect, transportSchemas: workerSchemas },
    });
    worker.on('message', ({ id, results }: { id: number; results: string }) => {
      const entry = waiting.get(id);
      if (!entry) return;
      waiting.delete(id);
      (workers[entry.slot] as { pending: number }).pending--;
      entry.resolve(JSON.parse(results) as DocumentResult[]);
    });
    worker.on('error', failAll);
    workers.push({ worker, pending: 0 });
  }
  // The main thread's share: batches checked inline, one at a time (checkDocuments queues them).
  const main = { pending: 0 };
  return {
    check(chunks) {
      // The least busy thread takes the batch; a worker on a tie, as the main thread also reads.
      let slot = 0;
      workers.forEach((w, i) => {
        if (w.pending < (workers[slot] as { pending: number }).pending) slot = i;
      });
      const target = workers[slot] as { worker: Worker; pending: number };
      if (main.pending < target.pending) {
        main.pending++;
        return checkDocuments(chunks, collect).finally(() => main.pending--);
      }
      const id = nextId++;
      target.pending++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject, slot });
        target.worker.postMessage({ id, chunks });
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.worker.terminate()));
    },
  };
}
