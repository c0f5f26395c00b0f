import { createRelayTransport } from '../../../plugins/relay/src/transport.js';
import { describeQueuedTransportConformance } from '../../../src/plugin/conformance.js';
import { RUNTIME } from '../../../src/transports/registry.js';
import { RELAY, relaySite } from '../../helpers/relay-site.js';
import { route, secret } from './far-side.js';

/**
 * The queued conformance kit on the real relay transport (the console's side, as the hook builds
 * it) with the real far side: Debian's nats-server with the design's authorization, `rmm relay` as
 * its own process, and a real sshd as the device, whose own record says what ran.
 */
const REPORT_OUTPUT_CAP_BYTES = 256 * 1024;

describeQueuedTransportConformance('relay (nats-server, rmm relay, sshd)', async () => {
  const site = await relaySite();
  let agent: ReturnType<typeof site.startRelay> | undefined;
  const stopAgent = async () => {
    const running = agent;
    agent = undefined;
    if (!running) return;
    running.kill('SIGTERM');
    const { exitCode } = await running;
    if (exitCode !== 0) throw new Error(`rmm relay exited ${exitCode}: ${String(running.stderr)}`);
  };
  return {
    transport: createRelayTransport(RUNTIME),
    route: route(RELAY, [site.nats.url], { user: 'rmm-console' }),
    open: { secret: secret('console-test-password'), connectTimeoutMs: 5000 },
    action: {
      type: 'exec',
      device: {
        name: 'dev-1',
        host: site.ssh.sshd.host,
        os: 'linux',
        transport: {
          type: 'ssh',
          port: site.ssh.sshd.port,
          user: site.ssh.sshd.user,
          credentialRef: `file:${site.ssh.sshd.clientKeyPath}`,
        },
      },
      timeoutMs: 30_000,
      connectTimeoutMs: 10_000,
    },
    farSide: {
      start: async () => {
        agent ??= site.startRelay();
      },
      stop: stopAgent,
    },
    recordCommand: (id) => `echo ${id} >> ${site.ranFile}`,
    ranOnDevice: () => site.ran(),
    outputCapBytes: REPORT_OUTPUT_CAP_BYTES,
    teardown: async () => {
      await stopAgent().catch(() => {});
      await site.remove();
    },
  };
});
