import type { OptionsFinding } from 'rmm/plugin';
import type { SmbOptions } from './options.js';

/** The SMB transport's checkOptions: protection weaker than encryption is allowed, and said. */
export function checkSmbOptions(options: Record<string, unknown>): OptionsFinding[] {
  const opts = options as SmbOptions;
  if (opts.protection !== 'sign') return [];
  return [
    {
      path: ['protection'],
      severity: 'warning',
      message:
        'sign: jobs, their output and the queue are readable by anyone on the path (signed, not encrypted); keep the default encrypt unless the device cannot do SMB 3 encryption',
    },
  ];
}
