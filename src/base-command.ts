import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { ExitCode, isRmmError } from './errors.js';
import { resolveDataDir } from './paths.js';
import { printable, printableLines } from './printable.js';
import { printableOutput } from './views/output.js';

/**
 * What every rmm command shares: the one place where errors become a message on stderr and an exit
 * code (docs/cli.md lists them). Commands themselves never catch.
 */
/** For the commands that use the database: where it lives. */
export const dataDirFlags = {
  'data-dir': Flags.directory({
    summary: 'Runtime home holding devices.db, cache/ and archive/.',
    description:
      'Defaults to $RMM_DATA_DIR, else ./data under the current directory. Exit 7 when it cannot be used (a file, not reachable, not creatable, devices.db unreadable or not SQLite).',
    helpGroup: 'GLOBAL',
  }),
};

/** validate, plan and apply: what a transport type no installed plugin provides is. */
export const unknownTransportsFlags = {
  'allow-unknown-transports': Flags.boolean({
    summary:
      'Accept transport types no installed plugin provides (one warning; their options are not checked).',
    description:
      'Without it such a type is an error at its line, with a did-you-mean (a typo such as type: sssh). For repositories that declare devices for a plugin installed only where rmm applies them.',
  }),
};

/**
 * -o/--output is the output format in every command that has more than one (as in kubectl), and
 * --json its shorthand for -o json. No command uses -o or --output for anything else (a file or a
 * folder is --out or --dir): test/commands/flag-meanings.test.ts holds every flag to one meaning.
 */
export function outputFlags<const F extends string>(formats: readonly F[], fallback: F) {
  return {
    output: outputFlag(formats, fallback),
    json: Flags.boolean({ summary: 'Same as -o json.', helpGroup: 'GLOBAL' }),
  };
}

/** -o/--output alone, for the commands whose --json is oclif's own (enableJsonFlag). */
export function outputFlag<const F extends string>(formats: readonly F[], fallback: F) {
  return Flags.string({
    char: 'o',
    summary: `Output format: ${formats.join(', ')}.`,
    options: [...formats],
    default: fallback,
    exclusive: ['json'],
  });
}

/** Said under a bad -o value: rmm plan -o FILE once saved a plan; --out does now. */
const OUTPUT_HINT = '-o is the output format; a plan is saved with --out FILE';

/** The format chosen with -o or --json. */
export function outputFormat<F extends string>(flags: { output: string; json: boolean }): F {
  return (flags.json ? 'json' : flags.output) as F;
}

type Output = { [name: string]: unknown };

export abstract class RmmCommand extends Command {
  /** Set when -o json chose oclif's JSON output (the commands with enableJsonFlag and -o). */
  private jsonByOutput = false;

  override jsonEnabled(): boolean {
    return this.jsonByOutput || super.jsonEnabled();
  }

  // -o json means what --json means; oclif only looks for the literal --json in argv.
  protected override async parse<F extends Output, B extends Output, A extends Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv);
    if (this.ctor.enableJsonFlag && (parsed.flags as { output?: unknown }).output === 'json')
      this.jsonByOutput = true;
    return parsed;
  }

  // Everything a command prints passes here, so no message can carry a control sequence from its
  // input to the terminal (src/printable.ts); JSON stays valid and equal in value.
  override log(message = '', ...args: unknown[]): void {
    super.log(printableOutput(message), ...args);
  }

  override logToStderr(message = '', ...args: unknown[]): void {
    super.logToStderr(printableOutput(message), ...args);
  }

  /** The data directory chosen by flag, environment or default. */
  protected dataDir(flags: { 'data-dir'?: string | undefined }): string {
    return resolveDataDir(flags['data-dir']);
  }

  protected override async catch(error: Interfaces.CommandError): Promise<unknown> {
    if (isRmmError(error)) {
      // A message and each detail are one line: a newline from the input must not forge another.
      const text = [printable(error.message), ...error.details.map((d) => `  ${printable(d)}`)].join('\n');
      if (this.jsonEnabled()) {
        this.logJson({ error: { code: error.code, message: error.message, details: error.details } });
        this.exit(error.exitCode);
      }
      this.logToStderr(`Error: ${text}`);
      this.exit(error.exitCode);
    }
    // oclif prints its own errors, which repeat what was typed (an unknown argument, say).
    if (error instanceof Errors.CLIError) error.message = printableLines(error.message);
    // oclif's own usage errors (unknown flag, missing argument) exit with the usage code.
    if (error instanceof Errors.CLIError && !(error instanceof Errors.ExitError) && error.oclif?.exit === 2) {
      (error as { oclif: { exit: number } }).oclif = { exit: ExitCode.usage };
      if (/^Expected --output=/.test(error.message))
        error.message = error.message.replace(/\n|$/, `\n${OUTPUT_HINT}\n`).trimEnd();
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
