import { describe, expect, it } from 'vitest';
import { effectiveTransport } from '../../src/transports/effective-transport.js';

/** The one rule that merges a device's transport block over its site's default (issue 10 item 2). */
describe('effectiveTransport', () => {
  const ssh = { type: 'ssh', port: 22, user: 'root', credentialRef: 'env:KEY' };
  const rows: Array<{
    why: string;
    device: Record<string, unknown> | null;
    site: Record<string, unknown> | undefined;
    block: Record<string, unknown>;
    from: Record<string, string>;
    siteApplies: boolean;
    siteIgnored?: string;
  }> = [
    {
      why: 'no blocks at all: the built-in ssh',
      device: null,
      site: undefined,
      block: { type: 'ssh' },
      from: { type: 'built-in' },
      siteApplies: false,
    },
    {
      why: 'a device without type takes the site default, type included',
      device: { port: 2222 },
      site: ssh,
      block: { type: 'ssh', port: 2222, user: 'root', credentialRef: 'env:KEY' },
      from: { type: 'site', port: 'device', user: 'site', credentialRef: 'site' },
      siteApplies: true,
    },
    {
      why: 'a winrm device in an ssh site gets nothing of the ssh default',
      device: { type: 'winrm', user: 'admin' },
      site: ssh,
      block: { type: 'winrm', user: 'admin' },
      from: { type: 'device', user: 'device' },
      siteApplies: false,
      siteIgnored: 'ssh',
    },
    {
      why: 'a site default without type is an ssh default',
      device: { type: 'winrm' },
      site: { port: 22 },
      block: { type: 'winrm' },
      from: { type: 'device' },
      siteApplies: false,
      siteIgnored: 'ssh',
    },
    {
      why: 'an untyped site default applies to an untyped device (both ssh)',
      device: { user: 'ops' },
      site: { port: 2200, user: 'root' },
      block: { type: 'ssh', port: 2200, user: 'ops' },
      from: { type: 'built-in', port: 'site', user: 'device' },
      siteApplies: true,
    },
    {
      why: 'a winrm site default reaches a device without type',
      device: { auth: 'basic' },
      site: { type: 'winrm', scheme: 'https' },
      block: { type: 'winrm', scheme: 'https', auth: 'basic' },
      from: { type: 'site', scheme: 'site', auth: 'device' },
      siteApplies: true,
    },
    {
      why: 'an ssh device in a winrm site gets nothing of it',
      device: { type: 'ssh' },
      site: { type: 'winrm', port: 5986 },
      block: { type: 'ssh' },
      from: { type: 'device' },
      siteApplies: false,
      siteIgnored: 'winrm',
    },
    {
      why: 'an empty site default is no default',
      device: { type: 'winrm' },
      site: {},
      block: { type: 'winrm' },
      from: { type: 'device' },
      siteApplies: false,
    },
  ];
  for (const row of rows) {
    it(row.why, () => {
      const got = effectiveTransport(row.device, row.site);
      expect(got.block).toEqual(row.block);
      expect(got.from).toEqual(row.from);
      expect(got.siteApplies).toBe(row.siteApplies);
      expect(got.siteIgnored).toBe(row.siteIgnored);
      expect(got.type).toBe(row.block.type);
    });
  }
});
