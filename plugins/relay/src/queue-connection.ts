import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { Fail, QueueConnection, QueuedAction, ReceivedReport, SubmitOutcome } from 'rmm/plugin';
import { natsFailure } from './nats-errors.js';
import type { Borrowed } from './nats-pool.js';
import { parseReport } from './report.js';
import {
  RESULTS_STREAM,
  resultsConsumer,
  WORK_MAX_MSG_BYTES,
  WORK_STREAM,
  workConsumer,
  workSubject,
} from './wire.js';
import { workMessageBody } from './work-message.js';

/** How many publishes wait for their PubAck at once: enough to fill a link, few enough to bound memory. */
const PUBLISH_WINDOW = 256;
/** The NATS client's shortest pull (it refuses less than a second). */
const MIN_PULL_MS = 1000;

/**
 * `submit` answers `accepted: false` only when NATS refused the action (nothing is queued); when the
 * answer is missing (NATS went away mid-publish) it rejects with an `unreachable` TransportError,
 * since the action may be queued: the core submits it again, and the same ActionId is queued once.
 */
export interface RelayQueueConnection extends QueueConnection {
  /** What opening found and left as it is (streams or consumers with other settings). */
  readonly notes: readonly string[];
}

/**
 * One route's queue over a pooled NATS connection (wire protocol: docs/relay-nats.md). JetStream
 * makes the two moments explicit: a work message is accepted when its PubAck arrives (the receipt is
 * its stream sequence), and a report is done when the console acks it after storing it.
 */
