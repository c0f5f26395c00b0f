import { randomBytes } from 'node:crypto';

/**
 * PID_LINE. Where sshd refuses to signal a session (root logins: OpenSSH only signals from its
 * privilege-separated child, which root sessions do not have), nothing else names the remote
 * process. So commands for Linux and macOS targets are sent as `printf 'rmm-pid-NONCE %s\n' "$$";
 * COMMAND`: the line is taken out of stdout (matched by its random nonce, within the first 64 KiB
 * in case a start-up file printed first) and its pid used only to kill a command that ran too long.
 * Windows targets (cmd.exe, PowerShell) and targets of unknown OS get the command unchanged.
 */
export function withPidLine(command: string): { sent: string; nonce: string } {
  const nonce = randomBytes(6).toString('hex');
  return { sent: `printf 'rmm-pid-${nonce} %s\\n' "$$"; ${command}`, nonce };
}

/** Where the pid line of `nonce` is in stdout, and the pid it reports. */
export function pidLine(
  stdout: Buffer,
  nonce: string,
): { start: number; end: number; pid: number } | undefined {
  // latin1 maps bytes one to one, so string offsets are buffer offsets.
  const head = stdout.subarray(0, 65_536).toString('latin1');
  const match = new RegExp(`rmm-pid-${nonce} (\\d+)\n`).exec(head);
  if (!match) return undefined;
  return { start: match.index, end: match.index + match[0].length, pid: Number(match[1]) };
}

/** The command's own stdout: the pid line, where there is one, taken out. */
export function withoutPidLine(stdout: Buffer, nonce: string): Buffer {
  const line = pidLine(stdout, nonce);
  return line ? Buffer.concat([stdout.subarray(0, line.start), stdout.subarray(line.end)]) : stdout;
}
