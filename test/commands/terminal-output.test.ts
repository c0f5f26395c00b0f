import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';

/**
 * Text from YAML, file names, the database and devices never reaches the operator's terminal as
 * control sequences (issue 11): ESC[2J clears a screen, OSC sequences set titles, links and the
 * clipboard, and a bidi override (Trojan Source) shows text in another order than it is. Each output
 * path shows them as visible escapes; JSON keeps the exact values (JSON.stringify escapes them).
 */
const ESC = '\u001b';
const RLO = '\u202e';
/** In YAML's double-quoted form: ESC[2J (clear screen) and a right-to-left override. */
const HOSTILE_YAML = String.raw`wipe\e[2Jscreen\u202Eevil`;
const HOSTILE = `wipe${ESC}[2Jscreen${RLO}evil`;
const SHOWN = String.raw`wipe\u001b[2Jscreen\u202eevil`;

let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
const rmm = (...args: string[]) => runCli(args, { cwd, env });

/** What a person at a terminal would see: no raw control character but newlines, the escape instead. */
function expectNeutralised(output: string, shown = SHOWN): void {
  expect(output).not.toContain(ESC);
  expect(output).not.toContain(RLO);
  expect(output).toContain(shown);
}

const site = (displayName: string) =>
  `apiVersion: rmm/v1\nkind: Site\nmetadata:\n  name: alpha\nspec:\n  displayName: "${displayName}"\n  location: "left\\u202Eright"\n`;

beforeAll(async () => {
  let transport: string;
  ({ sshd, cwd, env, transport } = await sshWorkspace('rmm-printable-'));
  await applyDevices(
    { cwd, env },
    `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: here}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: linux\n  transport: {${transport}}\n`,
  );
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await rm(cwd, { recursive: true, force: true });
});

describe('what rmm prints never carries control sequences from its input', () => {
  it('validate: a file name and a key with ESC[2J and a bidi override', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-printable-validate-'));
    try {
      await writeFile(path.join(dir, `f${ESC}[2J${RLO}.yaml`), `${site('ok')}  "${HOSTILE_YAML}": 1\n`);
      const result = await runCli(['validate', '-f', '.'], { cwd: dir, env });
      expect(result.exitCode).toBe(1);
      expectNeutralised(result.stdout);
      expect(result.stdout).toContain(String.raw`f\u001b[2J\u202e.yaml:8:3: Site/alpha: unknown field`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a key with a newline cannot forge a line of its own', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-printable-validate-'));
    try {
      await writeFile(path.join(dir, 'site.yaml'), `${site('ok')}  "x\\nValid: all is well": 1\n`);
      const result = await runCli(['validate', '-f', 'site.yaml'], { cwd: dir, env });
      expect(result.exitCode).toBe(1);
      expect(result.stdout).not.toMatch(/^Valid: all is well/m);
      // Messages quote a key as JSON does (src/quote.ts), so its newline shows as \n.
      expect(result.stdout).toContain(String.raw`"x\nValid: all is well"`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('plan and apply show a hostile value escaped; get shows it escaped in its table', async () => {
    await writeFile(path.join(cwd, 'site.yaml'), site(HOSTILE_YAML));
    const plan = await rmm('plan', '-f', 'site.yaml');
    expect(plan.exitCode, plan.stderr).toBe(0);
    expectNeutralised(plan.stdout);

    const apply = await rmm('apply', '-f', 'site.yaml', '--auto-approve');
    expect(apply.exitCode, apply.stderr).toBe(0);
    expectNeutralised(apply.stdout);

    const table = await rmm('get', 'sites');
    expect(table.exitCode, table.stderr).toBe(0);
    expectNeutralised(table.stdout);
    expect(table.stdout).toMatch(/^alpha +wipe\\u001b\[2Jscreen\\u202eevil +/m);

    // YAML reads the escapes back as the values: a string that needs one is double-quoted.
    for (const command of [['get', 'sites', 'alpha', '-o', 'yaml'], ['export']]) {
      const yaml = await rmm(...command);
      expect(yaml.exitCode, yaml.stderr).toBe(0);
      expectNeutralised(yaml.stdout, String.raw`wipe\e[2Jscreen\u202eevil`);
      const alpha = parseAllDocuments(yaml.stdout)
        .map((d) => d.toJS())
        .find((r) => r.metadata.name === 'alpha');
      expect(alpha.spec).toMatchObject({ displayName: HOSTILE, location: `left${RLO}right` });
    }
    // JSON keeps the exact value: JSON.stringify escapes control characters itself.
    const json = JSON.parse((await rmm('get', 'sites', 'alpha', '-o', 'json')).stdout);
    expect(json[0].spec.displayName).toBe(HOSTILE);
  });

  it('a device cannot rewrite the terminal: exec and actions show escape its output, JSON keeps it exact', async () => {
    // ESC[2J, an OSC 52 clipboard write, a bidi override, a carriage return that would hide the line.
    const command = String.raw`printf 'wipe\033[2Jscreen\342\200\256evil\n\033]52;c;ZXZpbA==\007\rhidden\r\nend\n'`;
    const exec = await rmm('exec', '-t', 'name=here', '--', command);
    expect(exec.exitCode, exec.stderr).toBe(0);
    expectNeutralised(exec.stdout);
    expect(exec.stdout).toContain(String.raw`\u001b]52;c;ZXZpbA==\u0007\u000dhidden`);
    expect(exec.stdout).not.toContain('\u0007');
    // A line ending in CR LF (as Windows devices end lines) is left as it is.
    expect(exec.stdout).toContain('hidden\r\nend');

    const json = await rmm('exec', '-t', 'name=here', '--json', '--', command);
    const ended = json.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .find((event) => event.status === 'Succeeded');
    expect(ended.stdout).toBe(`wipe${ESC}[2Jscreen${RLO}evil\n${ESC}]52;c;ZXZpbA==\u0007\rhidden\r\nend\n`);

    const id = ended.id as string;
    const show = await rmm('actions', 'show', id);
    expect(show.exitCode, show.stderr).toBe(0);
    expectNeutralised(show.stdout);
    const detail = JSON.parse((await rmm('actions', 'show', id, '-o', 'json')).stdout);
    expect(detail.result.stdout).toBe(ended.stdout);
  });

  it('an error message quotes what the user typed escaped', async () => {
    const missing = await rmm('get', 'devices', `x${ESC}[2J${RLO}`);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).not.toContain(ESC);
    expect(missing.stderr).toContain(String.raw`Device/x\u001b[2J\u202e is not in the database`);

    // oclif's own usage errors repeat the argument too.
    const usage = await rmm('get', `sites${ESC}[2J`);
    expect(usage.exitCode).toBe(64);
    expect(usage.stderr).not.toContain(ESC);
    expect(usage.stderr).toContain(String.raw`sites\u001b[2J`);
  });
});
