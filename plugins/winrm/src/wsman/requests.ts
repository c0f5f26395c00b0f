import { type EnvelopeContext, envelope } from './envelope.js';
import { ACTION, SIGNAL } from './uris.js';
import { element, textElement } from './xml-write.js';

export interface CreateShellOptions {
  /** The console code page of the shell; 65001 (UTF-8) unless told otherwise. */
  codepage?: number;
  /** Skip loading the user profile (WINRS_NOPROFILE). */
  noProfile?: boolean;
  workingDirectory?: string;
  environment?: Record<string, string>;
  inputStreams?: 'stdin';
  outputStreams?: 'stdout stderr';
}

export interface CommandOptions {
  /** Run the command directly instead of through `cmd.exe /c` (WINRS_SKIP_CMD_SHELL); false by default. */
  skipCmdShell?: boolean;
  /** Give the command console-mode stdin (WINRS_CONSOLEMODE_STDIN); true by default, as winrs does. */
  consoleModeStdin?: boolean;
}

const UTF8_CODEPAGE = 65001;

/** wst:Create of a cmd shell; the response names the shell (see parseShellId). */
export function createShellEnvelope(ctx: EnvelopeContext, options: CreateShellOptions = {}): string {
  const shell = [
    textElement('rsp:InputStreams', {}, options.inputStreams ?? 'stdin'),
    textElement('rsp:OutputStreams', {}, options.outputStreams ?? 'stdout stderr'),
  ];
  if (options.workingDirectory) shell.push(textElement('rsp:WorkingDirectory', {}, options.workingDirectory));
  const variables = Object.entries(options.environment ?? {});
  if (variables.length > 0) {
    const list = variables.map(([name, value]) => textElement('rsp:Variable', { Name: name }, value));
    shell.push(element('rsp:Environment', {}, list));
  }
  return envelope(ctx, {
    action: ACTION.create,
    options: [
      ['WINRS_NOPROFILE', flag(options.noProfile ?? false)],
      ['WINRS_CODEPAGE', String(options.codepage ?? UTF8_CODEPAGE)],
    ],
    body: [element('rsp:Shell', {}, shell)],
  });
}

/**
 * Starts `command args...` in the shell; the response carries its CommandId. Windows joins command
 * and arguments with spaces and quotes nothing, so arguments must arrive quoted for cmd.exe already.
 */
export function commandEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  command: string,
  args: string[],
  options: CommandOptions = {},
): string {
  const commandLine = [textElement('rsp:Command', {}, command)];
  if (args.length > 0) commandLine.push(textElement('rsp:Arguments', {}, args.join(' ')));
  return envelope(ctx, {
    action: ACTION.command,
    shellId,
    options: [
      ['WINRS_CONSOLEMODE_STDIN', flag(options.consoleModeStdin ?? true)],
      ['WINRS_SKIP_CMD_SHELL', flag(options.skipCmdShell ?? false)],
    ],
    body: [element('rsp:CommandLine', {}, commandLine)],
  });
}

/** Writes `data` to the command's stdin; `end` closes stdin after it. */
export function sendEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string,
  data: Buffer,
  end: boolean,
): string {
  const stream = textElement(
    'rsp:Stream',
    { Name: 'stdin', CommandId: commandId, End: end ? 'true' : undefined },
    data.toString('base64'),
  );
  return envelope(ctx, { action: ACTION.send, shellId, body: [element('rsp:Send', {}, [stream])] });
}

/** Asks for the output produced since the last Receive; the server holds it up to the operation timeout. */
export function receiveEnvelope(ctx: EnvelopeContext, shellId: string, commandId: string): string {
  const desired = textElement('rsp:DesiredStream', { CommandId: commandId }, 'stdout stderr');
  return envelope(ctx, { action: ACTION.receive, shellId, body: [element('rsp:Receive', {}, [desired])] });
}

export function signalEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string,
  signal: 'terminate' | 'ctrl_c',
): string {
  const code = textElement('rsp:Code', {}, SIGNAL[signal]);
  return envelope(ctx, {
    action: ACTION.signal,
    shellId,
    body: [element('rsp:Signal', { CommandId: commandId }, [code])],
  });
}

/** wst:Delete of the shell; the Body stays empty. */
export function deleteShellEnvelope(ctx: EnvelopeContext, shellId: string): string {
  return envelope(ctx, { action: ACTION.delete, shellId, body: [] });
}

// Windows ids are 36-character GUIDs; room for longer ones keeps the bound safe for other servers.
const RESERVED_ID = 'X'.repeat(128);
// Three bytes, four base64 characters: measured with content, the Stream element has its closing tag.
const PROBE = Buffer.alloc(3);

/**
 * The largest stdin chunk (raw bytes) a Send can carry under ctx.maxEnvelopeSize: the envelope
 * without data is measured as sent (UTF-8, ids of up to 128 characters), and the rest goes to
 * base64, 4 characters for every 3 bytes. A multiple of 3, so no chunk but the last is padded.
 */
export function maxSendChunk(ctx: EnvelopeContext): number {
  const overhead = Buffer.byteLength(sendEnvelope(ctx, RESERVED_ID, RESERVED_ID, PROBE, true)) - 4;
  const chunk = Math.floor((ctx.maxEnvelopeSize - overhead) / 4) * 3;
  if (chunk <= 0) {
    throw new RangeError(
      `maxEnvelopeSize ${ctx.maxEnvelopeSize} leaves no room for stdin (a Send needs ${overhead} bytes)`,
    );
  }
  return chunk;
}

function flag(value: boolean): string {
  return value ? 'TRUE' : 'FALSE';
}
