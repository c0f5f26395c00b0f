/**
 * One error family for everything rmm reports to a user. Commands never catch: the base command turns
 * an RmmError into its message and exit code in one place; anything else is a bug and says so.
 */

/** Process exit codes. Documented in docs/cli.md; never reuse a number for another meaning. */
export const ExitCode = {
  ok: 0,
  /** Invalid input, or an operation that failed (nothing was changed). */
  error: 1,
  /**
   * Something is left to do and nothing was done: the plan has changes (with --detailed-exitcode);
   * rmm hostkeys scan showed new host keys it did not record.
   */
  changes: 2,
  /**
   * Refused for safety: destructive steps without --allow-destructive; resources another apply set
   * owns; a host key that changed; a second rmm serve against a database one already serves.
   */
  refused: 3,
  /** The plan destroys more than --max-destroy allows. */
  destroyLimit: 4,
  /**
   * Another writer holds the database's write lock past apply's --lock-timeout, or past a runner's
   * busy timeout at start-up or its bounded retries of writing results (exec, actions run).
   */
  locked: 5,
  /** The user answered the apply prompt with anything but yes: nothing was changed. */
  declined: 6,
  /** The data directory or its database cannot be used: not a directory, no permission, not SQLite. */
  dataDir: 7,
  /** Bad flags or arguments. */
  usage: 64,
  /**
   * Some actions are still queued (Delivered or Running at a relay) when rmm exec stopped waiting:
   * EX_TEMPFAIL; their results arrive with rmm serve or rmm actions collect.
   */
  queued: 75,
  /**
   * Interrupted (Ctrl-C, SIGINT; runners also SIGTERM and SIGHUP): what was running was stopped.
   * 128 + SIGINT, as shells report it.
   */
  cancelled: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type RmmErrorCode =
  | 'invalid-input'
  | 'invalid-schema'
  | 'database'
  | 'migration-failed'
  | 'destructive-refused'
  | 'destroy-limit'
  | 'ownership-conflict'
  | 'service-running'
  | 'locked'
  | 'stale-plan'
  | 'not-found'
  | 'declined'
  | 'data-dir'
  | 'usage';

const exitCodeOf: Record<RmmErrorCode, ExitCode> = {
  'invalid-input': ExitCode.error,
  'invalid-schema': ExitCode.error,
  database: ExitCode.error,
  'migration-failed': ExitCode.error,
  'destructive-refused': ExitCode.refused,
  'destroy-limit': ExitCode.destroyLimit,
  'ownership-conflict': ExitCode.refused,
  'service-running': ExitCode.refused,
  locked: ExitCode.locked,
  'stale-plan': ExitCode.error,
  'not-found': ExitCode.error,
  declined: ExitCode.declined,
  'data-dir': ExitCode.dataDir,
  usage: ExitCode.usage,
};

export class RmmError extends Error {
  override readonly name = 'RmmError';
  readonly code: RmmErrorCode;
  /** Extra lines shown under the message (for example every problem found). */
  readonly details: readonly string[];

  constructor(
    code: RmmErrorCode,
    message: string,
    options: { details?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.details = options.details ?? [];
  }

  get exitCode(): ExitCode {
    return exitCodeOf[this.code];
  }
}

/** Works across module copies (a plugin may bundle its own rmm), like execa's isExecaError. */
export function isRmmError(value: unknown): value is RmmError {
  return value instanceof Error && value.name === 'RmmError' && typeof (value as RmmError).code === 'string';
}
