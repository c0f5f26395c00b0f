import { pino } from 'pino';
import type { ServiceLog } from '../service/service-log.js';

/**
 * rmm serve's log: JSON lines on stderr through pino (one object per line, `time` in epoch ms,
 * `level` as pino's numbers), for journald, a container runtime or jq. On a terminal the same
 * lines are shown as `HH:MM:SS LEVEL message key=value`, by a few lines of our own rather than
 * pino-pretty, which brings a dozen packages and a worker thread for what is one format call.
 * Fields that could hold a secret are censored by pino's redaction as a second line of defence:
 * the service logs credential references only, never their values.
 */
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

export function serviceLogger(stream: NodeJS.WriteStream = process.stderr): ServiceLog {
  const options = {
    base: { pid: process.pid },
    redact: { paths: ['secret', 'password', '*.secret', '*.password'], censor: '(sensitive)' },
  };
  const destination = stream.isTTY
    ? { write: (line: string) => stream.write(readable(line)) }
    : pino.destination({ dest: 2, sync: true });
  return pino(options, destination);
}

/** One JSON line as a line for people. */
export function readable(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, pid: _pid, hostname: _host, ...fields } = entry;
  const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 19) : '';
  const rest = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${[clock, LEVELS[level as number] ?? String(level), String(msg ?? ''), ...rest].join(' ')}\n`;
}
