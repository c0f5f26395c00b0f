import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const script = path.join(repoRoot, 'scripts', 'test-setup.sh');
let stubs: string;

/** scripts/test-setup.sh --check, with the stub commands in `dir` first on PATH. */
function check(dir?: string) {
  return execa(script, ['--check'], {
    cwd: repoRoot,
    reject: false,
    stdin: 'ignore',
    env: { PATH: dir ? `${dir}:${process.env.PATH}` : (process.env.PATH ?? '') },
  });
}

async function stub(dir: string, name: string, body: string): Promise<void> {
  await writeFile(path.join(dir, name), `#!/bin/sh\n${body}\n`);
  await chmod(path.join(dir, name), 0o755);
}

beforeAll(async () => {
  stubs = await mkdtemp(path.join(os.tmpdir(), 'rmm-test-setup-'));
});
afterAll(async () => {
  await rm(stubs, { recursive: true, force: true });
});

describe('scripts/test-setup.sh', () => {
  it('finds everything installed here, where the tests run', async () => {
    const result = await check();
    expect(result.stderr).toBe(
      'test-setup: Debian packages already installed: openssh-server procps python3-winrm python3-aiosmtpd openssl iproute2 nats-server samba smbclient',
    );
    expect(result.exitCode).toBe(0);
  });

  it('names a missing Debian package and how to install it', async () => {
    const dir = path.join(stubs, 'dpkg');
    await execa('mkdir', ['-p', dir]);
    // dpkg-query as on a machine without python3-winrm; the others as they are.
    const real = (await execa('sh', ['-c', 'command -v dpkg-query'])).stdout;
    await stub(
      dir,
      'dpkg-query',
      `for a; do p=$a; done\n[ "$p" = python3-winrm ] && exit 1\nexec ${real} "$@"`,
    );
    const result = await check(dir);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      'test-setup: missing Debian packages: python3-winrm (install them with: apt-get install python3-winrm)',
    );
  });

  it.each(['20.18.0', '18.19.1'])('refuses Node.js %s first, plainly', async (version) => {
    const dir = path.join(stubs, `node-${version}`);
    await execa('mkdir', ['-p', dir]);
    await stub(dir, 'node', `echo ${version}`);
    const result = await check(dir);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `test-setup: rmm needs Node.js 20.19 or newer; this is Node.js ${version}: install a current LTS (https://nodejs.org)`,
    );
  });

  it('with --runtime, needs no test packages', async () => {
    const result = await execa(script, ['--check', '--runtime'], {
      cwd: repoRoot,
      reject: false,
      stdin: 'ignore',
    });
    expect(result.stderr).toBe('test-setup: no Debian packages needed');
    expect(result.exitCode).toBe(0);
  });

  it('refuses an unknown option', async () => {
    const result = await execa(script, ['--chek'], { cwd: repoRoot, reject: false, stdin: 'ignore' });
    expect(result.stderr).toBe('test-setup: unknown option --chek (use --check, --runtime)');
    expect(result.exitCode).toBe(64);
  });

  it('is the README setup and test lines, and what CI runs', async () => {
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const lines = /```sh\n([^\n]*)\n([^\n]*)\n```/.exec(readme);
    expect(lines?.[1]).toBe(
      'npm run setup && ./bin/run.js init && ./bin/run.js apply -f policies -f examples -R --auto-approve',
    );
    expect(lines?.[2]).toBe('npm run test:all');
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8'));
    expect(pkg.scripts.setup).toBe('scripts/test-setup.sh --runtime');
    expect(pkg.scripts['test:all']).toBe('scripts/test-setup.sh && npm test');
    const ci = await readFile(path.join(repoRoot, '.ci', 'run'), 'utf8');
    expect(ci.trimEnd().split('\n').at(-1)).toBe('npm run test:all');
  });
});
