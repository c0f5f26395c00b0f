import type { TransportsHookOptions, TransportsHookResult } from 'rmm/plugin';
import { createSmbTransport } from './transport.js';

/** The `rmm:transports` hook: rmm passes its runtime values, the plugin returns its transports. */
export default async function (options: TransportsHookOptions): Promise<TransportsHookResult> {
  return [createSmbTransport(options.runtime)];
}
