import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

/** Runs bin/run.js on this Node.js, made to report another version before anything loads. */
function runOn(version: string, args: string[]) {
  const pretend = `data:text/javascript,Object.defineProperty(process.versions,'node',{value:'${version}'})`;
  return execa('node', ['--import', pretend, path.join(repoRoot, 'bin', 'run.js'), ...args], {
    cwd: repoRoot,
    reject: false,
    stdin: 'ignore',
    env: { NODE_ENV: undefined, NO_COLOR: '1' },
  });
}

describe('the Node.js version is checked first', () => {
  it.each(['20.18.3', '18.20.4', '16.0.0'])('Node.js %s is refused with a plain message', async (version) => {
    const result = await runOn(version, ['get', 'devices']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `rmm needs Node.js 20.19 or newer; this is Node.js ${version} (${process.execPath}).\n` +
        'Install a current Node.js LTS (https://nodejs.org) and run rmm with it.',
    );
  });

  it.each(['20.19.0', '22.1.0'])('Node.js %s runs rmm', async (version) => {
    const result = await runOn(version, ['--version']);
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(result.stdout).toMatch(/^rmm\/\d+\.\d+\.\d+ /);
  });
});
