import type { Fail, PluginRuntime, QueueOpenOptions, QueueRoute, Transport } from 'rmm/plugin';
import { enrollment } from './enrollment.js';
import { checkSmbOptions } from './option-checks.js';
import { optionsSchema, type SmbOptions } from './options.js';
import { smbQueueConnection } from './queue-connection.js';
import { loadSigningKey } from './signing-key.js';

/** The options schema's pattern for `host`, also held against the device's address. */
const HOST = new RegExp(optionsSchema.properties.host.pattern);

export interface SmbTransportSettings {
  /** How long fetch waits between looks at results/ while waitMs lasts. */
  pollIntervalMs?: number;
  /** Bound of one smbclient process (the connection and its whole batch). */
  operationTimeoutMs?: number;
  now?: () => Date;
}

export function createSmbTransport(runtime: PluginRuntime, settings: SmbTransportSettings = {}): Transport {
  const fail: Fail = (code, message, options) => new runtime.TransportError(code, message, options);
  return {
    apiVersion: 1,
    name: 'smb',
    description: "Firewalled devices that expose only SMB (445): a signed file queue on the device's share.",
    optionsSchema,
    defaultPort: 445,
    batchSize: 50,
    capabilities: { powershell: true, fileTransfer: false, queued: true },
    async connect(target) {
      throw fail(
        'protocol',
        `${target.name}: smb is a queued transport: its work goes through the Actions queue`,
      );
    },
    queue: {
      routes: 'device',
      open: (route, options) => open(route, options, settings, fail),
      enrollment,
    },
    checkOptions: checkSmbOptions,
  };
}

async function open(
  route: QueueRoute,
  options: QueueOpenOptions,
  settings: SmbTransportSettings,
  fail: Fail,
) {
  const opts = route.options as SmbOptions;
  // The block may name the share's host; else it is the device's own address (a device route).
  const host = opts.host ?? route.device?.host;
  if (!host) throw fail('protocol', `${route.name}: no host for the SMB share`);
  if (!HOST.test(host))
    throw fail('protocol', `${route.name}: ${JSON.stringify(host)} is not a host smbclient can be given`);
  if (!opts.user) throw fail('auth-failed', `${route.name}: the smb transport block names no user`);
  if (!options.stateDir)
    throw fail('protocol', `${route.name}: the SMB queue needs the console's state folder (its signing key)`);
  return smbQueueConnection({
    address: {
      host,
      port: opts.port ?? 445,
      share: opts.share ?? 'rmm$',
      user: opts.user,
      ...(opts.domain ? { domain: opts.domain } : {}),
      protection: opts.protection ?? 'encrypt',
    },
    secret: options.secret,
    key: await loadSigningKey(options.stateDir),
    operationTimeoutMs: settings.operationTimeoutMs ?? Math.max(options.connectTimeoutMs, 1000) + 60_000,
    pollIntervalMs: settings.pollIntervalMs ?? 5000,
    now: settings.now ?? (() => new Date()),
    fail,
  });
}
