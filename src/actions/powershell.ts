/**
 * PowerShell on Windows endpoints, over any transport that runs cmd.exe commands (Windows OpenSSH's
 * default shell, WinRM's cmd shell): the script travels as `powershell -EncodedCommand` with its
 * UTF-16LE text in base64, so no quoting of cmd.exe or PowerShell can change it. A command line is
 * limited to 8191 characters; a longer script goes on stdin to a small bootstrap that reads it whole
 * and runs it.
 */
export const MAX_COMMAND_LINE = 8191;

const PREFIX = 'powershell -NoProfile -NonInteractive -EncodedCommand ';

export function encodedCommand(script: string): string {
  return PREFIX + Buffer.from(script, 'utf16le').toString('base64');
}

/** Reads the whole script from stdin and runs it in the current scope. */
const BOOTSTRAP = '$script = [Console]::In.ReadToEnd(); . ([ScriptBlock]::Create($script))';

export function powershellInvocation(script: string): { command: string; stdin?: string } {
  const command = encodedCommand(script);
  if (command.length <= MAX_COMMAND_LINE) return { command };
  return { command: encodedCommand(BOOTSTRAP), stdin: script };
}

/** The script an encoded command carries (for tests and for the WinRM test peer). */
export function decodeEncodedCommand(command: string): string | undefined {
  if (!command.startsWith(PREFIX)) return undefined;
  return Buffer.from(command.slice(PREFIX.length), 'base64').toString('utf16le');
}
