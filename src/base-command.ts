import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { ExitCode, isRmmError } from './errors.js';
import { resolveDataDir } from './paths.js';

/**
 * What every rmm command shares: the one place where errors become a message on stderr and an exit
 * code (docs/cli.md lists them). Commands themselves never catch.
 */
/** For the commands that use the database: where it lives. */
export const dataDirFlags = {
  'data-dir': Flags.directory({
    summary: 'Runtime home holding devices.db, cache/ and archive/.',
    description:
      'Defaults to $RMM_DATA_DIR, else ./data under the current directory. Exit 6 when it cannot be used (a file, not reachable, not creatable, devices.db unreadable or not SQLite).',
    helpGroup: 'GLOBAL',
  }),
};

export abstract class RmmCommand extends Command {
  /** The data directory chosen by flag, environment or default. */
  protected dataDir(flags: { 'data-dir'?: string | undefined }): string {
    return resolveDataDir(flags['data-dir']);
  }

  protected override async catch(error: Interfaces.CommandError): Promise<unknown> {
    if (isRmmError(error)) {
      const text = [error.message, ...error.details.map((d) => `  ${d}`)].join('\n');
      if (this.jsonEnabled()) {
        this.logJson({ error: { code: error.code, message: error.message, details: error.details } });
        this.exit(error.exitCode);
      }
      this.logToStderr(`Error: ${text}`);
      this.exit(error.exitCode);
    }
    // oclif's own usage errors (unknown flag, missing argument) exit with the usage code.
    if (error instanceof Errors.CLIError && !(error instanceof Errors.ExitError) && error.oclif?.exit === 2) {
      (error as { oclif: { exit: number } }).oclif = { exit: ExitCode.usage };
    }
    if (!(error instanceof Errors.CLIError) && !('oclif' in error)) {
      // Not a failure rmm foresaw: say so, so that it gets reported rather than worked around.
      this.logToStderr(
        [
          `Error: ${error.message}`,
          '  This is a bug in rmm, not in your input. Please report it with the command you ran;',
          `  run it again with DEBUG=rmm to see where it happened.`,
        ].join('\n'),
      );
      if (process.env.DEBUG) this.logToStderr(error.stack ?? '');
      this.exit(ExitCode.error);
    }
    return super.catch(error);
  }
}
