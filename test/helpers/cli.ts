import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

/** The repository root, which holds bin/run.js and the compiled commands under dist/. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(repoRoot, 'bin', 'run.js');
const AS_NOBODY = ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'];
/** What the CLI reads at run time: copied for nobody when the clone is out of its reach. */
const RUNTIME = [
  'package.json',
  'bin',
  'dist',
  'node_modules',
  'plugins',
  'schemas',
  'collectors',
  'policies',
];

let nobodyBin: string | undefined;
/**
 * bin/run.js as nobody can run it. A clone under /root (mode 0700, where CI clones as root) is out of
 * nobody's reach, so the CLI's run-time files are then linked (or, across file systems, copied) once
 * per test process into a folder nobody may read, removed when the process exits.
 */
function binForNobody(): string {
  if (nobodyBin) return nobodyBin;
  if (spawnSync('setpriv', [...AS_NOBODY, 'test', '-r', bin]).status === 0) {
    nobodyBin = bin;
    return bin;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-cli-for-nobody-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  for (const entry of RUNTIME) {
    const from = path.join(repoRoot, entry);
    if (!existsSync(from)) continue;
    if (spawnSync('cp', ['-al', from, dir]).status === 0) continue;
    const copied = spawnSync('cp', ['-a', from, dir], { encoding: 'utf8' });
    if (copied.status !== 0) throw new Error(`cannot copy ${from} for nobody: ${copied.stderr}`);
  }
  nobodyBin = path.join(dir, 'bin', 'run.js');
  return nobodyBin;
}

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
    : execa(
        asNobody ? 'setpriv' : 'node',
        [...(asNobody ? [...AS_NOBODY, 'node', binForNobody()] : [bin]), ...args],
        {
          ...execaOptions(asNobody ? { ...options, env: { HOME: '/nonexistent', ...options.env } } : options),
          ...(options.input === undefined ? { stdin: 'ignore' } : { input: options.input }),
        },
      ));
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
