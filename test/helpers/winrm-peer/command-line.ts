/**
 * Reading a WinRS command line: Windows joins rsp:Command and every rsp:Arguments with spaces and
 * hands the result to cmd.exe (or, with WINRS_SKIP_CMD_SHELL, to CreateProcess). The peer needs to
 * split it only to spot `powershell -EncodedCommand` and to run a command without a shell.
 */

export function joinCommandLine(command: string, args: readonly string[]): string {
  return [command, ...args].join(' ');
}

/**
 * Splits like the Microsoft C runtime, simplified: whitespace separates, double quotes group, and
 * `\"` is a literal quote. Enough for the argument lists clients send; not a cmd.exe parser.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    if (c === '\\' && line.charAt(i + 1) === '"') {
      word += '"';
      inWord = true;
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

const POWERSHELL_NAMES = new Set(['powershell', 'powershell.exe']);

/**
 * The script of `powershell ... -EncodedCommand <base64 of UTF-16LE>`, or undefined when the line is
 * something else. Windows PowerShell accepts any unambiguous prefix of the parameter name (-e, -en,
 * -enc ... -encodedcommand) and the alias -ec, with - or / and in any case.
 */
export function encodedPowershellScript(commandLine: string): string | undefined {
  const [program, ...args] = splitCommandLine(commandLine);
  if (program === undefined) return undefined;
  const base = program.split(/[\\/]/).pop()?.toLowerCase() ?? '';
  if (!POWERSHELL_NAMES.has(base)) return undefined;
  for (let i = 0; i < args.length - 1; i++) {
    const arg = args[i] ?? '';
    if (!/^[-/]/.test(arg)) continue;
    const name = arg.slice(1).toLowerCase();
    if (name === 'ec' || (name.length > 0 && 'encodedcommand'.startsWith(name)))
      return Buffer.from(args[i + 1] ?? '', 'base64').toString('utf16le');
  }
  return undefined;
}
