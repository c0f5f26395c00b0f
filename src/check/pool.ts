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

/** Batches posted to a worker ahead of its results: enough to keep it busy while the main thread checks one of its own. */
const AHEAD = 4;

export function poolChecker(size: number, collect: boolean, transportSchemas?: TransportSchemas): Checker {
  interface Job {
    chunks: DocumentChunk[];
    resolve: (r: DocumentResult[]) => void;
    reject: (e: unknown) => void;
  }
  // One queue that every thread takes from when it is ready, so a thread that is slower (the main
  // thread also reads the files and decodes the workers' results) takes fewer batches, rather than
  // half of them assigned up front.
  const queue: Job[] = [];
  const workers: Array<{ worker: Worker; posted: Map<number, Job> }> = [];
  let nextId = 0;
  let failed: unknown;
  const failAll = (error: unknown) => {
    failed ??= error;
    for (const job of queue.splice(0)) job.reject(error);
    for (const w of workers) {
      for (const job of w.posted.values()) job.reject(error);
      w.posted.clear();
    }
  };
  const feed = (w: { worker: Worker; posted: Map<number, Job> }) => {
    while (w.posted.size < AHEAD && queue.length > 0) {
      const job = queue.shift() as Job;
      const id = nextId++;
      w.posted.set(id, job);
      w.worker.postMessage({ id, chunks: job.chunks });
    }
  };
  // The plugins' option checks are functions, which cannot be sent; they run on the main thread.
  const { optionChecks: _onMainThread, ...sendable } = transportSchemas ?? {};
  const workerSchemas = transportSchemas ? (sendable as TransportSchemas) : undefined;
  for (let i = 0; i < size; i++) {
    const w = {
      worker: new Worker(new URL('./worker.js', import.meta.url), {
        workerData: { collect, transportSchemas: workerSchemas },
      }),
      posted: new Map<number, Job>(),
    };
    w.worker.on('message', ({ id, results }: { id: number; results: string }) => {
      const job = w.posted.get(id);
      if (!job) return;
      w.posted.delete(id);
      feed(w);
      job.resolve(JSON.parse(results) as DocumentResult[]);
    });
    w.worker.on('error', failAll);
    workers.push(w);
  }
  // The main thread's share: one batch per turn of the event loop, taken from the queue only when
  // the workers have theirs, so that reading the next files goes on between them.
  let mainBusy = false;
  const mainTurn = () => {
    if (mainBusy || queue.length === 0) return;
    mainBusy = true;
    setImmediate(() => {
      const job = queue.shift();
      if (!job) {
        mainBusy = false;
        return;
      }
      checkDocuments(job.chunks, collect)
        .then(job.resolve, job.reject)
        .finally(() => {
          mainBusy = false;
          mainTurn();
        });
    });
  };
  return {
    check(chunks) {
      if (failed !== undefined) return Promise.reject(failed);
      return new Promise((resolve, reject) => {
        queue.push({ chunks, resolve, reject });
        for (const w of workers) feed(w);
        mainTurn();
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.worker.terminate()));
    },
  };
}
