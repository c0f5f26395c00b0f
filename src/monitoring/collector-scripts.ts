import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { powershellInvocation } from '../actions/powershell.js';
import { packageRoot } from '../paths.js';
import { type CollectorRequest, requestText } from './collector-request.js';

/**
 * The metric collectors, shipped as files under collectors/ (so they can be syntax-checked and read
 * as shell and PowerShell), and the one command that asks a device for every metric it owes in a
 * cycle. Linux and macOS get collectors/posix/metrics-common.sh followed by their own part, run by
 * the login shell, with the request on stdin; Windows gets collectors/windows/metrics.ps1 as an
 * encoded PowerShell command with the request inside it as base64 (stdin may be carrying the
 * script itself, see powershellInvocation).
 */
export type CollectorOs = 'linux' | 'macos' | 'windows';

export const METRIC_COLLECTOR_FILES: Readonly<Record<CollectorOs, readonly string[]>> = {
  linux: ['posix/metrics-common.sh', 'linux/metrics.sh'],
  macos: ['posix/metrics-common.sh', 'macos/metrics.sh'],
  windows: ['windows/metrics.ps1'],
};

export interface CollectorInvocation {
  command: string;
  stdin?: string;
}

const scripts = new Map<CollectorOs, Promise<string>>();

/** The collector script of an OS; read once per process. */
export function loadMetricCollector(os: CollectorOs): Promise<string> {
  let script = scripts.get(os);
  if (!script) {
    script = Promise.all(
      METRIC_COLLECTOR_FILES[os].map((file) => readFile(path.join(packageRoot, 'collectors', file), 'utf8')),
    ).then((parts) => parts.join('\n'));
    scripts.set(os, script);
  }
  return script;
}

/** A device of no declared OS is asked as a Linux one, as inventory does. */
export async function collectorInvocation(
  os: CollectorOs | null,
  request: CollectorRequest,
): Promise<CollectorInvocation> {
  const script = await loadMetricCollector(os ?? 'linux');
  const wanted = requestText(request);
  if (os !== 'windows') return { command: script, stdin: wanted };
  const encoded = Buffer.from(wanted, 'utf8').toString('base64');
  return powershellInvocation(`$RmmRequest = '${encoded}'\r\n${script}`);
}
