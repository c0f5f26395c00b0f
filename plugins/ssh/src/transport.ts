import type { Fail, PluginRuntime, Transport } from 'rmm/plugin';
import { connect } from './connect.js';
import { loadSsh2 } from './load-ssh2.js';
import { checkSshOptions } from './option-checks.js';
import { optionsSchema } from './options.js';
import { sshHostKeys } from './scan.js';

export function createSshTransport(runtime: PluginRuntime): Transport {
  const fail: Fail = (code, message, options) => new runtime.TransportError(code, message, options);
  return {
    apiVersion: 1,
    name: 'ssh',
    description: 'OpenSSH-compatible servers: commands over exec channels, files over SFTP.',
    optionsSchema,
    defaultPort: 22,
    batchSize: 200,
    // PowerShell would be true for Windows OpenSSH targets only, which is per device: not claimed.
    capabilities: { powershell: false, fileTransfer: true, queued: false },
    connect: (target, options) => connect(target, options, fail),
    hostKeys: sshHostKeys(loadSsh2, fail),
    checkOptions: checkSshOptions,
  };
}
