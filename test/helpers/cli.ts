import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

/** The repository root, which holds bin/run.js and the compiled commands under dist/. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(repoRoot, 'bin', 'run.js');

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
}

/**
 * Runs the real CLI (`node bin/run.js ...`) as a user would, in its own process. Never rejects:
 * the exit code is part of what tests assert. Needs a build (`npx tsc -p tsconfig.build.json`).
 */
export async function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  const result = await (options.input === undefined
    ? spawnCli(args, options)
    : execa('node', [bin, ...args], { ...execaOptions(options), input: options.input }));
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
