/** Color only for a person at a terminal: never in pipes, files or CI logs, and never with NO_COLOR. */
export function colorEnabled(
  stream: NodeJS.WriteStream = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

const codes = { red: 31, green: 32, yellow: 33, magenta: 35, cyan: 36, dim: 2, bold: 1 } as const;
export type Color = keyof typeof codes;

/** The SGR parameters rmm writes (its colors and the reset): the only escapes views/output.ts lets out. */
export const COLOR_CODES: readonly number[] = [0, ...Object.values(codes)];

export function paint(enabled: boolean) {
  return (color: Color, text: string): string => (enabled ? `\u001b[${codes[color]}m${text}\u001b[0m` : text);
}
