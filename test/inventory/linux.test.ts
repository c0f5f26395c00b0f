import { readFileSync } from 'node:fs';
import os from 'node:os';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LINUX_COLLECTOR, observedOs, parseLinuxInventory } from '../../src/inventory/linux.js';

describe('the Linux inventory collector', () => {
  it('run on this machine, reads what this machine is', async () => {
    const { stdout, exitCode } = await execa('/bin/sh', ['-c', LINUX_COLLECTOR], { reject: false });
    expect(exitCode).toBe(0);
    const inventory = parseLinuxInventory(stdout);
    const release = readFileSync('/etc/os-release', 'utf8');
    expect(release).toContain(`VERSION_ID="${inventory.os.version}"`);
    expect(inventory.kernel).toEqual({ name: 'Linux', release: os.release(), machine: expect.any(String) });
    expect(inventory.hostname.name).toBe(os.hostname());
    expect(inventory.cpu.cores).toBe(os.cpus().length);
    expect(inventory.memory.totalKb).toBe(Math.round(os.totalmem() / 1024));
    expect(inventory.disks.some((d) => d.mount === '/')).toBe(true);
    expect(inventory.network).toContainEqual({ name: 'lo', family: 'inet', address: '127.0.0.1/8' });
    expect(observedOs(inventory)).toEqual({
      OSName: expect.stringContaining('Linux'),
      OSVersion: inventory.os.version,
      OSBuild: os.release(),
    });
  });

  it('copes with missing sections, quoting and CRLF', () => {
    const inventory = parseLinuxInventory(
      "### os\r\nNAME='Alpine Linux'\r\nVERSION_ID=3.20.1\r\n### kernel\nLinux\n### disks\nFilesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 40 60 40% /mnt/with space\n",
    );
    expect(inventory.os).toEqual({ name: 'Alpine Linux', version: '3.20.1', id: null, prettyName: null });
    expect(inventory.kernel).toEqual({ name: 'Linux', release: null, machine: null });
    expect(inventory.cpu).toEqual({ model: null, cores: null });
    expect(inventory.disks).toEqual([
      { filesystem: '/dev/sda1', sizeKb: 100, usedKb: 40, availableKb: 60, mount: '/mnt/with space' },
    ]);
    expect(inventory.network).toEqual([]);
  });
});
