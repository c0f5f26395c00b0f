import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../src/actions/targets.js';
import { collectorPayload, readInventory } from '../../src/inventory/collectors.js';
import { LINUX_COLLECTOR } from '../../src/inventory/linux.js';
import { MACOS_COLLECTOR, observedMacosOs, parseMacosInventory } from '../../src/inventory/macos.js';
import { runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';

/**
 * The macOS collector and its parser. No macOS runs here: the fixtures are collector output written
 * from the documented formats of sw_vers, sysctl, vm_stat, df -kP, ifconfig and system_profiler
 * (an Apple silicon Mac on macOS 14, an Intel Mac on 10.15).
 */
const fixture = (name: string) => readFileSync(path.join('test/fixtures/inventory', name), 'utf8');

describe('the macOS inventory parser', () => {
  it('reads an Apple silicon Mac (macOS 14)', () => {
    const inventory = parseMacosInventory(fixture('macos-arm64.txt'));
    expect(inventory.os).toEqual({
      name: 'macOS',
      version: '14.4.1',
      build: '23E224',
      prettyName: 'macOS 14.4.1',
    });
    expect(inventory.kernel).toEqual({ name: 'Darwin', release: '23.4.0', machine: 'arm64' });
    expect(inventory.hostname).toEqual({ name: 'studio-07.local' });
    expect(inventory.cpu).toEqual({ model: 'Apple M2 Pro', cores: 12 });
    expect(inventory.memory).toEqual({
      totalKb: 33554432,
      // (free 81234 + inactive 790123 + speculative 8012) pages of 16 KiB
      availableKb: 14069904,
      swapTotalKb: 2097152,
      swapFreeKb: 1048064,
    });
    expect(inventory.disks).toHaveLength(8);
    expect(inventory.disks[0]).toEqual({
      filesystem: '/dev/disk3s1s1',
      sizeKb: 971350180,
      usedKb: 10023568,
      availableKb: 565346408,
      mount: '/',
    });
    expect(inventory.disks).toContainEqual({
      filesystem: 'map auto_home',
      sizeKb: 0,
      usedKb: 0,
      availableKb: 0,
      mount: '/System/Volumes/Data/home',
    });
    expect(inventory.disks.at(-1)?.mount).toBe('/Volumes/Backup Drive');
    expect(inventory.network).toEqual([
      { name: 'lo0', family: 'inet', address: '127.0.0.1/8' },
      { name: 'lo0', family: 'inet6', address: '::1/128' },
      { name: 'lo0', family: 'inet6', address: 'fe80::1/64' },
      { name: 'en0', family: 'inet6', address: 'fe80::1c8b:2a4f:e5d1:9a3b/64' },
      { name: 'en0', family: 'inet', address: '192.168.1.23/24' },
      { name: 'en0', family: 'inet6', address: '2001:db8:1:2::17/64' },
      { name: 'utun0', family: 'inet6', address: 'fe80::a1b2:c3d4:e5f6:789/64' },
    ]);
    expect(inventory.hardware).toEqual({
      modelName: 'Mac Studio',
      modelIdentifier: 'Mac14,13',
      chip: 'Apple M2 Max',
      cores: 12,
      memory: '32 GB',
      firmware: '10151.101.3',
      serialNumber: 'F2LXK0ABCD12',
    });
    expect(observedMacosOs(inventory)).toEqual({
      OSName: 'macOS 14.4.1',
      OSVersion: '14.4.1',
      OSBuild: '23E224',
    });
  });

  it('reads an Intel Mac (macOS 10.15, "Mac OS X", no swap, Boot ROM)', () => {
    const inventory = parseMacosInventory(fixture('macos-intel.txt'));
    expect(inventory.os.prettyName).toBe('Mac OS X 10.15.7');
    expect(inventory.kernel.machine).toBe('x86_64');
    expect(inventory.cpu).toEqual({ model: 'Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz', cores: 16 });
    expect(inventory.memory).toEqual({
      totalKb: 16777216,
      availableKb: 4627152,
      swapTotalKb: 0,
      swapFreeKb: 0,
    });
    expect(inventory.network).toContainEqual({ name: 'en0', family: 'inet', address: '10.20.30.40/22' });
    expect(inventory.hardware).toMatchObject({
      chip: '8-Core Intel Core i9',
      cores: 8,
      firmware: '1554.140.20.0.0 (iBridge: 18.16.14759.0.1,0)',
      serialNumber: 'C02ZZ123MD6T',
    });
  });

  it("refuses output that is not the macOS collector's, naming it", async () => {
    const { stdout } = await execa('/bin/sh', ['-c', LINUX_COLLECTOR], { reject: false });
    expect(() => parseMacosInventory(stdout)).toThrow(/not the macOS collector's/);
    expect(() => readInventory('macos', stdout)).toThrow(/not the macOS collector's/);
  });

  it("is what a macOS device's result is read with; the summary names the OS and model", () => {
    const read = readInventory('macos', fixture('macos-arm64.txt'));
    expect(Object.keys(read.categories).sort()).toEqual([
      'cpu',
      'disks',
      'hardware',
      'hostname',
      'kernel',
      'memory',
      'network',
      'os',
    ]);
    expect(read.summary).toBe('macOS 14.4.1 (23E224) on Mac Studio, Darwin 23.4.0');
  });
});

describe('the macOS collector script', () => {
  it('is POSIX sh: sh -n and dash -n accept it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-macos-collector-'));
    try {
      const file = path.join(dir, 'collector.sh');
      await writeFile(file, `${MACOS_COLLECTOR}\n`);
      for (const shell of ['sh', 'dash']) {
        const result = await execa(shell, ['-n', file], { reject: false });
        expect(result.exitCode, `${shell}: ${result.stderr}`).toBe(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads none of what macOS lacks (/etc/os-release, /proc)', () => {
    expect(MACOS_COLLECTOR).not.toMatch(/os-release|\/proc/);
    expect(MACOS_COLLECTOR).toMatch(/sw_vers/);
  });

  it('is the collector a macOS device gets; Linux and undeclared devices keep the Linux one', async () => {
    const device = (deviceOs: DeviceRecord['os']): DeviceRecord => ({
      name: 'd',
      host: 'h',
      os: deviceOs,
      site: 'main',
      groups: [],
      labels: {},
      transport: {},
    });
    const limits = { timeoutMs: 1000, connectTimeoutMs: 1000 };
    expect((await collectorPayload(device('macos'), limits)).command).toBe(MACOS_COLLECTOR);
    expect((await collectorPayload(device('linux'), limits)).command).toBe(LINUX_COLLECTOR);
    expect((await collectorPayload(device(null), limits)).command).toBe(LINUX_COLLECTOR);
  });
});

describe('rmm inventory collect for a macOS device', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-macos-inventory-'));
    const device = (name: string, deviceOs: string) =>
      `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  address: 192.0.2.10\n  os: ${deviceOs}\n`;
    await writeFile(
      path.join(cwd, 'devices.yaml'),
      `${device('mac-a', 'macos')}---\n${device('lin-a', 'linux')}`,
    );
    expect((await runCli(['init'], { cwd })).exitCode).toBe(0);
    expect((await runCli(['apply', '-f', 'devices.yaml', '--auto-approve'], { cwd })).exitCode).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('queues the macOS script for the Mac and the Linux script for the Linux device', async () => {
    const queued = await runCli(['inventory', 'collect', '-t', 'name=*', '--at', '2099-01-01T00:00:00Z'], {
      cwd,
    });
    expect(queued.exitCode, queued.stderr).toBe(0);
    const rows = queryFile<{ DeviceId: string; Payload: string }>(
      path.join(cwd, 'data', 'devices.db'),
      "SELECT DeviceId, Payload FROM Actions WHERE ActionType = 'inventory' ORDER BY DeviceId",
    );
    const command = Object.fromEntries(rows.map((r) => [r.DeviceId, JSON.parse(r.Payload).command]));
    expect(command).toEqual({ 'lin-a': LINUX_COLLECTOR, 'mac-a': MACOS_COLLECTOR });
  });
});
