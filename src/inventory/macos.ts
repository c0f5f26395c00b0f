import type { ObservedOs } from './linux.js';
import { disksOf, kernelOf, type PosixInventory, splitSections } from './sections.js';

/**
 * The macOS inventory collector: one POSIX sh script (macOS has no /etc/os-release and no /proc,
 * which the Linux one reads), printing the same sections as the Linux collector plus `hardware`,
 * from commands every macOS has: sw_vers, uname, sysctl, vm_stat, df, ifconfig, system_profiler.
 * Its parser gives the same JSON shapes as the Linux one where the categories are the same, so a
 * query over Inventory reads both alike. Written from the documented output formats of those
 * commands (fixtures in test/fixtures/inventory/); no macOS machine runs it in this repository's
 * tests.
 */
export const MACOS_COLLECTOR = [
  "echo '### os'; sw_vers",
  "echo '### kernel'; uname -s; uname -r; uname -m",
  "echo '### hostname'; hostname",
  "echo '### cpu'; sysctl -n machdep.cpu.brand_string; sysctl -n hw.ncpu",
  "echo '### memory'; sysctl hw.memsize vm.swapusage; vm_stat",
  "echo '### disks'; df -kP 2>/dev/null",
  "echo '### network'; ifconfig 2>/dev/null",
  "echo '### hardware'; system_profiler SPHardwareDataType 2>/dev/null",
].join('\n');

export interface MacosInventory extends PosixInventory {
  /** sw_vers: `macOS`, `14.4.1`, build `23E224`. */
  os: { name: string | null; version: string | null; build: string | null; prettyName: string | null };
  /** system_profiler SPHardwareDataType. */
  hardware: {
    modelName: string | null;
    modelIdentifier: string | null;
    /** `Apple M2 Pro`, or on Intel Macs the processor name: `8-Core Intel Core i9`. */
    chip: string | null;
    cores: number | null;
    memory: string | null;
    firmware: string | null;
    serialNumber: string | null;
  };
}

export function parseMacosInventory(output: string): MacosInventory {
  const sections = splitSections(output);
  const lines = (name: string) => sections.get(name) ?? [];
  const swVers = keyValues(lines('os'));
  if (!sections.has('kernel') || swVers.ProductVersion === undefined) {
    const excerpt = output.length > 80 ? `${output.slice(0, 80)}...` : output;
    throw new Error(
      `the output is not the macOS collector's (no sw_vers in "### os"): ${JSON.stringify(excerpt)}`,
    );
  }
  const [cpuModel, cpuCount] = lines('cpu');
  const hardware = keyValues(lines('hardware'));
  const name = swVers.ProductName ?? null;
  const version = swVers.ProductVersion ?? null;
  return {
    os: {
      name,
      version,
      build: swVers.BuildVersion ?? null,
      prettyName: name && version ? `${name} ${version}` : name,
    },
    kernel: kernelOf(lines('kernel')),
    hostname: { name: lines('hostname')[0] ?? null },
    cpu: {
      model: cpuModel ?? null,
      cores: cpuCount !== undefined && /^\d+$/.test(cpuCount) ? Number(cpuCount) : null,
    },
    memory: memory(lines('memory')),
    disks: disksOf(lines('disks')),
    network: network(lines('network')),
    hardware: {
      modelName: hardware['Model Name'] ?? null,
      modelIdentifier: hardware['Model Identifier'] ?? null,
      chip: hardware.Chip ?? hardware['Processor Name'] ?? null,
      cores: leadingNumber(hardware['Total Number of Cores']),
      memory: hardware.Memory ?? null,
      firmware: hardware['System Firmware Version'] ?? hardware['Boot ROM Version'] ?? null,
      serialNumber: hardware['Serial Number (system)'] ?? null,
    },
  };
}

export function observedMacosOs(inventory: MacosInventory): ObservedOs {
  return {
    OSName: inventory.os.prettyName,
    OSVersion: inventory.os.version,
    OSBuild: inventory.os.build,
  };
}

