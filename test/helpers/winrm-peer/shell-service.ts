import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { inputTranscoder, outputTranscoder } from './codepage.js';
import { encodedPowershellScript, joinCommandLine } from './command-line.js';
import type { StreamName } from './command-output.js';
import { LocalCommand } from './local-command.js';
import { RecordedPowershell } from './recorded-powershell.js';
import type { ShellCommand } from './shell-command.js';
import {
  commandResponseBody,
  createResponseBody,
  RECEIVE_ENVELOPE_OVERHEAD,
  receiveResponseBody,
  STREAM_ELEMENT_OVERHEAD,
} from './shell-replies.js';
import type { SoapRequest } from './soap-request.js';
import { envelope, newUuid } from './soap-writer.js';
import type { PeerFaults, PeerStats, PowershellHandler, PowershellRecord } from './types.js';
import { ACTION, CMD_RESOURCE_URI, NS, SIGNAL } from './uris.js';
import {
  actionNotSupported,
  commandNotFound,
  invalidDirectory,
  operationTimedOut,
  resourceNotFound,
  schemaValidation,
  shellIdMissing,
  shellNotFound,
  tooManyShells,
} from './wsman-faults.js';
import { child, children, type XmlElement } from './xml-tree.js';

export interface ShellServiceOptions {
  maxShellsPerUser: number;
  onPowershell: PowershellHandler | undefined;
  powershell: PowershellRecord[];
  stats: PeerStats;
  faults: PeerFaults;
}

/** Who sent a request and how to notice that they went away. */
export interface RequestContext {
  user: string;
  clientAddress: string;
  /** The URL the client addressed, which Create echoes back (a:Address). */
  endpointUrl: string;
  signal: AbortSignal;
}

/** A SOAP reply, or the instruction to destroy the connection instead (a fault injection). */
export type ShellReply = { kind: 'reply'; xml: string } | { kind: 'drop' };

interface Shell {
  id: string;
  owner: string;
  codepage: number;
  noProfile: boolean;
  workingDirectory: string | undefined;
  environment: Record<string, string>;
  inputStreams: string;
  outputStreams: string;
  commands: Map<string, ShellCommand>;
}

/** Windows' default when a client asks for no code page: the OEM code page of en-US. */
const DEFAULT_CODEPAGE = 437;
/** WinRM's MaxTimeoutms default: longer OperationTimeouts are cut to this. */
const MAX_OPERATION_TIMEOUT_MS = 60_000;
/** What the peer waits for when a request carries no OperationTimeout (Windows: 60 s). */
const DEFAULT_OPERATION_TIMEOUT_MS = 60_000;
/** Once output is there, a Receive waits this long for more (or for the exit) to save a round trip. */
const COALESCE_MS = 5;
/** Bounds a Receive's wait loop; each turn is one wake-up by output or the timeout. */
const MAX_WAIT_TURNS = 10_000;

/**
 * The Windows Remote Shell (resource URI .../windows/shell/cmd): Create, Command, Send, Receive,
 * Signal and Delete, with the replies and faults Windows gives. Transport and authentication are
 * someone else's job; this gets a parsed request and the authenticated user.
 */
export class ShellService {
  private readonly shells = new Map<string, Shell>();

  constructor(private readonly options: ShellServiceOptions) {}

  async handle(request: SoapRequest, context: RequestContext): Promise<ShellReply> {
    const handler = this.handlers[request.action];
    if (handler === undefined) throw actionNotSupported(request.action);
    if (request.resourceUri === undefined) throw schemaValidation('the header has no w:ResourceURI');
    if (request.resourceUri !== CMD_RESOURCE_URI) throw resourceNotFound(request.resourceUri);
    return handler(request, context);
  }

  /** Kills every command of every shell: for stop(). */
  closeAll(): void {
    for (const shell of this.shells.values()) this.closeShell(shell);
  }

  private readonly handlers: Record<string, (r: SoapRequest, c: RequestContext) => Promise<ShellReply>> = {
    [ACTION.create]: async (r, c) => this.create(r, c),
    [ACTION.command]: async (r, c) => this.command(r, c),
    [ACTION.send]: async (r) => this.send(r),
    [ACTION.receive]: async (r, c) => this.receive(r, c),
    [ACTION.signal]: async (r) => this.signal(r),
    [ACTION.delete]: async (r) => this.delete(r),
  };

