// CPU and process-tree readings from /proc, shared by the benchmarks that measure servers and
// long-lived processes (an sshd, nats-server, a relay) around each run.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime + cutime + cstime of a process (its reaped children included), in clock ticks. */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
}

export const ticksToMs = (ticks) => (ticks * 1000) / CLK_TCK;

/** The machine's busy CPU (all cores: user, nice, system, irq, softirq, steal) in clock ticks. */
export function busyTicks() {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]
    .split(/\s+/)
    .map(Number);
  return user + nice + system + irq + softirq + steal;
}

/** pid -> parent pid of every process now. */
export function parents() {
  const map = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {} // gone meanwhile
  }
  return map;
}

export function descendants(pid) {
  const ppid = parents();
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, parent] of ppid)
      if (!tree.has(p) && tree.has(parent)) {
        tree.add(p);
        grew = true;
      }
  }
  return tree;
}

/** The sshd has reaped every connection of the last run (bounded: 30 s). */
export async function sshdIdle(pid, label) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (![...parents().values()].includes(pid)) return;
    await sleep(100);
  }
  throw new Error(`${label}: the sshd still has connections 30 s after the run`);
}
