import { disksOf, kernelOf, type PosixInventory, splitSections } from './sections.js';

/**
 * The Linux inventory collector: one POSIX sh script, run through the device's transport like any
 * command, printing one section per category; and the parser that turns its output into the JSON
 * stored in Inventory (one row per category) and the device's observed OS fields. Only read-only
 * commands that Debian, RHEL and Alpine have in their base system (cat, uname, df; `ip` when present).
 */
export const LINUX_COLLECTOR = [
  "echo '### os'; cat /etc/os-release 2>/dev/null",
  "echo '### kernel'; uname -s; uname -r; uname -m",
  "echo '### hostname'; hostname 2>/dev/null || cat /etc/hostname",
  "echo '### cpu'; grep -m1 '^model name' /proc/cpuinfo; grep -c '^processor' /proc/cpuinfo",
  "echo '### memory'; grep -E '^(MemTotal|MemAvailable|SwapTotal|SwapFree):' /proc/meminfo",
  "echo '### disks'; df -kP 2>/dev/null",
  "echo '### network'; if command -v ip >/dev/null 2>&1; then ip -o addr; else cat /proc/net/dev; fi",
].join('\n');

export interface LinuxInventory extends PosixInventory {
  os: { name: string | null; version: string | null; id: string | null; prettyName: string | null };
}

export type InventoryCategory = keyof LinuxInventory;

export const LINUX_INVENTORY_CATEGORIES: readonly InventoryCategory[] = [
  'os',
  'kernel',
  'hostname',
  'cpu',
  'memory',
  'disks',
  'network',
];

/** The observed Devices columns an inventory sets. */
export interface ObservedOs {
  OSName: string | null;
  OSVersion: string | null;
  OSBuild: string | null;
}

export function parseLinuxInventory(output: string): LinuxInventory {
  const sections = splitSections(output);
  if (!sections.has('os') || !sections.has('kernel')) {
    const excerpt = output.length > 80 ? `${output.slice(0, 80)}...` : output;
    throw new Error(
      `the output is not the Linux collector's (no "### os" section): ${JSON.stringify(excerpt)}`,
    );
  }
  const lines = (name: string) => sections.get(name) ?? [];
  const release = Object.fromEntries(
    lines('os').flatMap((line) => {
      const match = /^([A-Z_]+)=(.*)$/.exec(line);
      return match ? [[match[1], unquote(match[2] ?? '')]] : [];
    }),
  ) as Record<string, string>;
  const [cpuModelLine, cpuCount] = lines('cpu');
  const meminfo = Object.fromEntries(
    lines('memory').flatMap((line) => {
      const match = /^(\w+):\s+(\d+)/.exec(line);
      return match ? [[match[1], Number(match[2])]] : [];
    }),
  ) as Record<string, number>;
  return {
    os: {
      name: release.NAME ?? null,
      version: release.VERSION_ID ?? null,
      id: release.ID ?? null,
      prettyName: release.PRETTY_NAME ?? null,
    },
    kernel: kernelOf(lines('kernel')),
    hostname: { name: lines('hostname')[0] ?? null },
    cpu: {
      model: cpuModelLine?.replace(/^model name\s*:\s*/, '') ?? null,
      cores: cpuCount !== undefined && /^\d+$/.test(cpuCount) ? Number(cpuCount) : null,
    },
    memory: {
      totalKb: meminfo.MemTotal ?? null,
      availableKb: meminfo.MemAvailable ?? null,
      swapTotalKb: meminfo.SwapTotal ?? null,
      swapFreeKb: meminfo.SwapFree ?? null,
    },
    disks: disksOf(lines('disks')),
    network: lines('network').flatMap((line) => {
      // `ip -o addr`: "2: eth0    inet 192.0.2.2/24 brd ... scope global eth0\ ..."
      const match = /^\d+:\s+(\S+)\s+(inet6?)\s+(\S+)/.exec(line);
      return match
        ? [{ name: match[1] as string, family: match[2] as string, address: match[3] as string }]
        : [];
    }),
  };
}

export function observedOs(inventory: LinuxInventory): ObservedOs {
  return {
    OSName: inventory.os.prettyName ?? inventory.os.name,
    OSVersion: inventory.os.version,
    OSBuild: inventory.kernel.release,
  };
}

function unquote(value: string): string {
  const match = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return match ? (match[1] as string).replace(/\\(["\\$`])/g, '$1') : value;
}
