/**
 * The transport plugin API: what a plugin author builds against (`import type { Transport } from
 * 'rmm/plugin'`). A transport reaches devices one way (SSH, WinRM, an SMB file queue, a relay); the
 * core decides what to run where, keeps the Actions queue, retries, audits and reports. Built-in
 * transports (plugins/) use exactly this API and nothing else.
 *
 * Version 1. A change that breaks a plugin bumps TRANSPORT_API_VERSION; the loader refuses plugins
 * built for another version, naming them. Optional members (hostKeys, checkOptions) may be added within a version:
 * a plugin that leaves them out keeps working, and rmm says the transport does not support them.
 */
export const TRANSPORT_API_VERSION = 1;

/** What a transport is told about one device: declared fields, and its validated options. */
export interface DeviceTarget {
  /** metadata.name: for messages. */
  name: string;
  /** Where to connect: spec.address, else spec.fqdn, else spec.hostname. */
  host: string;
  os: 'linux' | 'windows' | 'macos' | null;
  /**
   * The device's `spec.transport` over its site's `defaults.transport` when that default is of the
   * same transport type (a default of another type never applies), without `type` and
   * `credentialRef`, validated against the transport's optionsSchema (defaults applied).
   */
  options: Record<string, unknown>;
}

/**
 * A secret resolved from a credentialRef (`env:NAME` or `file:PATH`) at the moment of connecting.
 * Its value is only reachable through reveal(); printing, logging or serializing it shows the
 * reference, never the value.
 */
export interface Secret {
  /** The reference it came from, safe to show: `env:RMM_SSH_KEY`. */
  readonly ref: string;
  reveal(): Buffer;
  /**
   * reveal() as UTF-8 text without one trailing newline (`\n` or `\r\n`): a file usually ends
   * with one, and it is not part of a password.
   */
  revealText(): string;
}

