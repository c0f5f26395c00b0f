import { Flags } from '@oclif/core';

/** The flags every command that runs actions shares (rmm exec, rmm inventory collect, rmm actions run). */
export const runnerFlags = {
  concurrency: Flags.integer({
    char: 'c',
    summary: 'At most this many at once per transport.',
    default: 200,
    min: 1,
  }),
  actor: Flags.string({
    summary: 'Who runs it, for Actions.CreatedBy and AuditLog (default: $RMM_ACTOR, else the OS user).',
  }),
  json: Flags.boolean({ summary: 'NDJSON events on stdout: one per state change, then a summary.' }),
};

/** The flags of the commands that queue new actions on selected devices (rmm exec, rmm inventory collect). */
export const queueingFlags = {
  target: Flags.string({
    char: 't',
    summary: 'Which devices: name=, site=, group=, label.KEY= (see rmm exec --help). Repeat to add.',
    multiple: true,
    required: true,
  }),
  'connect-timeout': Flags.integer({
    summary: 'Seconds to wait for a connection, counted from when its slot opens.',
    default: 15,
    min: 1,
  }),
  at: Flags.string({
    summary: 'Only queue the actions, due at this time (ISO 8601 date-time); rmm actions run runs them.',
    description:
      'Stored in UTC. Examples: 2026-11-27T03:00:00Z, 2026-11-27T04:00+01:00, 2026-11-27 03:00 (local time).',
  }),
};
