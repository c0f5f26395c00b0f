import { readFile } from 'node:fs/promises';
import type { Enrollment, EnrollmentDevice } from 'rmm/plugin';
import { loadSigningKey } from './signing-key.js';

const CONSUMERS = new URL('../consumers/', import.meta.url);

/**
 * The installer a device runs once: the consumer, the console's public key and the schedule that
 * runs it every minute. It holds no secret (the share's password is set on the device by its admin).
 */
export async function enrollment(
  device: EnrollmentDevice,
  options: { stateDir: string },
): Promise<Enrollment> {
  const key = await loadSigningKey(options.stateDir);
  if (device.os === 'windows') {
    const template = await readFile(new URL('install-windows.ps1', CONSUMERS), 'utf8');
    const consumer = await readFile(new URL('rmm-smb-consumer.ps1', CONSUMERS), 'utf8');
    return {
      fileName: `rmm-smb-install-${device.name}.ps1`,
      content: fill(template, { DEVICE: device.name, PUBLIC_KEY_XML: key.publicXml, CONSUMER: consumer }),
      instructions: [
        `On ${device.name}, as an administrator, in Windows PowerShell 5.1:`,
        `  powershell -ExecutionPolicy Bypass -File rmm-smb-install-${device.name}.ps1 -Account 'DOMAIN\\rmm-console'`,
        "It creates the share rmm$ (only that account may change it), the folder C:\\ProgramData\\rmm-smb (SYSTEM and Administrators only) and the scheduled task 'rmm SMB consumer' (every minute, as SYSTEM).",
        `Then allow TCP 445 in from the console only. docs/smb.md has the rest.`,
      ].join('\n'),
    };
  }
  const template = await readFile(new URL('install-posix.sh', CONSUMERS), 'utf8');
  const consumer = await readFile(new URL('rmm-smb-consumer.sh', CONSUMERS), 'utf8');
  return {
    fileName: `rmm-smb-install-${device.name}.sh`,
    content: fill(template, {
      DEVICE: device.name,
      PUBLIC_KEY_PEM: key.publicPem.trimEnd(),
      CONSUMER: consumer.trimEnd(),
    }),
    instructions: [
      `On ${device.name}, as root: sh rmm-smb-install-${device.name}.sh`,
      'It installs the consumer in /usr/local/lib/rmm-smb, its state in /var/lib/rmm-smb (root only) and a systemd timer (or a cron entry) that runs it every minute on /srv/rmm-smb.',
      "Share /srv/rmm-smb as rmm$ with Samba for the console's user only (the installer prints the smb.conf section), and allow TCP 445 in from the console only. docs/smb.md has the rest.",
    ].join('\n'),
  };
}

/** Replaces each `@@NAME@@` once; a template missing one is a bug in this plugin. */
function fill(template: string, values: Record<string, string>): string {
  let text = template;
  for (const [name, value] of Object.entries(values)) {
    const marker = `@@${name}@@`;
    if (!text.includes(marker)) throw new Error(`installer template without ${marker}`);
    text = text.replace(marker, () => value);
  }
  return text;
}
