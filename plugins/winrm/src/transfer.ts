import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { ExecOptions, ExecResult, Fail, TransferOptions } from 'rmm/plugin';

/**
 * File transfer over the remote shell: WinRM has no file channel, so a small PowerShell script
 * runs on the device and the bytes travel as base64 lines, on the command's stdin (put, in Send
 * chunks under the envelope limit) or its stdout (fetch). Both sides compute SHA-256 and a
 * mismatch fails the transfer. Windows has no POSIX file modes: TransferOptions.mode is ignored.
 */
interface Runner {
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
}

interface Context {
  where: string;
  fail: Fail;
}

/** Raw bytes per base64 line: 48 KiB becomes a 64 KiB line, well under any envelope limit once split by Send. */
const LINE_BYTES = 48 * 1024;

/** The script putFile runs; `{{PATH}}` becomes the quoted remote path. Exported for the grammar check. */
export const PUT_SCRIPT = `# rmm:put-file v1
$ErrorActionPreference = 'Stop'
$path = {{PATH}}
$in = [Console]::In
$file = [IO.File]::Open($path, [IO.FileMode]::Create, [IO.FileAccess]::Write)
try {
  while ($true) {
    $line = $in.ReadLine()
    if ($null -eq $line) { break }
    if ($line.Length -gt 0) {
      $bytes = [Convert]::FromBase64String($line)
      $file.Write($bytes, 0, $bytes.Length)
    }
  }
} finally {
  $file.Close()
}
$sha = [Security.Cryptography.SHA256]::Create()
$read = [IO.File]::OpenRead($path)
try {
  $hash = $sha.ComputeHash($read)
} finally {
  $read.Close()
}
[Console]::Out.WriteLine('sha256:' + ([BitConverter]::ToString($hash) -replace '-', '').ToLowerInvariant())
`;

/** The script fetchFile runs: base64 lines of the file, then its SHA-256. */
export const GET_SCRIPT = `# rmm:get-file v1
$ErrorActionPreference = 'Stop'
$path = {{PATH}}
$read = [IO.File]::OpenRead($path)
$sha = [Security.Cryptography.SHA256]::Create()
$buffer = New-Object byte[] ${LINE_BYTES}
$out = [Console]::Out
try {
  while (($n = $read.Read($buffer, 0, $buffer.Length)) -gt 0) {
    $out.WriteLine([Convert]::ToBase64String($buffer, 0, $n))
    [void]$sha.TransformBlock($buffer, 0, $n, $null, 0)
  }
  [void]$sha.TransformFinalBlock($buffer, 0, 0)
} finally {
  $read.Close()
}
$out.WriteLine('sha256:' + ([BitConverter]::ToString($sha.Hash) -replace '-', '').ToLowerInvariant())
`;

/** A PowerShell single-quoted string: only the quote itself needs doubling. */
export function quotePowershell(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/** `powershell -EncodedCommand`: UTF-16LE in base64, which no cmd.exe or PowerShell quoting alters. */
export function encodedPowershell(script: string): string {
  return `powershell -NoProfile -NonInteractive -EncodedCommand ${Buffer.from(script, 'utf16le').toString('base64')}`;
}

export function transferScript(template: string, remotePath: string): string {
  return template.replace('{{PATH}}', quotePowershell(remotePath));
}

export async function putFile(
  session: Runner,
  localPath: string,
  remotePath: string,
  options: TransferOptions,
  context: Context,
): Promise<void> {
  checkPath(remotePath, context);
  const data = await readFile(localPath);
  const lines: string[] = [];
  for (let offset = 0; offset < data.length; offset += LINE_BYTES)
    lines.push(data.subarray(offset, offset + LINE_BYTES).toString('base64'));
  const result = await session.exec(encodedPowershell(transferScript(PUT_SCRIPT, remotePath)), {
    stdin: lines.length ? `${lines.join('\n')}\n` : '',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const reported = checkResult(result, `put ${remotePath}`, context);
  const expected = sha256(data);
  if (reported !== expected)
    throw context.fail(
      'protocol',
      `${context.where}: put ${remotePath}: the device has SHA-256 ${reported}, the local file ${expected}`,
      { commandSent: true },
    );
}

export async function fetchFile(
  session: Runner,
  remotePath: string,
  localPath: string,
  options: TransferOptions,
  context: Context,
): Promise<void> {
  checkPath(remotePath, context);
  const result = await session.exec(encodedPowershell(transferScript(GET_SCRIPT, remotePath)), {
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const reported = checkResult(result, `fetch ${remotePath}`, context);
  const text = result.stdout.toString('latin1');
  const body = text.slice(0, text.lastIndexOf('sha256:'));
  const data = Buffer.concat(
    body
      .split(/\r?\n/)
      .filter((line) => line.length > 0)
      .map((line) => Buffer.from(line, 'base64')),
  );
  const got = sha256(data);
  if (got !== reported)
    throw context.fail(
      'protocol',
      `${context.where}: fetch ${remotePath}: received SHA-256 ${got}, the device reported ${reported}`,
      { commandSent: true },
    );
  await writeFile(localPath, data, { mode: options.mode ?? 0o644 });
}

/** The script's last line is `sha256:<hex>`; anything else is its failure, told in its own words. */
function checkResult(result: ExecResult, what: string, context: Context): string {
  const match = /sha256:([0-9a-f]{64})\s*$/.exec(result.stdout.toString('latin1'));
  if (result.exitCode === 0 && match?.[1]) return match[1];
  const why = result.stderr.toString('utf8').trim() || `exit ${result.exitCode}`;
  throw context.fail('protocol', `${context.where}: ${what} failed: ${why.slice(0, 500)}`, {
    commandSent: true,
  });
}

function checkPath(remotePath: string, context: Context): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (!remotePath || /[\u0000-\u001f]/.test(remotePath))
    throw context.fail(
      'protocol',
      `${context.where}: ${JSON.stringify(remotePath)} is not a usable remote path`,
    );
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
