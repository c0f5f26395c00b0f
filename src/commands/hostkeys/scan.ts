import { Flags } from '@oclif/core';
import { selectDevices } from '../../actions/targets.js';
import { resolveActor } from '../../actor.js';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { queueingFlags } from '../../cli/runner-flags.js';
import { hostKeyAudit } from '../../hostkeys/audit.js';
import { alarming, recordHostKeys, scanExitCode, scanHostKeys } from '../../hostkeys/scan.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { loadTransports } from '../../transports/registry.js';
import { colorEnabled } from '../../views/color.js';
import { confirmOnTerminal } from '../../views/confirm.js';
import { hostKeyLines, hostKeysJson, mismatchWarning, recordSummary } from '../../views/hostkeys.js';
import { writeLines, writeStderr } from '../../views/output.js';

export default class HostkeysScan extends RmmCommand {
  static override summary = "Show the selected devices' host keys and, once confirmed, trust the new ones.";

  static override description = [
    "First contact with new hosts, as ssh-keyscan plus a fingerprint check. For each selected device its transport fetches the host key the device offers (no credential is used) and compares it with the one it trusts: for SSH, the device's known_hosts file (its knownHosts option, default ~/.ssh/known_hosts) or its pinned hostKeyFingerprint. Each device's key type and fingerprint (SHA256:..., as ssh-keygen -l prints it) is shown as known, new, CHANGED or REVOKED.",
    'New keys are recorded only after you compare the fingerprints (with the host\'s administrator, or `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host) and answer "yes" on the terminal, or with --yes. Without a terminal and without --yes they are only shown. Each recorded key gets an AuditLog row; afterwards `rmm exec` reaches the host under the strict host key policy.',
    'A key that differs from the trusted one is never replaced: it is shown with a loud warning on stderr, audited, and nothing at all is recorded in that run, since a man in the middle may be answering for other hosts too. Unreachable devices are reported and do not stop the others; devices whose transport has no host keys (WinRM verifies TLS certificates: see its tls options) are skipped.',
    'Exit codes: 0 every scanned key is trusted (known or recorded now), 1 some device could not be scanned or recorded, 2 new keys were shown but not recorded (no terminal and no --yes, or not confirmed), 3 a key differs from the trusted one or is revoked, 64 bad flags.',
  ].join('\n\n');

  static override examples = [
    {
      description:
        "Show the host keys of site alpha's devices; on a terminal, asks before recording new ones.",
      command: '<%= config.bin %> <%= command.id %> --target site=alpha',
    },
    {
      description: 'Record the new keys without asking (after checking the fingerprints a first run showed).',
      command: '<%= config.bin %> <%= command.id %> --target name=web-* --yes',
    },
    {
      description: 'As JSON, for a script that compares fingerprints with its own inventory.',
      command: '<%= config.bin %> <%= command.id %> --target group=linux --json',
    },
  ];

  static override flags = {
    ...dataDirFlags,
    target: queueingFlags.target,
    'connect-timeout': queueingFlags['connect-timeout'],
    concurrency: Flags.integer({
      char: 'c',
      summary: 'At most this many devices scanned at once.',
      default: 50,
      min: 1,
    }),
    actor: Flags.string({
      summary: 'Who records the keys, for AuditLog (default: $RMM_ACTOR, else the OS user).',
    }),
    yes: Flags.boolean({
      char: 'y',
      summary: 'Record the new keys without asking (check the fingerprints first).',
    }),
    json: Flags.boolean({
      summary: 'One JSON document on stdout: each device with its key and status, and counts.',
      description: 'Never asks: new keys are recorded only with --yes.',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(HostkeysScan);
    const { db } = openResourceDatabase(this.dataDir(flags));
    try {
      const devices = selectDevices(db, flags.target);
      const registry = await loadTransports(this.config, { compileSchemas: false });
      for (const line of registry.refused) writeStderr(`Refused: ${line}`);
      const scanned = await scanHostKeys(devices, registry, {
        connectTimeoutMs: flags['connect-timeout'] * 1000,
        concurrency: flags.concurrency,
      });
      const results = scanned.map((s) => s.result);
      const audit = hostKeyAudit(db, resolveActor(flags.actor));
      const color = colorEnabled();
      const mismatched = alarming(results);
      for (const r of mismatched) audit(r);
      writeLines(mismatchWarning(mismatched, colorEnabled(process.stderr)), process.stderr);

      const pending = scanned.filter((s) => s.record);
      let why: Parameters<typeof recordSummary>[1] = 'recorded';
      if (pending.length > 0) {
        if (mismatched.length > 0) why = 'mismatch';
        else if (!flags.yes && flags.json) why = 'json';
        else if (!flags.yes && !process.stdin.isTTY) why = 'no-terminal';
        else if (!flags.yes) {
          writeLines(
            hostKeyLines(
              pending.map((s) => s.result),
              color,
            ),
            process.stderr,
          );
          const ok = await confirmOnTerminal(
            `\nRecord ${pending.length === 1 ? 'this new host key' : `these ${pending.length} new host keys`}?`,
          );
          if (!ok) why = 'declined';
        }
        if (why === 'recorded') await recordHostKeys(scanned, audit);
      }

      if (flags.json) writeLines([hostKeysJson(results)]);
      else {
        writeLines(hostKeyLines(results, color));
        const summary = recordSummary(results, why);
        if (summary) this.log(`\n${summary}`);
      }
      process.exitCode = scanExitCode(results);
    } finally {
      db.close();
    }
  }
}
