/** What evaluation reads of a monitor once policies are resolved for a device (shared shape of issue 12). */
export interface EffectiveMonitor {
  policy: string;
  name: string;
  metric: string;
  /** Narrows the metric to the instances with these labels; empty applies to every instance. */
  match: Readonly<Record<string, string>>;
  op: '>' | '>=' | '<' | '<=' | '==' | '!=';
  threshold: number;
  forMs: number;
  intervalMs: number;
  severity: 'Info' | 'Warning' | 'Critical';
  autoResolve: boolean;
}

/**
 * The device-offline alert is a monitor rmm adds to every device: `device.reachable == 0` (the
 * console's own probe) held for the offline threshold, resolved as soon as the device answers. Its
 * policy is empty, which no declared policy's name can be.
 */
export const DEVICE_OFFLINE = { policy: '', name: 'device-offline' } as const;

export function deviceOfflineMonitor(options: {
  afterMs: number;
  intervalMs: number;
  severity?: EffectiveMonitor['severity'];
}): EffectiveMonitor {
  return {
    ...DEVICE_OFFLINE,
    metric: 'device.reachable',
    match: {},
    op: '==',
    threshold: 0,
    forMs: options.afterMs,
    intervalMs: options.intervalMs,
    severity: options.severity ?? 'Critical',
    autoResolve: true,
  };
}

export function conditionHolds(op: EffectiveMonitor['op'], value: number, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/** Whether a series with these labels is one the monitor watches. */
export function matchesInstance(
  match: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const name in match) if (labels[name] !== match[name]) return false;
  return true;
}
