import { Config } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

/**
 * One flag, one meaning: a user who learns `-o json` in one command must not find that `-o` writes a
 * file named json in another. Every command's flags are walked, as oclif loads them (rmm's own and
 * the installed plugins'), and each name and short form is held to the meaning recorded here. A new
 * flag must be added to this table, which is where a second meaning would be noticed.
 */
type Kind = 'boolean' | 'option';
interface Meaning {
  meaning: string;
  kind: Kind;
  char?: string;
  /** What every flag of this name must satisfy besides, for meanings a name alone cannot pin. */
  check?: (flag: { options?: readonly string[] }) => string | undefined;
}

const FORMATS = ['table', 'text', 'yaml', 'json'];

const MEANINGS: Record<string, Meaning> = {
  output: {
    meaning: 'the output format',
    kind: 'option',
    char: 'o',
    check: (flag) =>
      flag.options?.length && flag.options.every((o) => FORMATS.includes(o))
        ? undefined
        : `--output must be an output format (${FORMATS.join('|')}), not ${JSON.stringify(flag.options ?? 'any value')}`,
  },
  json: { meaning: 'JSON output (documents, or NDJSON events for commands that stream)', kind: 'boolean' },
  out: { meaning: 'a file to write the result to', kind: 'option' },
  dir: { meaning: 'a folder to write files into', kind: 'option' },
  'data-dir': { meaning: 'the runtime home holding devices.db', kind: 'option' },
  filename: { meaning: 'resource YAML to read: a file, a folder or -', kind: 'option', char: 'f' },
  recursive: { meaning: 'include subfolders of -f folders', kind: 'boolean', char: 'R' },
  prune: { meaning: 'destroy managed resources no longer declared', kind: 'boolean' },
  'apply-set': { meaning: 'the apply set that owns what the input declares', kind: 'option' },
  'take-over': { meaning: 'move declared resources another apply set owns into this one', kind: 'boolean' },
  yes: { meaning: 'record without asking', kind: 'boolean', char: 'y' },
  'max-destroy': { meaning: 'refuse plans destroying more than N', kind: 'option' },
  'detailed-exitcode': { meaning: 'exit 2 when there are changes', kind: 'boolean' },
  full: { meaning: 'list every change of a large plan, not counts per kind and site', kind: 'boolean' },
  incremental: {
    meaning: 'leave unread the files as last applied (--no-incremental reads every file)',
    kind: 'boolean',
  },
  replay: { meaning: 'how far back stored samples are replayed through changed monitors', kind: 'option' },
  'no-replay': { meaning: 'replay no stored samples through changed monitors', kind: 'boolean' },
  'auto-approve': { meaning: 'apply without asking', kind: 'boolean' },
  'allow-unknown-transports': {
    meaning: 'accept transport types no installed plugin provides',
    kind: 'boolean',
  },
  actor: { meaning: 'who does it, for AuditLog', kind: 'option' },
  'lock-timeout': { meaning: 'seconds to wait for the write lock', kind: 'option' },
  'allow-destructive': { meaning: 'allow schema steps that lose data', kind: 'boolean' },
  'schema-file': { meaning: 'another database.yaml (tests)', kind: 'option' },
  now: { meaning: "the command's clock, an ISO 8601 time (tests)", kind: 'option' },
  sql: { meaning: 'show the SQL of each step', kind: 'boolean' },
  target: { meaning: 'which things are (or were) acted on', kind: 'option', char: 't' },
  'connect-timeout': { meaning: 'seconds to wait for a connection', kind: 'option' },
  at: { meaning: 'queue only, due at this time', kind: 'option' },
  concurrency: { meaning: 'at most this many at once per transport', kind: 'option', char: 'c' },
  once: { meaning: 'do what is due now, then exit', kind: 'boolean' },
  tick: { meaning: 'seconds between service ticks', kind: 'option' },
  'offline-after': { meaning: 'how long unreachable before the device-offline alert', kind: 'option' },
  'retention-days': { meaning: 'days of samples kept', kind: 'option' },
  timeout: { meaning: 'seconds an action may run', kind: 'option' },
  wait: { meaning: 'how long to wait for results from relays (a duration)', kind: 'option' },
  expire: { meaning: 'deadline of actions sent to relays (a duration)', kind: 'option' },
  priority: { meaning: 'Actions.Priority of queued rows', kind: 'option' },
  powershell: { meaning: 'the command is a PowerShell script', kind: 'boolean' },
  status: { meaning: 'only rows in this status', kind: 'option', char: 's' },
  device: { meaning: "only this device's rows", kind: 'option', char: 'd' },
  limit: { meaning: 'at most this many rows', kind: 'option', char: 'n' },
  since: { meaning: 'only rows since this duration or time', kind: 'option' },
  severity: { meaning: 'only rows of this severity', kind: 'option' },
  state: { meaning: 'only rows in this state', kind: 'option' },
  by: { meaning: 'who does it, recorded in the row and AuditLog (as --actor)', kind: 'option' },
  note: { meaning: 'a note kept in the AuditLog row', kind: 'option' },
  effective: { meaning: "show a device's effective monitors and schedules", kind: 'boolean' },
  until: { meaning: 'until this time, or for this duration', kind: 'option' },
  'console-user': { meaning: "the console's NATS user", kind: 'option' },
  name: { meaning: "a relay's name, its NATS user", kind: 'option' },
  nats: { meaning: 'a NATS server URL', kind: 'option' },
  creds: { meaning: 'a reference to a NATS password (env: or file:)', kind: 'option' },
  'tls-ca': { meaning: "the CA certificate of the servers' certificates", kind: 'option' },
  'drain-timeout': { meaning: 'how long running work may finish on a stop', kind: 'option' },
};

