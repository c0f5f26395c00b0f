/**
 * A POSIX collector's output cut at its `### NAME` header lines: section name -> its non-empty
 * lines, trimmed, CR dropped (a Windows OpenSSH relay may add them).
 */
export function splitSections(output: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const header = /^### (\w+)$/.exec(line);
    if (header) {
      current = [];
      sections.set(header[1] as string, current);
    } else if (current && line.trim() !== '') current.push(line.trim());
  }
  return sections;
}

/** What the Linux and macOS collectors both report, in the same shapes. */
export interface PosixInventory {
  kernel: { name: string | null; release: string | null; machine: string | null };
  hostname: { name: string | null };
  cpu: { model: string | null; cores: number | null };
  memory: {
    totalKb: number | null;
    availableKb: number | null;
    swapTotalKb: number | null;
    swapFreeKb: number | null;
  };
  disks: Array<{ filesystem: string; sizeKb: number; usedKb: number; availableKb: number; mount: string }>;
  /** Addresses with their prefix length: `192.168.1.23/24`, `fe80::1/64`. */
  network: Array<{ name: string; family: string; address: string }>;
}

/** `uname -s; uname -r; uname -m`. */
export function kernelOf(lines: readonly string[]): PosixInventory['kernel'] {
  const [name, release, machine] = lines;
  return { name: name ?? null, release: release ?? null, machine: machine ?? null };
}

/**
 * `df -kP`, header skipped. Filesystems and mount points may hold spaces (`map auto_home`), so a
 * row is read from its numbers.
 */
export function disksOf(lines: readonly string[]): PosixInventory['disks'] {
  return lines.flatMap((line) => {
    const match = /^(.+?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(?:\d+%|-)\s+(.+)$/.exec(line);
    if (!match) return [];
    return [
      {
        filesystem: match[1] as string,
        sizeKb: Number(match[2]),
        usedKb: Number(match[3]),
        availableKb: Number(match[4]),
        mount: match[5] as string,
      },
    ];
  });
}