  private create(request: SoapRequest, context: RequestContext): ShellReply {
    const body = request.body;
    if (body === undefined || body.ns !== NS.shell || body.name !== 'Shell')
      throw schemaValidation('Create needs an rsp:Shell body');
    const owner = context.user.toLowerCase();
    const open = [...this.shells.values()].filter((shell) => shell.owner === owner).length;
    if (open >= this.options.maxShellsPerUser) throw tooManyShells(this.options.maxShellsPerUser);
    const codepage = Number.parseInt(request.options.get('WINRS_CODEPAGE') ?? '', 10);
    const environment: Record<string, string> = {};
    for (const variable of children(child(body, NS.shell, 'Environment'), NS.shell, 'Variable')) {
      const name = variable.attributes.Name;
      if (name !== undefined) environment[name] = variable.text;
    }
    const shell: Shell = {
      id: newUuid(),
      owner,
      codepage: Number.isInteger(codepage) && codepage > 0 ? codepage : DEFAULT_CODEPAGE,
      noProfile: (request.options.get('WINRS_NOPROFILE') ?? '').toLowerCase() === 'true',
      workingDirectory: child(body, NS.shell, 'WorkingDirectory')?.text.trim() || undefined,
      environment,
      inputStreams: child(body, NS.shell, 'InputStreams')?.text.trim() || 'stdin',
      outputStreams: child(body, NS.shell, 'OutputStreams')?.text.trim() || 'stdout stderr',
      commands: new Map(),
    };
    this.shells.set(shell.id, shell);
    this.options.stats.shellsCreated++;
    this.options.stats.shellsOpen++;
    const reply = createResponseBody({
      id: shell.id,
      endpointUrl: context.endpointUrl,
      owner: context.user,
      clientAddress: context.clientAddress,
      inputStreams: shell.inputStreams,
      outputStreams: shell.outputStreams,
    });
    return this.reply(`${ACTION.create}Response`, request, reply);
  }

  private async command(request: SoapRequest, context: RequestContext): Promise<ShellReply> {
    if (this.options.faults.dropConnectionOnCommand > 0) {
      this.options.faults.dropConnectionOnCommand--;
      return { kind: 'drop' };
    }
    const shell = this.shellOf(request);
    const body = request.body;
    if (body === undefined || body.ns !== NS.shell || body.name !== 'CommandLine')
      throw schemaValidation('Command needs an rsp:CommandLine body');
    const program = child(body, NS.shell, 'Command')?.text.trim();
    if (!program) throw schemaValidation('rsp:CommandLine has no rsp:Command');
    const commandLine = joinCommandLine(
      program,
      children(body, NS.shell, 'Arguments').map((argument) => argument.text),
    );
    const id = body.attributes.CommandId?.trim() || newUuid();
    const command = await this.startCommand(shell, id, commandLine, request, context);
    if (context.signal.aborted || this.shells.get(shell.id) !== shell) {
      command.kill(); // The client or the shell went away while the process started.
      return { kind: 'drop' };
    }
    shell.commands.set(id, command);
    this.options.stats.commands++;
    return this.reply(`${ACTION.command}Response`, request, commandResponseBody(id));
  }

