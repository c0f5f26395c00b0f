/**
 * The wire protocol between the console and its relay agents (docs/relay-nats.md): JetStream
 * streams, subjects and consumer names. The relay agent (`rmm relay`) follows the same names, and
 * `rmm relay config` grants each relay exactly the subjects below for its own name.
 */
export const WORK_STREAM = 'RMM_WORK';
export const RESULTS_STREAM = 'RMM_RESULTS';
export const WIRE_VERSION = 1;

/** Work for one relay: `rmm.work.<relay>`. Relay names are metadata names, valid subject tokens. */
export const workSubject = (relay: string) => `rmm.work.${relay}`;
/** Reports from one relay: it may publish only here, so the subject says who sent a report. */
export const resultsSubject = (relay: string) => `rmm.results.${relay}`;
/** The relay's durable pull consumer of its work. */
export const workConsumer = (relay: string) => relay;
/** The console's durable pull consumer of one relay's reports. */
export const resultsConsumer = (relay: string) => `console-${relay}`;

/** Each of a report's stdout and stderr, in UTF-8 bytes: the relay cuts and counts the rest. */
export const OUTPUT_CAP_BYTES = 256 * 1024;
export const WORK_MAX_MSG_BYTES = 262_144;
export const RESULTS_MAX_MSG_BYTES = 1_048_576;
const DAY_NS = 24 * 3600 * 1e9;
const ACK_WAIT_NS = 60 * 1e9;

/** The streams as the wire protocol declares them (the client's enum values, spelled as JSON has them). */
export const STREAMS = [
  {
    name: WORK_STREAM,
    subjects: ['rmm.work.*'],
    retention: 'workqueue',
    storage: 'file',
    duplicate_window: DAY_NS,
    max_msg_size: WORK_MAX_MSG_BYTES,
    discard: 'new',
  },
  {
    name: RESULTS_STREAM,
    subjects: ['rmm.results.*'],
    retention: 'workqueue',
    storage: 'file',
    duplicate_window: DAY_NS,
    max_msg_size: RESULTS_MAX_MSG_BYTES,
  },
] as const;

/** The two durable pull consumers of one relay's route. */
export function consumersOf(relay: string) {
  return [
    {
      stream: WORK_STREAM,
      config: {
        durable_name: workConsumer(relay),
        filter_subject: workSubject(relay),
        ack_policy: 'explicit',
        ack_wait: ACK_WAIT_NS,
        max_deliver: -1,
        deliver_policy: 'all',
      },
    },
    {
      stream: RESULTS_STREAM,
      config: {
        durable_name: resultsConsumer(relay),
        filter_subject: resultsSubject(relay),
        ack_policy: 'explicit',
        ack_wait: ACK_WAIT_NS,
        deliver_policy: 'all',
      },
    },
  ] as const;
}
