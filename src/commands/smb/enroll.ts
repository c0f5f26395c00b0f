import { writeFile } from 'node:fs/promises';
import { Args, Flags } from '@oclif/core';
import { dataDirFlags, RmmCommand } from '../../base-command.js';
import { RmmError } from '../../errors.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { enrollDevice } from '../../transports/enrollment.js';
import { loadTransports } from '../../transports/registry.js';
import { writeStderr } from '../../views/output.js';

export default class SmbEnroll extends RmmCommand {
  static override summary =
    "Print (or write) the installer of a device's SMB queue consumer, with the console's public key in it.";

  static override description = [
    "For a device whose spec.transport.type is smb. The installer holds the consumer (POSIX sh for Linux and macOS, Windows PowerShell 5.1 for Windows, by the device's spec.os) and the public half of the console's job-signing key, made on first use in <data>/transports/smb/ (the private half never leaves it). It holds no secret: the share's password is set on the device by its administrator. Run it once on the device as root or an administrator; it schedules the consumer every minute. docs/smb.md has the whole set-up (share, firewall).",
    'The installer goes to stdout, or to --out FILE; how to run it goes to stderr.',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Write the installer for web-01.',
      command: '<%= config.bin %> <%= command.id %> web-01 --out rmm-smb-install-web-01.sh',
    },
  ];

  static override args = {
    device: Args.string({ description: 'The device (metadata.name).', required: true }),
  };

  static override flags = {
    ...dataDirFlags,
    out: Flags.string({
      summary: 'Write the installer to this file (created, never replaced) instead of stdout.',
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SmbEnroll);
    const dataDir = this.dataDir(flags);
    const { db } = openResourceDatabase(dataDir);
    try {
      const registry = await loadTransports(this.config, { compileSchemas: false });
      const enrollment = await enrollDevice(db, registry, dataDir, args.device, 'smb');
      if (flags.out) {
        await writeFile(flags.out, enrollment.content, { flag: 'wx', mode: 0o644 }).catch(
          (error: NodeJS.ErrnoException) => {
            if (error.code !== 'EEXIST') throw error;
            throw new RmmError('usage', `--out ${flags.out}: the file exists; it is never replaced`);
          },
        );
        writeStderr(`Wrote ${flags.out}.`);
      } else process.stdout.write(enrollment.content);
      writeStderr(enrollment.instructions);
    } finally {
      db.close();
    }
  }
}
