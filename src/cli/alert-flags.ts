import { Args, Flags } from '@oclif/core';

/** What rmm alerts ack, snooze and resolve share: the ids, and who acts. */
export const alertIdsArg = {
  id: Args.string({
    description:
      'Alert ids (rmm alerts list), or unique starts of them; several are changed together or not at all.',
    required: true,
  }),
};

export const byFlag = {
  by: Flags.string({
    aliases: ['actor'],
    summary: 'Who does it, for the alert and AuditLog (default: $RMM_ACTOR, else the OS user).',
  }),
};
