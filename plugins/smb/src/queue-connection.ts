import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  Fail,
  QueueConnection,
  QueuedAction,
  QueuedReport,
  ReceivedReport,
  Secret,
  SubmitOutcome,
} from 'rmm/plugin';
import { parseHeartbeat } from './heartbeat-file.js';
import { jobFile, MAX_JOB_BYTES } from './job-file.js';
import { listedFiles } from './listing.js';
import { MAX_RESULT_BYTES, parseResultFile, printable, RESULT_NAME } from './result-file.js';
import type { SigningKey } from './signing-key.js';
import { quoted, runSmbclient, type ShareAddress } from './smbclient.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Files per smbclient process: one process carries a whole batch, bounded all the same. */
const FILES_PER_CALL = 1000;
const GONE =
  /NT_STATUS_(NO_SUCH_FILE|OBJECT_NAME_NOT_FOUND|OBJECT_PATH_NOT_FOUND|SHARING_VIOLATION|DELETE_PENDING)/;

export interface SmbQueueContext {
  address: ShareAddress;
  secret: Secret | undefined;
  key: SigningKey;
  operationTimeoutMs: number;
  pollIntervalMs: number;
  now: () => Date;
  fail: Fail;
}

/** What ack() needs: the result file to delete (only names that are safe to hand to smbclient). */
interface Handle {
  deletable?: string;
}

/**
 * One device's queue on its share (docs/smb.md): submit puts signed jobs in queue/ (a `.tmp` name,
 * then renamed), fetch reads results/ and the heartbeat, ack deletes the results the core stored,
 * cancel deletes a job the consumer has not claimed. One smbclient process per operation.
 */
