/** The peer's public shapes: what a test passes to startWinrmPeer and what it gets back. */

export type AuthScheme = 'ntlm' | 'basic';

export interface PowershellAnswer {
  stdout: Buffer | string;
  stderr?: Buffer | string;
  exitCode: number;
}

export type PowershellHandler = (script: string, stdin: Buffer) => Promise<PowershellAnswer>;

export interface PowershellRecord {
  script: string;
  /** Everything Sent to the command's stdin before End (empty when nothing was sent). */
  stdin: Buffer;
}

/** Misbehaviour on demand; the peer reads these live, so tests may change them at any time. */
export interface PeerFaults {
  /** The next n Receives answer the OperationTimeout fault (2150858793) at once. */
  receiveTimeouts: number;
  /** The next n Command requests get their TCP connection destroyed, and nothing is started. */
  dropConnectionOnCommand: number;
  /** Every HTTP response waits this long first: a slow server. */
  delayMs: number;
  /** Every request is answered 401. */
  rejectAuth: boolean;
  /**
   * The next n sealed messages are answered, unread, in clear on their own connection, as a man in
   * the middle would: a 500 SOAP fault whose text is UNSEALED_FAULT_TEXT, or an empty 401.
   */
  unsealedFaults: number;
  unsealedUnauthorized: number;
}

/** The text of the fault faults.unsealedFaults injects: a client must never show it. */
export const UNSEALED_FAULT_TEXT = 'injected by a man in the middle';

export interface PeerStats {
  shellsCreated: number;
  shellsOpen: number;
  /** Command requests that started something (a process or a recorded PowerShell call). */
  commands: number;
  /** TCP connections accepted. */
  connections: number;
  /** Successful logons: one per NTLM handshake; for Basic, one per connection (its first request). */
  authentications: number;
}

export interface WinrmPeerOptions {
  /** user -> password; user names match case-insensitively, as Windows account names do. */
  users: Record<string, string>;
  https?: boolean;
  /** Default: ['ntlm']. Over HTTP only NTLM is allowed, as on a default Windows listener. */
  auth?: AuthScheme[];
  /** A request envelope larger than this gets HTTP 413. Default 153600 (pywinrm's and old Windows' 150 KB). */
  maxEnvelopeSize?: number;
  /** WinRM's MaxShellsPerUser; default 5, as in Windows. */
  maxShellsPerUser?: number;
  onPowershell?: PowershellHandler;
  faults?: Partial<PeerFaults>;
  /** Port to listen on; default 0 (any free port). */
  port?: number;
}

export interface WinrmPeer {
  port: number;
  host: '127.0.0.1';
  /** http://127.0.0.1:port/wsman or https://... */
  url: string;
  scheme: 'http' | 'https';
  /** The throwaway self-signed certificate (HTTPS only), PEM. */
  certificatePem?: string;
  /** Its SHA-256 fingerprint as colon-separated upper-case hex (node's X509Certificate.fingerprint256). */
  certificateFingerprint256?: string;
  powershell: PowershellRecord[];
  stats: PeerStats;
  faults: PeerFaults;
  stop(): Promise<void>;
}