export function describeMacosInventory(inventory: MacosInventory): string {
  const model = inventory.hardware.modelName ? ` on ${inventory.hardware.modelName}` : '';
  return `${inventory.os.prettyName ?? 'macOS'} (${inventory.os.build ?? '?'})${model}, Darwin ${inventory.kernel.release ?? '?'}`;
}

/** `Key: value` lines (sw_vers, system_profiler); the first colon splits. */
function keyValues(lines: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const match = /^([^:]+):\s*(.*)$/.exec(line);
    if (match && match[2] !== '') out[(match[1] as string).trim()] = (match[2] as string).trim();
  }
  return out;
}

function leadingNumber(text: string | undefined): number | null {
  const match = /^(\d+)/.exec(text ?? '');
  return match ? Number(match[1]) : null;
}

/**
 * `hw.memsize: 34359738368` (bytes), `vm.swapusage: total = 2048.00M  used = 1024.50M  free =
 * 1023.50M  (encrypted)`, then vm_stat: `Mach Virtual Memory Statistics: (page size of 16384
 * bytes)` and `Pages free:   12345.` lines. availableKb is what vm_stat counts free, inactive and speculative (pages the system can hand out
 * without swapping), as Activity Monitor's "memory available" roughly is.
 */
function memory(lines: readonly string[]): MacosInventory['memory'] {
  let totalKb: number | null = null;
  let swapTotalKb: number | null = null;
  let swapFreeKb: number | null = null;
  let pageSize: number | null = null;
  const pages: Record<string, number> = {};
  for (const line of lines) {
    const memsize = /^hw\.memsize:\s*(\d+)$/.exec(line);
    if (memsize) totalKb = Math.round(Number(memsize[1]) / 1024);
    const swap =
      /^vm\.swapusage:\s*total = ([\d.]+)([KMG])\s+used = [\d.]+[KMG]\s+free = ([\d.]+)([KMG])/.exec(line);
    if (swap) {
      swapTotalKb = toKb(Number(swap[1]), swap[2] as string);
      swapFreeKb = toKb(Number(swap[3]), swap[4] as string);
    }
    const size = /page size of (\d+) bytes/.exec(line);
    if (size) pageSize = Number(size[1]);
    const count = /^Pages ([a-z ]+):\s+(\d+)\.$/.exec(line);
    if (count) pages[count[1] as string] = Number(count[2]);
  }
  const free = pages.free;
  const availableKb =
    pageSize === null || free === undefined
      ? null
      : Math.round(((free + (pages.inactive ?? 0) + (pages.speculative ?? 0)) * pageSize) / 1024);
  return { totalKb, availableKb, swapTotalKb, swapFreeKb };
}

function toKb(value: number, unit: string): number {
  return Math.round(value * (unit === 'G' ? 1024 * 1024 : unit === 'M' ? 1024 : 1));
}

/**
 * ifconfig: an interface line `en0: flags=8863<UP,...> mtu 1500`, then its attributes; addresses
 * are `inet 192.168.1.23 netmask 0xffffff00 ...` and `inet6 fe80::1%en0 prefixlen 64 ...`.
 */
function network(lines: readonly string[]): MacosInventory['network'] {
  const out: MacosInventory['network'] = [];
  let name: string | undefined;
  for (const line of lines) {
    const header = /^([A-Za-z0-9_.-]+): flags=/.exec(line);
    if (header) {
      name = header[1];
      continue;
    }
    if (name === undefined) continue;
    const inet = /^inet (\d+\.\d+\.\d+\.\d+) netmask 0x([0-9a-fA-F]{8})/.exec(line);
    if (inet) {
      const bits = Number.parseInt(inet[2] as string, 16)
        .toString(2)
        .replace(/0/g, '').length;
      out.push({ name, family: 'inet', address: `${inet[1]}/${bits}` });
      continue;
    }
    const inet6 = /^inet6 ([0-9a-fA-F:]+)(?:%\S+)? prefixlen (\d+)/.exec(line);
    if (inet6) out.push({ name, family: 'inet6', address: `${inet6[1]}/${inet6[2]}` });
  }
  return out;
}
