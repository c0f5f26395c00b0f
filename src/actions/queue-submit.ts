import type { QueuedAction } from '../plugin/api.js';
import { readPayload } from './jobs.js';
import type { RouteOpener } from './queue-open.js';
import type { QueueKey, QueueStore } from './queue-store.js';
import type { ActionEvent } from './runner.js';
import type { ActionRow, ActionStore } from './store.js';
import type { DeviceRecord } from './targets.js';

/**
 * Hands actions to their routes' queues: the delivery intent first (the row stays Pending), then
 * submit, then Delivered with the receipt on the queue's acceptance. A console stopped in between
 * leaves the intent: the row is submitted again later with the same ActionId, which the queue and
 * the far side dedupe, and never cancelled as "not run", since it may be queued.
 */
export interface QueuedSubmission {
  row: ActionRow;
  /** The device as the database describes it now (absent: gone since the row was queued). */
  device: DeviceRecord | undefined;
  key: QueueKey;
  /** ISO 8601 UTC. */
  expiresAt: string;
  /** Submitted before (an intent nobody held): never failed here, since it may be queued already. */
  again?: boolean;
}

export interface SubmitContext {
  store: ActionStore;
  queue: QueueStore;
  routes: RouteOpener;
  onEvent: (event: ActionEvent) => void;
  onNotice: (text: string) => void;
  signal?: AbortSignal;
}

export interface SubmitSummary {
  delivered: number;
  failed: number;
  /** Left Pending with their intent: submitted again by rmm serve or rmm actions collect. */
  waiting: number;
}

/** Actions per submit call: bounds one message burst and one transaction. */
const SUBMIT_CHUNK = 500;

export async function submitQueued(
  submissions: readonly QueuedSubmission[],
  context: SubmitContext,
): Promise<SubmitSummary> {
  const summary: SubmitSummary = { delivered: 0, failed: 0, waiting: 0 };
  context.queue.recordIntents(
    submissions.map((s) => ({ actionId: s.row.ActionId, key: s.key, expiresAt: s.expiresAt })),
  );
  const byRoute = new Map<string, QueuedSubmission[]>();
  for (const s of submissions) {
    const id = `${s.key.transport}/${s.key.route}`;
    const list = byRoute.get(id);
    if (list) list.push(s);
    else byRoute.set(id, [s]);
  }
  await Promise.all(
    [...byRoute.values()].map(async (list) => {
      const key = (list[0] as QueuedSubmission).key;
      const leave = (items: readonly QueuedSubmission[], why: string) => {
        // Released to whoever submits next (rmm serve, rmm actions collect): still the same intent.
        context.queue.release(items.map((s) => s.row.ActionId));
        summary.waiting += items.length;
        context.onNotice(
          `${why}; ${items.length} action(s) stay Pending, to be submitted again by rmm serve or rmm actions collect`,
        );
      };
      const route = await context.routes.open(key);
      if ('problem' in route) return leave(list, route.problem);
      for (let start = 0; start < list.length; start += SUBMIT_CHUNK) {
        const chunk = list.slice(start, start + SUBMIT_CHUNK);
        const ready: QueuedSubmission[] = [];
        const actions: QueuedAction[] = [];
        for (const s of chunk) {
          const action = queuedAction(s);
          if (typeof action === 'string' && s.again) {
            context.onNotice(
              `${s.row.ActionId}: not submitted again (${action}); it stays Pending until it expires`,
            );
            summary.waiting++;
          } else if (typeof action === 'string') {
            if (
              context.store.finish(s.row.ActionId, s.row.DeviceId ?? '', s.row.ActionType, 'Failed', {
                error: action,
                durationMs: 0,
              })
            ) {
              summary.failed++;
              context.onEvent(event(s, 'Failed', action));
            }
          } else {
            ready.push(s);
            actions.push(action);
          }
        }
        if (actions.length === 0) continue;
        let outcomes: Awaited<ReturnType<typeof route.connection.submit>>;
        try {
          outcomes = await route.connection.submit(actions, context.signal ? { signal: context.signal } : {});
        } catch (error) {
          await context.routes.forget(key);
          return leave(
            list.slice(start),
            `${key.transport}/${key.route}: submit failed: ${(error as Error).message}`,
          );
        }
        const accepted = outcomes.flatMap((o) =>
          o.accepted ? [{ actionId: o.actionId, receipt: o.receipt }] : [],
        );
        const delivered = context.queue.markDelivered(accepted);
        const byId = new Map(ready.map((s) => [s.row.ActionId, s]));
        accepted.forEach((a, i) => {
          const s = byId.get(a.actionId);
          if (s && delivered[i]) {
            summary.delivered++;
            context.onEvent(event(s, 'Delivered'));
          }
        });
        for (const o of outcomes) {
          const s = byId.get(o.actionId);
          if (o.accepted || !s) continue;
          const error = `refused by ${key.transport}/${key.route}: ${o.error}`;
          if (
            context.store.finish(s.row.ActionId, s.row.DeviceId ?? '', s.row.ActionType, 'Failed', {
              error,
              durationMs: 0,
            })
          ) {
            summary.failed++;
            context.onEvent(event(s, 'Failed', error));
          }
        }
      }
    }),
  );
  return summary;
}

function event(s: QueuedSubmission, status: ActionEvent['status'], error?: string): ActionEvent {
  const e: ActionEvent = { type: 'action', id: s.row.ActionId, device: s.row.DeviceId ?? '', status };
  if (error !== undefined) {
    e.error = error;
    e.durationMs = 0;
  }
  return e;
}

/** What goes out for a row: its command and limits, the device's transport block with references only. */
export function queuedAction(s: QueuedSubmission): QueuedAction | string {
  const payload = readPayload(s.row.Payload);
  if (payload.problem || payload.command === undefined) return payload.problem ?? 'the action has no command';
  const device = s.device;
  if (!device) return `device ${JSON.stringify(s.row.DeviceId)} is no longer in the database`;
  if (payload.powershell && device.os !== 'windows')
    return `a PowerShell action needs a Windows device (spec.os: windows); ${device.name} is ${device.os ?? 'of no declared OS'}`;
  return {
    actionId: s.row.ActionId,
    type: s.row.ActionType,
    device: { name: device.name, host: device.host, os: device.os, transport: { ...device.transport } },
    command: payload.command,
    ...(payload.powershell ? { powershell: true } : {}),
    timeoutMs: payload.timeoutMs,
    connectTimeoutMs: payload.connectTimeoutMs,
    expiresAt: s.expiresAt,
  };
}
