import type { ConnectOptions, DeviceTarget, Fail, PluginRuntime, Session, Transport } from 'rmm/plugin';
import { checkWinrmOptions } from './option-checks.js';
import { optionsSchema } from './options.js';

export function createWinrmTransport(runtime: PluginRuntime): Transport {
  const fail: Fail = (code, message, options) => new runtime.TransportError(code, message, options);
  return {
    apiVersion: 1,
    name: 'winrm',
    description:
      'Windows Remote Management (WS-Management): cmd and PowerShell through one remote shell per device, over HTTP with NTLM message encryption or HTTPS.',
    optionsSchema,
    defaultPort: 5985,
    batchSize: 500,
    capabilities: { powershell: true, fileTransfer: true, queued: false },
    connect: (target, options) => connect(target, options, fail),
    checkOptions: checkWinrmOptions,
  };
}

/**
 * The protocol code (NTLM, XML) loads on the first connection, not with the plugin: every rmm
 * command runs the plugins' hooks to learn their option schemas.
 */
async function connect(target: DeviceTarget, options: ConnectOptions, fail: Fail): Promise<Session> {
  const { openSession } = await import('./open-session.js');
  return openSession(target, options, fail);
}