export interface ConnectOptions {
  /** The user to log in as (options.user, else the transport's default). */
  user?: string;
  /** From the device's credentialRef, if it has one. */
  secret?: Secret;
  /** Counted from the moment this connection's slot opened, not from when it was queued. */
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

export interface ExecOptions {
  stdin?: string | Buffer;
  /** The command is stopped (and the remote process ended where the protocol allows) past this. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  /**
   * POSIX targets: 0..255, a command ended by a signal reports 128 + the signal's number where known.
   * Windows targets: Windows' own exit code, which can be larger (3221225786 after Ctrl-C).
   */
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface TransferOptions {
  signal?: AbortSignal;
  /** File mode for putFile (default 0o644). */
  mode?: number;
}

/** One connection to one device, reused for several commands. */
export interface Session {
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Copies a local file to the device (only when capabilities.fileTransfer). */
  putFile(localPath: string, remotePath: string, options?: TransferOptions): Promise<void>;
  /** Copies a file from the device (only when capabilities.fileTransfer). */
  fetchFile(remotePath: string, localPath: string, options?: TransferOptions): Promise<void>;
  close(): Promise<void>;
  /**
   * Optional: settles once the connection under this session has ended, from either side (the
   * device went away, a keepalive failed, close()). Whoever keeps sessions open between commands
   * (monitoring's session pool) drops a session when it settles instead of finding out on its next
   * exec. Never rejects. Leave it out when a session has no connection of its own (HTTP per request).
   * (Not `closed`: plugins written before it may have a member of that name.)
   */
  readonly connectionClosed?: Promise<void>;
}

export interface TransportCapabilities {
  /** Commands can be PowerShell (WinRM; SSH to Windows OpenSSH). */
  powershell: boolean;
  /** putFile and fetchFile work. */
  fileTransfer: boolean;
  /** Work is queued and done later by the other side (SMB file queue, relay): no live session. */
  queued: boolean;
}

/**
 * Optional capability: the transport authenticates hosts by a key of their own that users must
 * learn to trust once (SSH host keys), and can fetch it without logging in. `rmm hostkeys scan`
 * shows what scan() found and calls record() only after the user confirmed. Transports that verify
 * hosts another way (WinRM: TLS certificates, pinned in options) leave it out.
 */
export interface HostKeyTrust {
  /**
   * Fetches the key the device offers (no credential is used or needed) and compares it with what
   * the transport trusts for this device now: what `connect` would conclude. Failing to reach the
   * device is a TransportError (`unreachable`); a key that differs is a result, not an error.
   */
  scan(target: DeviceTarget, options: HostKeyScanOptions): Promise<HostKeyScan>;
  /**
   * Trusts a key scan() reported `new`, where connect will find it (known_hosts for SSH). Checks
   * again first: a key already trusted is left as it is, and a host now listed with another key is
   * refused with a TransportError `host-key-mismatch`; a recorded key is never replaced.
   */
  record(target: DeviceTarget, scan: HostKeyScan): Promise<void>;
}

export interface HostKeyScanOptions {
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

export interface HostKeyScan {
  /** As the host offered it: `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`. */
  keyType: string;
  /** The public key as sent on the wire (SSH: the key blob). */
  key: Buffer;
  /** `SHA256:` and the unpadded base64 of the key's SHA-256, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** The name the trust store keys this host by: `[10.0.0.5]:2222`. */
  hostName: string;
  /**
   * known: trusted already; new: nothing recorded for this host (record() can trust it); changed:
   * the host is recorded with other keys (never replaced: a reinstalled host, or a man in the
   * middle); revoked: the store marks this very key revoked.
   */
  status: 'known' | 'new' | 'changed' | 'revoked';
  /** Where trust is kept, for messages: a known_hosts path, or `hostKeyFingerprint (device options)`. */
  store: string;
  /** For `changed`: the keys trusted instead, as `TYPE SHA256:...`. */
  expected?: string[];
  /** False when the store cannot take a new key (a fingerprint pinned in the device's options). */
  recordable: boolean;
}

/**
 * Optional capability of a transport whose `capabilities.queued` is true (a relay agent, an SMB file
 * queue): it accepts actions now and reports on them later, possibly hours later, while nobody
 * waits. The core keeps the Actions rows (Pending -> Delivered -> Running -> Succeeded | Failed |
 * TimedOut | Unreachable | Expired | Cancelled), audits, and runs the action hooks; the transport
 * only moves work out and reports back. A queue is reached through a route (one relay, one share),
 * declared in YAML and validated against the transport's optionsSchema.
 */
export interface QueuedTransport {
  /**
   * Where its routes come from. `device`: a device whose transport block names this transport is
   * its own route, the block's options being the route's (the SMB share of that device). `declared`:
   * routes are resources of their own that sites name (a Relay), never a device's transport type.
   */
  routes: 'device' | 'declared';
  /** Opens the route's queue: called once per route and command (or per rmm serve), reused. */
  open(route: QueueRoute, options: QueueOpenOptions): Promise<QueueConnection>;
  /**
   * Optional: what a device must install to take work from this queue (the SMB consumer with the
   * console's public key in it). `rmm smb enroll` prints it or writes it to a file; it holds no secret.
   */
  enrollment?(device: EnrollmentDevice, options: { stateDir: string }): Promise<Enrollment>;
}

export interface EnrollmentDevice {
  name: string;
  host: string;
  os: 'linux' | 'windows' | 'macos' | null;
}

export interface Enrollment {
  /** A name for the installer when written to a folder: `rmm-smb-install-web-01.sh`. */
  fileName: string;
  /** The installer's text. */
  content: string;
  /** How to run it on the device, for a person to read. */
  instructions: string;
}

export interface QueueRoute {
  /** The route's name (a Relay's metadata.name): for messages and subjects. */
  name: string;
  /** The route's options as declared (without credentialRef), validated against optionsSchema. */
  options: Record<string, unknown>;
  /**
   * Set for a device route (`routes: 'device'`): the device the route is, so a transport can default
   * where its queue is (the SMB share's host) to the device's address, which the transport block
   * does not hold. Never set for a declared route (a Relay serves many devices).
   */
  device?: EnrollmentDevice;
}

export interface QueueOpenOptions {
  /** From the route's credentialRef, if it has one: the console's own credential for the queue. */
  secret?: Secret;
  connectTimeoutMs: number;
  signal?: AbortSignal;
  /**
   * A private folder of the console's data dir for this transport (`<data>/transports/<name>/`,
   * 0700), made by the core: where a transport keeps state of its own (the SMB transport's signing
   * key).
   */
  stateDir?: string;
}

/** One action handed to a queue. Carries only references to secrets, never a secret. */
export interface QueuedAction {
  /** The Actions row's id: the queue and the far side dedupe by it, so submitting twice runs once. */
  actionId: string;
  /** Actions.ActionType: `exec`, `inventory`. */
  type: string;
  device: {
    name: string;
    host: string;
    os: 'linux' | 'windows' | 'macos' | null;
    /**
     * The device's effective transport block as declared (`type`, `port`, `user`, options,
     * `credentialRef` as a reference): the far side validates it against its own plugin and
     * resolves the reference there, so the secret never leaves the site.
     */
    transport: Record<string, unknown>;
  };
  command: string;
  /** The command is a PowerShell script (sent as -EncodedCommand by the far side). */
  powershell?: boolean;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** ISO 8601 UTC: not started after this; the far side reports it Expired instead. */
  expiresAt: string;
}

export type SubmitOutcome =
  /** Durably accepted by the queue; `receipt` is what cancel() needs later (a stream sequence). */
  | { actionId: string; accepted: true; receipt: string }
  /** Not accepted: nothing will run. `error` says why, never a secret. */
  | { actionId: string; accepted: false; error: string };

/** What the far side reported, parsed and checked for shape and size by the transport. */
export type QueuedReport =
  | { kind: 'started'; actionId: string; at: string }
  | {
      kind: 'finished';
      actionId: string;
      at: string;
      status: 'Succeeded' | 'Failed' | 'TimedOut' | 'Unreachable' | 'Expired' | 'Cancelled';
      exitCode?: number;
      /** Full output as the far side kept it (capped by the transport's own limits), UTF-8. */
      stdout?: string;
      stderr?: string;
      stdoutDropped?: number;
      stderrDropped?: number;
      error?: string;
      durationMs: number;
    }
  | { kind: 'heartbeat'; at: string; detail?: Record<string, unknown> }
  /** A message the transport could not read (bad JSON, schema, size): the core logs and acks it. */
  | { kind: 'invalid'; at: string; problem: string };

/** A report with the handle its ack needs. */
export interface ReceivedReport {
  report: QueuedReport;
  /** Opaque to the core: passed back to ack(). */
  handle: unknown;
}

export interface QueueConnection {
  /** Durably queues the actions; one outcome per action, in order. Idempotent per actionId. */
  submit(actions: readonly QueuedAction[], options?: { signal?: AbortSignal }): Promise<SubmitOutcome[]>;
  /**
   * Reports waiting on this route, at most `max`, waiting at most `waitMs` for the first. A report
   * not acked comes back (after a reconnect at the latest): the core acks only what it stored.
   */
  fetch(options: { max: number; waitMs: number; signal?: AbortSignal }): Promise<ReceivedReport[]>;
  ack(reports: readonly ReceivedReport[]): Promise<void>;
  /**
   * Withdraws an action the far side has not taken yet. `withdrawn`: it will not run; `too-late`:
   * the far side has it (it may run); `unknown`: the queue could not tell.
   */
  cancel?(actionId: string, receipt: string): Promise<'withdrawn' | 'too-late' | 'unknown'>;
  close(): Promise<void>;
}

export interface Transport {
  apiVersion: typeof TRANSPORT_API_VERSION;
  /** The `spec.transport.type` that selects it: `ssh`, `winrm`. Lowercase letters, digits, dashes. */
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of its options: a Device's spec.transport is validated against it. */
  optionsSchema: Record<string, unknown>;
  defaultPort: number;
  /** How many sessions may be open at once at most (SSH 200, WinRM 500). */
  batchSize: number;
  capabilities: TransportCapabilities;
  connect(target: DeviceTarget, options: ConnectOptions): Promise<Session>;
  /** Optional: see HostKeyTrust. */
  hostKeys?: HostKeyTrust;
  /** Required when capabilities.queued: see QueuedTransport. */
  queue?: QueuedTransport;
  /**
   * Optional: what a JSON Schema cannot say about a block's options, because it depends on the
   * console where rmm runs (its environment, its folders) or is allowed but unsafe (a setting for
   * labs). Called by `rmm validate`, `plan` and `apply` on every block of this transport's type that
   * passes optionsSchema, with its options as written (without `type` and `credentialRef`, no
   * defaults applied), on every run (never cached). Synchronous, quick, and it must not throw.
   */
  checkOptions?(options: Record<string, unknown>): OptionsFinding[];
}

/** One finding of Transport.checkOptions, shown at its value's file:line:column. */
export interface OptionsFinding {
  /** Into the options: `['knownHosts']`, `['tls', 'verify']`. */
  path: Array<string | number>;
  /** Says why, and what to do instead; never a secret. */
  message: string;
  /** error: the input is refused; warning: shown, and the input passes (a lab-only setting). */
  severity: 'error' | 'warning';
}

/**
 * Failures the core acts on. `unreachable` before anything was sent is the only kind retried (with
 * backoff and jitter); the others are reported as they are.
 */
export type TransportErrorCode =
  | 'unreachable'
  | 'auth-failed'
  | 'host-key-mismatch'
  | 'timed-out'
  | 'protocol';

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options: { cause?: unknown; commandSent?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.commandSent = options.commandSent ?? false;
  }

