import { randomInt } from 'node:crypto';
import { execa } from 'execa';

/**
 * A remote site made of two network namespaces, for the relay tests:
 *
 *   console (this namespace) --veth 10.200.N.0/30-- site (the relay) --veth 10.201.N.0/30-- endpoint
 *
 * The console reaches the site's side of the first link (where the relay's NATS lives on the
 * console's side, at `consoleAddress`), and has no route at all to the endpoint's network: a direct
 * connection to `endpointAddress` fails at once (an unreachable route, so no packet leaves this
 * machine by its default route), and only the relay, in the site namespace, reaches it.
 * Needs root and iproute2 (`ip netns`); remove() deletes both namespaces and with them their links.
 */
export interface RemoteSite {
  /** The console's address on the link to the site: listen there for the relay (NATS). */
  consoleAddress: string;
  /** The endpoint's address, routable only from the site namespace. */
  endpointAddress: string;
  siteNs: string;
  endpointNs: string;
  /** Prefix that runs a command inside a namespace: [...inNs(ns), 'sshd', ...]. */
  inNs(ns: string): string[];
  remove(): Promise<void>;
}

export async function createRemoteSite(): Promise<RemoteSite> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const n = randomInt(1, 250);
    const id = `${process.pid % 1000}${n}`.slice(-6);
    const siteNs = `rmm-site-${id}`;
    const endpointNs = `rmm-ep-${id}`;
    try {
      await setUp(n, id, siteNs, endpointNs);
    } catch (error) {
      lastError = error;
      await removeNs(n, siteNs, endpointNs);
      continue;
    }
    return {
      consoleAddress: `10.200.${n}.1`,
      endpointAddress: `10.201.${n}.2`,
      siteNs,
      endpointNs,
      inNs: (ns) => ['ip', 'netns', 'exec', ns],
      remove: () => removeNs(n, siteNs, endpointNs),
    };
  }
  throw new Error(`could not create the test's network namespaces: ${String(lastError)}`);
}

async function setUp(n: number, id: string, siteNs: string, endpointNs: string): Promise<void> {
  const ip = (...args: string[]) => execa('ip', args);
  const inSite = (...args: string[]) => execa('ip', ['netns', 'exec', siteNs, 'ip', ...args]);
  const inEndpoint = (...args: string[]) => execa('ip', ['netns', 'exec', endpointNs, 'ip', ...args]);
  // Interface names are at most 15 characters.
  const [consoleEnd, siteUp, siteDown, endpointEnd] = ['rc', 'rs', 'rd', 're'].map((p) => `rmm${p}${id}`);
  // The console's default route would carry a direct attempt out of this machine: the endpoint's
  // network is unreachable from here instead, so it fails at once, and no packet leaves.
  await ip('route', 'add', 'unreachable', `10.201.${n}.0/30`);
  await ip('netns', 'add', siteNs);
  await ip('netns', 'add', endpointNs);
  await ip('link', 'add', consoleEnd as string, 'type', 'veth', 'peer', 'name', siteUp as string);
  await ip('link', 'set', siteUp as string, 'netns', siteNs);
  await ip('addr', 'add', `10.200.${n}.1/30`, 'dev', consoleEnd as string);
  await ip('link', 'set', consoleEnd as string, 'up');
  await inSite('addr', 'add', `10.200.${n}.2/30`, 'dev', siteUp as string);
  await inSite('link', 'set', siteUp as string, 'up');
  await inSite('link', 'set', 'lo', 'up');
  await inSite('link', 'add', siteDown as string, 'type', 'veth', 'peer', 'name', endpointEnd as string);
  await inSite('link', 'set', endpointEnd as string, 'netns', endpointNs);
  await inSite('addr', 'add', `10.201.${n}.1/30`, 'dev', siteDown as string);
  await inSite('link', 'set', siteDown as string, 'up');
  await inEndpoint('addr', 'add', `10.201.${n}.2/30`, 'dev', endpointEnd as string);
  await inEndpoint('link', 'set', endpointEnd as string, 'up');
  await inEndpoint('link', 'set', 'lo', 'up');
}

async function removeNs(n: number, ...names: string[]): Promise<void> {
  for (const name of names) await execa('ip', ['netns', 'del', name], { reject: false });
  await execa('ip', ['route', 'del', 'unreachable', `10.201.${n}.0/30`], { reject: false });
}
