import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';

/**
 * The test peer runs no PowerShell. For file transfer it answers the plugin's two transfer scripts
 * (plugins/winrm/src/transfer.ts) the way they behave on Windows: put decodes base64 lines from
 * stdin into the file and prints its SHA-256; get prints the file as base64 lines, then its
 * SHA-256. The scripts themselves are checked by the PowerShell grammar, not run. Any other
 * script gets `fallback`.
 */
export interface PowershellReply {
  stdout: Buffer | string;
  stderr?: Buffer | string;
  exitCode: number;
}

type Fallback = (script: string, stdin: Buffer) => Promise<PowershellReply>;

export function transferEmulator(fallback: Fallback = async () => ({ stdout: '', exitCode: 0 })) {
  return async (script: string, stdin: Buffer): Promise<PowershellReply> => {
    const kind = /^# rmm:(put|get)-file v1/.exec(script)?.[1];
    if (!kind) return fallback(script, stdin);
    const quoted = /^\$path = '((?:[^']|'')*)'$/m.exec(script)?.[1];
    if (quoted === undefined) return { stdout: '', stderr: 'no $path in the script', exitCode: 1 };
    const path = quoted.replace(/''/g, "'");
    try {
      if (kind === 'put') {
        const lines = stdin.toString('latin1').split(/\r?\n/).filter(Boolean);
        const data = Buffer.concat(lines.map((line) => Buffer.from(line, 'base64')));
        await writeFile(path, data);
        return { stdout: `sha256:${sha256(data)}\r\n`, exitCode: 0 };
      }
      const data = await readFile(path);
      const lines: string[] = [];
      for (let offset = 0; offset < data.length; offset += 48 * 1024)
        lines.push(data.subarray(offset, offset + 48 * 1024).toString('base64'));
      return { stdout: `${lines.map((l) => `${l}\r\n`).join('')}sha256:${sha256(data)}\r\n`, exitCode: 0 };
    } catch (error) {
      // What PowerShell prints for a missing file, more or less: the plugin shows stderr as it is.
      return { stdout: '', stderr: `Exception: ${(error as Error).message}\r\n`, exitCode: 1 };
    }
  };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