/**
 * oclif's own commands (plugin manager, help) keep npm's and oclif's short forms: `-f` force,
 * `-s` silent, `-v` verbose, `-h` help, `-n` nested commands. rmm cannot rename them; they are
 * listed exactly, so a new clash in them still fails, and docs/cli.md says so.
 */
const OCLIF_PLUGINS = new Set(['@oclif/plugin-plugins', '@oclif/plugin-help']);
const OCLIF_FLAGS: Record<string, Meaning> = {
  force: { meaning: 'npm install --force', kind: 'boolean', char: 'f' },
  silent: { meaning: 'npm install --silent', kind: 'boolean', char: 's' },
  verbose: { meaning: 'show more', kind: 'boolean', char: 'v' },
  help: { meaning: 'show help', kind: 'boolean', char: 'h' },
  'nested-commands': { meaning: 'help: include nested commands', kind: 'boolean', char: 'n' },
  jit: { meaning: 'install just-in-time plugins', kind: 'boolean' },
  core: { meaning: 'show core plugins', kind: 'boolean' },
  install: { meaning: 'plugins link: npm install first', kind: 'boolean' },
  hard: { meaning: 'plugins reset: delete node_modules too', kind: 'boolean' },
  reinstall: { meaning: 'plugins reset: reinstall after', kind: 'boolean' },
  json: MEANINGS.json as Meaning,
};

interface FlagUse {
  command: string;
  name: string;
  char?: string;
  kind: Kind;
  options?: readonly string[];
  oclif: boolean;
}

async function everyFlag(): Promise<FlagUse[]> {
  const config = await Config.load(repoRoot);
  return config.commands.flatMap((command) =>
    Object.entries(command.flags).map(([name, flag]) => ({
      command: command.id.replaceAll(':', ' '),
      name,
      ...(flag.char ? { char: flag.char } : {}),
      kind: flag.type === 'boolean' ? ('boolean' as const) : ('option' as const),
      ...(flag.type === 'option' && flag.options ? { options: flag.options } : {}),
      oclif: OCLIF_PLUGINS.has(command.pluginName ?? ''),
    })),
  );
}

/** Every way a flag departs from its one meaning, as lines naming the command. */
function problems(uses: readonly FlagUse[]): string[] {
  const found: string[] = [];
  const charOwner = new Map<string, string>();
  for (const [name, m] of Object.entries(MEANINGS)) if (m.char) charOwner.set(m.char, name);
  for (const use of uses) {
    const table = use.oclif ? OCLIF_FLAGS : MEANINGS;
    const meaning = table[use.name];
    const where = `rmm ${use.command} --${use.name}`;
    if (!meaning) {
      found.push(`${where}: no meaning recorded (add it to this test's table, or reuse a name)`);
      continue;
    }
    if (meaning.kind !== use.kind)
      found.push(`${where}: is ${use.kind}, but --${use.name} is ${meaning.kind}`);
    if ((meaning.char ?? '') !== (use.char ?? ''))
      found.push(
        `${where}: short form ${use.char ? `-${use.char}` : 'none'}, but --${use.name} is ${meaning.char ? `-${meaning.char}` : 'never short'}`,
      );
    if (!use.oclif && use.char && charOwner.get(use.char) !== use.name)
      found.push(`${where}: -${use.char} means --${charOwner.get(use.char) ?? '(nothing)'} elsewhere`);
    const complaint = meaning.check?.(use);
    if (complaint) found.push(`${where}: ${complaint}`);
  }
  return found;
}

describe('flag names and short forms', () => {
  it('have one meaning across every command', async () => {
    const uses = await everyFlag();
    // The walk reaches rmm's commands and the plugins': a sanity floor, not a count to keep in step.
    const commands = new Set(uses.map((u) => u.command));
    for (const id of ['plan', 'apply', 'get', 'export', 'schema export', 'actions list', 'plugins install'])
      expect(commands, id).toContain(id);
    expect(problems(uses)).toEqual([]);
  });

  it('the check itself catches the mistakes it is for', () => {
    const use = (command: string, name: string, kind: Kind, char?: string, options?: string[]): FlagUse => ({
      command,
      name,
      kind,
      oclif: false,
      ...(char ? { char } : {}),
      ...(options ? { options } : {}),
    });
    expect(
      problems([
        use('plan', 'out', 'option', 'o'),
        use('export', 'output', 'option', 'o'),
        use('get', 'output', 'option', 'o', ['table', 'json']),
        use('new', 'frobnicate', 'boolean'),
      ]),
    ).toEqual([
      'rmm plan --out: short form -o, but --out is never short',
      'rmm plan --out: -o means --output elsewhere',
      'rmm export --output: --output must be an output format (table|text|yaml|json), not "any value"',
      "rmm new --frobnicate: no meaning recorded (add it to this test's table, or reuse a name)",
    ]);
  });
});
