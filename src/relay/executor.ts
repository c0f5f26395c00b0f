import type { Job } from '../actions/jobs.js';
import { powershellInvocation } from '../actions/powershell.js';
import { type ActionEvent, runActions } from '../actions/runner.js';
import type { ActionResult, ActionStatus, ActionStore } from '../actions/store.js';
import type { DeviceRecord } from '../actions/targets.js';
import type { CredentialPolicy } from '../credentials/policy.js';
import type { ExecResult, QueuedAction } from '../plugin/api.js';
import type { TransportRegistry } from '../transports/registry.js';
import { capText, type Finished, type FinishedStatus } from './reports.js';

/**
 * Runs one queued action at the relay through the core runner (runActions), exactly as `rmm exec`
 * would: the device's transport block checked against the local plugin, its credential reference
 * resolved here through this relay's allow-list (the secret never leaves the site), connections
 * retried only before anything was sent. Returns the row's end as the runner made it and what the
 * finished report says: up to 256 KiB of each stream for a success (the hook sees the full output),
 * what the runner's event carries otherwise.
 *
 * The row was claimed before (RelayStore.startMany, in a group commit), and its end is written by
 * the caller with its finished report in one transaction (RelayStore.endMany): so the runner gets a
 * store whose claim is already done and whose ends are handed back rather than written. That is
 * two synced commits per action, shared by every action that starts or ends in the same turn.
 */
export interface ExecutorDeps {
  registry: TransportRegistry;
  credentials: CredentialPolicy;
  store: ActionStore;
  /** Aborted when the relay stops past its drain timeout: what runs ends Cancelled. */
  signal: AbortSignal;
  onNotice?: (text: string) => void;
}

export interface Outcome {
  finished: Finished;
  /** The row's end, for RelayStore.endMany. */
  end: { status: ActionStatus; result: ActionResult };
}

export async function runQueuedAction(action: QueuedAction, deps: ExecutorDeps): Promise<Outcome> {
  const job = jobOf(action);
  let full: ExecResult | undefined;
  let ended: ActionEvent | undefined;
  let end: Outcome['end'] | undefined;
  const store: ActionStore = {
    ...deps.store,
    claim: () => true,
    finishMany: (entries) => {
      for (const entry of entries) end = { status: entry.status, result: entry.result };
      return entries.map(() => true);
    },
  };
  const capture = {
    succeeded(_job: Job, result: ExecResult) {
      full = result;
      return '';
    },
  };
  const summary = await runActions([job], {
    registry: deps.registry,
    credentials: deps.credentials,
    store,
    concurrency: 1,
    signal: deps.signal,
    unstarted: 'cancel',
    hooks: { exec: capture, inventory: capture },
    onEvent: (event) => {
      if (event.status !== 'Running' && event.status !== 'Pending') ended = event;
    },
    ...(deps.onNotice ? { onNotice: deps.onNotice } : {}),
  });
  if (!ended || !end) {
    const error =
      summary.Pending > 0
        ? 'the relay could not record this action (its database stayed locked); not run'
        : 'the relay lost track of this action';
    return {
      finished: { status: 'Failed', error, durationMs: 0 },
      end: { status: 'Failed', result: { error, durationMs: 0 } },
    };
  }
  const finished: Finished = { status: ended.status as FinishedStatus, durationMs: ended.durationMs ?? 0 };
  if (ended.exitCode !== undefined) finished.exitCode = ended.exitCode;
  if (ended.error !== undefined) finished.error = ended.error;
  if (full) {
    finished.stdout = capText(full.stdout);
    finished.stderr = capText(full.stderr);
  } else {
    if (ended.stdout !== undefined) finished.stdout = { text: ended.stdout, dropped: 0 };
    if (ended.stderr !== undefined) finished.stderr = { text: ended.stderr, dropped: 0 };
  }
  return { finished, end };
}

/** The runner's job for a queued action: the device as the message describes it. */
export function jobOf(action: QueuedAction): Job {
  const device: DeviceRecord = {
    name: action.device.name,
    host: action.device.host,
    os: action.device.os,
    site: '',
    groups: [],
    labels: {},
    transport: action.device.transport,
  };
  const job: Job = {
    id: action.actionId,
    deviceName: device.name,
    type: action.type,
    device,
    command: action.command,
    timeoutMs: action.timeoutMs,
    connectTimeoutMs: action.connectTimeoutMs,
  };
  if (action.powershell && device.os !== 'windows')
    job.problem = `a PowerShell action needs a Windows device; ${device.name} is ${device.os ?? 'of no declared OS'}`;
  else if (action.powershell) Object.assign(job, powershellInvocation(job.command), { powershell: true });
  return job;
}
