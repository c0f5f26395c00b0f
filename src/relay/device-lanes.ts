/**
 * The relay's order of work: one action at a time per device (a second waits, first come first
 * served), and per transport at most `width(transport)` at once, as the console's runner windows
 * them. Pure bookkeeping, no timers: the agent adds what arrives, takes what may start, and says
 * when each is done.
 */
export interface LaneItem {
  id: string;
  device: string;
  transport: string;
}

export class DeviceLanes<T extends LaneItem> {
  /** In arrival order; what may start is the first whose device and transport have room. */
  private readonly waiting: T[] = [];
  private readonly busyDevices = new Set<string>();
  private readonly perTransport = new Map<string, number>();
  private runningCount = 0;

  constructor(private readonly width: (transport: string) => number) {}

  add(item: T): void {
    this.waiting.push(item);
  }

  /** The next item that may start now, marked running; undefined when none may. */
  next(): T | undefined {
    // Bounded by the waiting list, scanned once.
    for (let i = 0; i < this.waiting.length; i++) {
      const item = this.waiting[i] as T;
      if (this.busyDevices.has(item.device)) continue;
      const inUse = this.perTransport.get(item.transport) ?? 0;
      if (inUse >= Math.max(1, this.width(item.transport))) continue;
      this.waiting.splice(i, 1);
      this.busyDevices.add(item.device);
      this.perTransport.set(item.transport, inUse + 1);
      this.runningCount++;
      return item;
    }
    return undefined;
  }

  done(item: T): void {
    if (!this.busyDevices.delete(item.device)) return;
    this.perTransport.set(item.transport, (this.perTransport.get(item.transport) ?? 1) - 1);
    this.runningCount--;
  }

  /** Takes every waiting item out (a relay stopping hands them back to the queue). */
  drainWaiting(): T[] {
    return this.waiting.splice(0);
  }

  get running(): number {
    return this.runningCount;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }
}