export function smbQueueConnection(context: SmbQueueContext): QueueConnection {
  const { address, fail } = context;
  // One operation at a time: the share sees a clear sequence, and the counts stay one process each.
  let last: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = last.then(work, work);
    last = next.catch(() => undefined);
    return next;
  };
  const smb = (commands: string[], signal?: AbortSignal) =>
    runSmbclient(address, context.secret, commands, { timeoutMs: context.operationTimeoutMs, signal, fail });
  let lastHeartbeat: string | undefined;
  const reportedOnce = new Set<string>();

  const submit = async (actions: readonly QueuedAction[], signal?: AbortSignal): Promise<SubmitOutcome[]> => {
    const outcomes = new Map<string, SubmitOutcome>();
    const ready: string[] = [];
    const folder = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-jobs-'));
    try {
      for (const action of actions) {
        const problem = jobProblem(action);
        if (problem) {
          outcomes.set(action.actionId, { actionId: action.actionId, accepted: false, error: problem });
          continue;
        }
        const job = jobFile(action, context.key, context.now());
        if (job.length > MAX_JOB_BYTES) {
          outcomes.set(action.actionId, {
            actionId: action.actionId,
            accepted: false,
            error: `the job is ${job.length} bytes, over the consumers' ${MAX_JOB_BYTES}`,
          });
          continue;
        }
        await writeFile(path.join(folder, `${action.actionId}.job`), job, { mode: 0o600 });
        ready.push(action.actionId);
      }
      for (let start = 0; start < ready.length; start += FILES_PER_CALL) {
        const batch = ready.slice(start, start + FILES_PER_CALL);
        // The consumer makes queue/ on its first run; a job submitted before then still lands.
        const commands = ['mkdir queue'].concat(
          ...batch.map((id) => [
            `put ${quoted(path.join(folder, `${id}.job`))} queue/${id}.tmp`,
            `rename queue/${id}.tmp queue/${id}.job -f`,
          ]),
        );
        const run = await smb(commands, signal);
        for (const id of batch) {
          const failure = run.failures.find((line) => line.includes(id));
          const put = run.output.includes(`as \\queue\\${id}.tmp`);
          outcomes.set(
            id,
            !failure && put
              ? { actionId: id, accepted: true, receipt: `queue/${id}.job` }
              : {
                  actionId: id,
                  accepted: false,
                  error: `the share refused the job: ${failure ?? 'not written'}`,
                },
          );
        }
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
    return actions.map((action) => outcomes.get(action.actionId) as SubmitOutcome);
  };

  const fetchOnce = async (max: number, signal?: AbortSignal): Promise<ReceivedReport[]> => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-results-'));
    try {
      const heartbeatFile = path.join(folder, 'heartbeat');
      const listing = await smb(['ls results/*', `get heartbeat ${quoted(heartbeatFile)}`], signal);
      const received: ReceivedReport[] = [];
      const now = context.now();
      const heartbeat = await readFile(heartbeatFile).catch(() => undefined);
      if (heartbeat !== undefined) {
        const report = parseHeartbeat(heartbeat, now);
        const seen = JSON.stringify(report);
        if (seen !== lastHeartbeat) received.push({ report, handle: {} satisfies Handle });
        lastHeartbeat = seen;
      }
      const wanted: string[] = [];
      // A consumer writes `.<id>.tmp` before renaming it: not a result yet.
      for (const file of listedFiles(listing.output).filter((f) => !f.name.startsWith('.'))) {
        if (received.length + wanted.length >= max) break;
        const deletable = /^[A-Za-z0-9._-]{1,200}$/.test(file.name) ? file.name : undefined;
        const invalid = (problem: string) =>
          received.push({
            report: { kind: 'invalid', at: now.toISOString(), problem },
            handle: { deletable },
          });
        if (!RESULT_NAME.test(file.name)) {
          if (deletable === undefined && reportedOnce.has(file.name)) continue;
          if (reportedOnce.size < 10_000) reportedOnce.add(file.name);
          invalid(`results/${printable(file.name)} is not named <ActionId>.json: not read`);
        } else if (file.size > MAX_RESULT_BYTES)
          invalid(`results/${file.name} is ${file.size} bytes, over ${MAX_RESULT_BYTES}: not downloaded`);
        else wanted.push(file.name);
      }
      if (wanted.length > 0) {
        await smb(
          wanted.map((name) => `get results/${name} ${quoted(path.join(folder, name))}`),
          signal,
        );
        for (const name of wanted) received.push(await downloaded(folder, name, now));
      }
      return received;
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  };

  return {
    submit: (actions, options) => serial(() => submit(actions, options?.signal)),
    async fetch({ max, waitMs, signal }) {
      const deadline = Date.now() + waitMs;
      const rounds = 1 + Math.ceil(waitMs / context.pollIntervalMs);
      let reports: ReceivedReport[] = [];
      for (let round = 0; round < rounds; round++) {
        reports = await serial(() => fetchOnce(max, signal));
        const left = deadline - Date.now();
        if (reports.length > 0 || left <= 0) break;
        await sleep(Math.min(left, context.pollIntervalMs), undefined, { signal }).catch(() => undefined);
        if (signal?.aborted) break;
      }
      return reports;
    },
    ack: (reports) =>
      serial(async () => {
        const names = reports.map((r) => (r.handle as Handle).deletable).filter((n) => n !== undefined);
        for (let start = 0; start < names.length; start += FILES_PER_CALL)
          await smb(names.slice(start, start + FILES_PER_CALL).map((name) => `del results/${name}`));
      }),
    cancel: (actionId, receipt) =>
      serial(async () => {
        if (!UUID.test(actionId) || receipt !== `queue/${actionId}.job`) return 'unknown';
        const run = await smb([`del ${receipt}`]);
        const failure = run.failures.find((line) => line.includes(actionId));
        if (!failure) return 'withdrawn';
        return GONE.test(failure) ? 'too-late' : 'unknown';
      }),
    close: async () => {
      await last.catch(() => undefined);
    },
  };
}

function jobProblem(action: QueuedAction): string | undefined {
  if (!UUID.test(action.actionId)) return 'the ActionId is not a lowercase UUID';
  if (Number.isNaN(Date.parse(action.expiresAt)))
    return `expiresAt ${JSON.stringify(action.expiresAt)} is not a time`;
  if (!/^[a-z0-9-]{1,63}$/.test(action.device.name)) return 'the device name is not a resource name';
  if (!/^[a-z0-9-]{1,40}$/.test(action.type)) return 'the action type is not a name';
  return undefined;
}

/** A downloaded result, read with the same cap as the listing promised (a file can grow between). */
async function downloaded(folder: string, name: string, now: Date): Promise<ReceivedReport> {
  const file = path.join(folder, name);
  const handle: Handle = { deletable: name };
  const size = await stat(file).then(
    (s) => s.size,
    () => -1,
  );
  let report: QueuedReport;
  if (size < 0)
    report = { kind: 'invalid', at: now.toISOString(), problem: `results/${name}: could not be read` };
  else if (size > MAX_RESULT_BYTES)
    report = {
      kind: 'invalid',
      at: now.toISOString(),
      problem: `results/${name} grew over ${MAX_RESULT_BYTES} bytes`,
    };
  else report = parseResultFile(name, await readFile(file), now);
  return { report, handle };
}