export function relayQueueConnection(
  relay: string,
  borrowed: Borrowed,
  notes: readonly string[],
  fail: Fail,
  now: () => Date,
): RelayQueueConnection {
  const { js, jsm } = borrowed.shared;
  /** Reports handed out and not acked yet: nak'd on close, so a reopen gets them at once. */
  const unacked = new Set<JsMsg>();
  let closed = false;
  let results: Promise<Consumer> | undefined;
  const ensureOpen = () => {
    if (closed) throw fail('protocol', `the queue of relay ${relay} is closed`);
  };

  const submitOne = async (action: QueuedAction): Promise<SubmitOutcome> => {
    const body = workMessageBody(action);
    const size = Buffer.byteLength(body);
    if (size > WORK_MAX_MSG_BYTES)
      return {
        actionId: action.actionId,
        accepted: false,
        error: `the action is ${size} bytes as a work message, over the relay queue's cap of ${WORK_MAX_MSG_BYTES}`,
      };
    try {
      const ack = await js.publish(workSubject(relay), body, {
        msgID: action.actionId,
        expect: { streamName: WORK_STREAM },
      });
      // A duplicate (published before, within the 24 h window) carries the first one's sequence.
      return { actionId: action.actionId, accepted: true, receipt: String(ack.seq) };
    } catch (error) {
      if (!definitelyNotQueued(error))
        // No answer: the message may be on disk. The core keeps the row Pending with its intent and
        // submits it again later; the same ActionId is then queued once.
        throw natsFailure(
          error,
          `NATS did not confirm the work for relay ${relay}; it may be queued, and submitting it again queues it once`,
          fail,
        );
      if (noStream(error)) {
        // The streams are gone (a NATS whose store was lost or wiped): the next open creates them.
        borrowed.shared.ensured.clear();
        return {
          actionId: action.actionId,
          accepted: false,
          error: `no JetStream stream takes ${workSubject(relay)}: NATS lost or removed ${WORK_STREAM} (and what it held), or JetStream is off; the next run creates the stream again`,
        };
      }
      const failure = natsFailure(error, `relay ${relay}'s queue did not accept the action`, fail);
      return { actionId: action.actionId, accepted: false, error: failure.message };
    }
  };

  return {
    notes,
    async submit(actions, options) {
      ensureOpen();
      const outcomes: SubmitOutcome[] = new Array(actions.length);
      for (let start = 0; start < actions.length; start += PUBLISH_WINDOW) {
        if (options?.signal?.aborted) {
          for (let i = start; i < actions.length; i++)
            outcomes[i] = {
              actionId: (actions[i] as QueuedAction).actionId,
              accepted: false,
              error: 'cancelled before it was queued',
            };
          break;
        }
        const window = actions.slice(start, start + PUBLISH_WINDOW);
        const done = await Promise.all(window.map(submitOne));
        done.forEach((outcome, i) => {
          outcomes[start + i] = outcome;
        });
      }
      return outcomes;
    },

    async fetch({ max, waitMs, signal }) {
      ensureOpen();
      if (max < 1 || signal?.aborted) return [];
      try {
        results ??= js.consumers.get(RESULTS_STREAM, resultsConsumer(relay));
        const consumer = await results.catch((error) => {
          results = undefined;
          throw error;
        });
        // A pull of N ends when N arrived or it expires: asking for what waits (at least one) returns
        // as soon as it is here, instead of waiting out the expiry for a batch that never fills.
        const info = await consumer.info(false);
        const waiting = info.num_pending;
        // Reports handed out and not acked (given back on close, or by a console that died) come
        // back without counting as pending; those this connection holds are not coming.
        const comingBack = info.num_ack_pending - unacked.size;
        if (waiting === 0 && comingBack <= 0 && waitMs < MIN_PULL_MS) return [];
        const batch = Math.max(1, Math.min(max, waiting));
        const messages = await consumer.fetch({
          max_messages: batch,
          expires: Math.max(waitMs, MIN_PULL_MS),
        });
        const stop = () => messages.stop();
        signal?.addEventListener('abort', stop, { once: true });
        // Aborted while the pull was being set up: the listener came too late to hear it.
        if (signal?.aborted) stop();
        const received: ReceivedReport[] = [];
        try {
          for await (const m of messages) {
            unacked.add(m);
            received.push({ report: parseReport(m.data, now()), handle: m });
            if (received.length >= batch) break;
          }
        } finally {
          signal?.removeEventListener('abort', stop);
        }
        return received;
      } catch (error) {
        throw natsFailure(error, `cannot fetch the reports of relay ${relay}`, fail);
      }
    },

    async ack(reports) {
      ensureOpen();
      const results = await Promise.all(
        reports.map(async ({ handle }) => {
          const m = handle as JsMsg;
          try {
            // ackAck: the server confirmed the ack, so the report will not come back.
            const confirmed = await m.ackAck();
            if (confirmed) unacked.delete(m);
            return confirmed;
          } catch {
            return false;
          }
        }),
      );
      const missed = results.filter((ok) => !ok).length;
      if (missed > 0)
        throw fail(
          'unreachable',
          `NATS did not confirm the ack of ${missed} of ${reports.length} reports of relay ${relay}; unless it arrived after all, they come back within the 60 s ack wait`,
        );
    },

    async cancel(actionId, receipt) {
      ensureOpen();
      const seq = Number(receipt);
      if (!Number.isSafeInteger(seq) || seq < 1) return 'unknown';
      try {
        const takenUpTo = async () =>
          (await jsm.consumers.info(WORK_STREAM, workConsumer(relay))).delivered.stream_seq;
        if ((await takenUpTo()) >= seq) return 'too-late';
        const stored = await jsm.streams.getMessage(WORK_STREAM, { seq }).catch(() => null);
        // Gone: the relay took it and acked it (a work queue removes what was acked).
        if (!stored) return 'too-late';
        if (stored.header?.get('Nats-Msg-Id') !== actionId) return 'unknown';
        await jsm.streams.deleteMessage(WORK_STREAM, seq, false);
        // Taken between the first look and the delete: the relay has it and may run it.
        return (await takenUpTo()) >= seq ? 'too-late' : 'withdrawn';
      } catch {
        return 'unknown';
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const m of unacked) m.nak();
      unacked.clear();
      await borrowed.release();
    },
  };
}

/**
 * A publish the server answered with a refusal (a JetStream error: stream full, no stream for the
 * subject, a permission violation) stored nothing. Anything else (a timeout, a connection lost
 * before the PubAck) may have stored it.
 */
/** Nobody answered the publish: no stream takes the subject (or JetStream is off). Nothing stored. */
function noStream(error: unknown): boolean {
  const e = error as { name?: string; cause?: { name?: string } };
  return e.name === 'JetStreamNotEnabled' || e.name === 'NoResponders' || e.cause?.name === 'NoResponders';
}

function definitelyNotQueued(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  if (e.name === 'JetStreamApiError' || noStream(error)) return true;
  return /Permissions Violation/i.test(e.message ?? '');
}