  private async startCommand(
    shell: Shell,
    id: string,
    commandLine: string,
    request: SoapRequest,
    context: RequestContext,
  ): Promise<ShellCommand> {
    const encodeOutput = () => outputTranscoder(shell.codepage);
    const script = encodedPowershellScript(commandLine);
    if (script !== undefined) {
      const record = (entry: PowershellRecord) => this.options.powershell.push(entry);
      return new RecordedPowershell(id, script, this.options.onPowershell, record, encodeOutput);
    }
    if (shell.workingDirectory !== undefined) {
      const isDirectory = await stat(shell.workingDirectory).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!isDirectory) throw invalidDirectory(shell.workingDirectory);
    }
    return LocalCommand.start({
      id,
      commandLine,
      skipCmdShell: (request.options.get('WINRS_SKIP_CMD_SHELL') ?? '').toLowerCase() === 'true',
      cwd: shell.workingDirectory,
      env: this.environment(shell, context.user),
      encodeOutput,
      decodeInput: inputTranscoder(shell.codepage),
    });
  }

  /** A small, predictable environment with the variables a Windows profile would set. */
  private environment(shell: Shell, user: string): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      USERNAME: user,
      COMPUTERNAME: 'WINRM-PEER',
      // WINRS_NOPROFILE: without the user's profile Windows runs with the Default profile.
      USERPROFILE: shell.noProfile ? 'C:\\Users\\Default' : `C:\\Users\\${user}`,
      ...shell.environment,
    };
  }

  private send(request: SoapRequest): ShellReply {
    const shell = this.shellOf(request);
    const body = request.body;
    if (body === undefined || body.ns !== NS.shell || body.name !== 'Send')
      throw schemaValidation('Send needs an rsp:Send body');
    for (const stream of children(body, NS.shell, 'Stream')) {
      const command = this.commandOf(shell, stream.attributes.CommandId);
      if (stream.attributes.Name !== 'stdin')
        throw schemaValidation(`no input stream ${stream.attributes.Name}`);
      const data = Buffer.from(stream.text.trim(), 'base64');
      command.sendInput(data, (stream.attributes.End ?? '').toLowerCase() === 'true');
    }
    return this.reply(`${ACTION.send}Response`, request, '<rsp:SendResponse/>');
  }

  private async receive(request: SoapRequest, context: RequestContext): Promise<ShellReply> {
    const shell = this.shellOf(request);
    const desired = child(request.body, NS.shell, 'DesiredStream');
    if (request.body?.ns !== NS.shell || request.body.name !== 'Receive' || desired === undefined)
      throw schemaValidation('Receive needs rsp:Receive/rsp:DesiredStream');
    const commandId = desired.attributes.CommandId;
    let command = this.commandOf(shell, commandId);
    if (this.options.faults.receiveTimeouts > 0) {
      this.options.faults.receiveTimeouts--;
      throw operationTimedOut();
    }
    const streams = desiredStreams(desired);
    const wanted = new Set(streams);
    command.receiving();
    const timeoutMs = Math.min(
      request.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
      MAX_OPERATION_TIMEOUT_MS,
    );
    const deadline = Date.now() + timeoutMs;
    for (let turn = 0; turn < MAX_WAIT_TURNS; turn++) {
      if (command.output.hasNews(wanted)) {
        if (!command.output.finished) await sleep(COALESCE_MS);
        command = this.commandOf(this.shellOf(request), commandId);
        const budget = Math.max((request.maxEnvelopeSize ?? 153_600) - RECEIVE_ENVELOPE_OVERHEAD, 1024);
        const batch = command.output.take(wanted, budget, STREAM_ELEMENT_OVERHEAD);
        return this.reply(
          `${ACTION.receive}Response`,
          request,
          receiveResponseBody(command.id, streams, batch),
        );
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      await command.output.waitForNews(remaining, context.signal);
      if (context.signal.aborted) return { kind: 'drop' };
      // The shell or the command may have gone while we waited: the same faults as for a new request.
      command = this.commandOf(this.shellOf(request), commandId);
    }
    throw operationTimedOut();
  }

  private signal(request: SoapRequest): ShellReply {
    const shell = this.shellOf(request);
    const body = request.body;
    if (body === undefined || body.ns !== NS.shell || body.name !== 'Signal')
      throw schemaValidation('Signal needs an rsp:Signal body');
    const command = this.commandOf(shell, body.attributes.CommandId);
    const code = child(body, NS.shell, 'Code')?.text.trim();
    if (code === SIGNAL.terminate) {
      command.kill();
      shell.commands.delete(command.id);
    } else if (code === SIGNAL.ctrlC || code === SIGNAL.ctrlBreak) {
      command.interrupt();
    } else {
      throw schemaValidation(`unknown signal code ${code}`);
    }
    return this.reply(`${ACTION.signal}Response`, request, '<rsp:SignalResponse/>');
  }

  private delete(request: SoapRequest): ShellReply {
    this.closeShell(this.shellOf(request));
    return this.reply(`${ACTION.delete}Response`, request, '');
  }

  private closeShell(shell: Shell): void {
    if (!this.shells.delete(shell.id)) return;
    for (const command of shell.commands.values()) command.kill();
    shell.commands.clear();
    this.options.stats.shellsOpen--;
  }

  private shellOf(request: SoapRequest): Shell {
    const id = request.selectors.get('ShellId');
    if (id === undefined) throw shellIdMissing();
    const shell = this.shells.get(id) ?? this.shells.get(id.toUpperCase());
    if (shell === undefined) throw shellNotFound(id);
    return shell;
  }

  private commandOf(shell: Shell, commandId: string | undefined): ShellCommand {
    const command = commandId === undefined ? undefined : shell.commands.get(commandId.trim());
    if (command === undefined) throw commandNotFound();
    return command;
  }

  private reply(action: string, request: SoapRequest, body: string): ShellReply {
    return { kind: 'reply', xml: envelope(action, request.messageId, body) };
  }
}

function desiredStreams(desired: XmlElement): StreamName[] {
  const names = desired.text.trim().split(/\s+/);
  const streams = names.filter((name): name is StreamName => name === 'stdout' || name === 'stderr');
  return streams.length > 0 ? streams : ['stdout', 'stderr'];
}