  /** Whether the command may have started on the device (then it is never retried). */
  readonly commandSent: boolean;

  /** Safe to try again: the connection failed before any command was sent. */
  get retryable(): boolean {
    return this.code === 'unreachable' && !this.commandSent;
  }
}

/**
 * How a plugin makes the errors above from the runtime's class, in one line it writes once:
 * `const fail: Fail = (code, message, options) => new runtime.TransportError(code, message, options)`.
 */
export type Fail = (
  code: TransportErrorCode,
  message: string,
  options?: { cause?: unknown; commandSent?: boolean },
) => Error;

/** The oclif hook a plugin answers to register its transports: `"hooks": {"rmm:transports": "./dist/hook.js"}`. */
export const TRANSPORTS_HOOK = 'rmm:transports';

/**
 * What rmm hands a plugin at run time. A plugin imports only types from `rmm/plugin`; the values it
 * needs come through the hook, so it never loads a second copy of rmm (and `instanceof` holds).
 */
export interface PluginRuntime {
  apiVersion: typeof TRANSPORT_API_VERSION;
  TransportError: typeof TransportError;
}

/** The hook's options (oclif passes them as the hook function's first argument). */
export interface TransportsHookOptions {
  runtime: PluginRuntime;
}

/** What that hook returns. */
export type TransportsHookResult = Transport[];
