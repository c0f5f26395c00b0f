import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Sender } from '../../src/notify/content.js';
import { webhookSender } from '../../src/notify/webhook.js';

/**
 * The product's webhook sender (generic JSON) for a URL, as a channel declares it: the URL in a file
 * that a `file:` reference names, inside the folder the credential policy allows.
 */
export function webhookChannel(url: string, options: { timeout?: string; name?: string } = {}): Sender {
  const dir = mkdtempSync(path.join(tmpdir(), 'rmm-hook-ref-'));
  const file = path.join(dir, 'url');
  writeFileSync(file, `${url}\n`);
  return webhookSender(
    options.name ?? 'hook',
    { url: `file:${file}`, ...(options.timeout ? { timeout: options.timeout } : {}) },
    { policy: { envPrefixes: ['RMM_'], dirs: [dir] }, userAgent: 'rmm/test' },
  );
}
