import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

/** The repository root, which holds bin/run.js and the compiled commands under dist/. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(repoRoot, 'bin', 'run.js');
const NOBODY = ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups', 'node'];

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  /** Added to a clean environment; a key set to undefined is removed. */
  env?: Record<string, string | undefined>;
  /** runCli only: piped to the CLI's stdin, which is then closed; without it, stdin is not connected. */
  input?: string | Uint8Array;
  /**
   * runCli only: run as a user whom permission bits stop. Root ignores them, so as root the CLI runs
   * as nobody (setpriv); as anyone else, as that user. Paths it uses must be reachable by nobody.
   */
  unprivileged?: boolean;
}

/**
 * Runs the real CLI (`node bin/run.js ...`) as a user would, in its own process. Never rejects:
 * the exit code is part of what tests assert. Needs a build (`npx tsc -p tsconfig.build.json`).
 */
export async function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  const asNobody = options.unprivileged === true && process.getuid?.() === 0;
  const result = await (options.input === undefined && !asNobody
    ? spawnCli(args, options)
    : execa(asNobody ? 'setpriv' : 'node', [...(asNobody ? NOBODY : []), bin, ...args], {
        ...execaOptions(asNobody ? { ...options, env: { HOME: '/nonexistent', ...options.env } } : options),
        ...(options.input === undefined ? { stdin: 'ignore' } : { input: options.input }),
      }));
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The same, as a running process: for tests that signal it (SIGINT, SIGKILL) while it works. Output
 * is collected as text; the promise never rejects.
 */
export function spawnCli(
  args: readonly string[],
  options: CliOptions,
): ResultPromise<{ reject: false; stdin: 'ignore' }> {
  return execa('node', [bin, ...args], { ...execaOptions(options), stdin: 'ignore' });
}

function execaOptions(options: CliOptions) {
  if (!existsSync(path.join(repoRoot, 'dist', 'commands'))) {
    throw new Error('dist/commands is missing: build first with `npx tsc -p tsconfig.build.json`');
  }
  // The caller's RMM_DATA_DIR must not leak into a test; color codes would break string assertions;
  // vitest's NODE_ENV=test would make oclif look for TypeScript sources instead of running dist/.
  const env: Record<string, string | undefined> = {
    ...process.env,
    RMM_DATA_DIR: undefined,
    NODE_ENV: undefined,
    NO_COLOR: '1',
  };
  for (const [key, value] of Object.entries(options.env ?? {})) env[key] = value;
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return { cwd: options.cwd, env, extendEnv: false, reject: false } as const;
}
