import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWinrmPeer, type WinrmPeer } from '../helpers/winrm-peer/index.js';

/**
 * The WinRM test peer (test/helpers/winrm-peer) checked by an independent client: Debian's pywinrm
 * 0.3.0 with requests-ntlm and ntlm-auth, run by the system interpreter. What pywinrm accepts here
 * it accepts from Windows, so the plugin's own tests against the peer mean something.
 */
const SYSTEM_PYTHON = '/usr/bin/python3';
const CLIENT = fileURLToPath(new URL('../helpers/winrm-peer/pywinrm_client.py', import.meta.url));
const USER = 'Operator';
// Non-ASCII on purpose: NTLM hashes UTF-16, Basic from python-requests is Latin-1.
const PASSWORD = 'pässwörd-42';

interface StepResult {
  ok: boolean;
  stdout?: string;
  stderr?: string;
  status?: number;
  error?: string;
  message?: string;
  code?: number | string | null;
  shell_id?: string;
  command_id?: string;
  response?: string;
  done?: boolean;
}

interface ClientSettings {
  transport: 'ntlm' | 'basic';
  message_encryption?: 'auto' | 'always' | 'never';
  password?: string;
  username?: string;
  operation_timeout_sec?: number;
  read_timeout_sec?: number;
  server_cert_validation?: 'ignore' | 'validate';
  ca_trust_path?: string;
}

type Step = Record<string, unknown> & { op: string };

/** Runs the steps on one pywinrm Session in one python process, bounded in time. */
function pywinrm(peer: WinrmPeer, settings: ClientSettings, steps: Step[]): Promise<StepResult[]> {
  const spec = { url: peer.url, username: USER, password: PASSWORD, ...settings, steps };
  return new Promise((resolve, reject) => {
    const child = execFile(
      SYSTEM_PYTHON,
      [CLIENT],
      { timeout: 45_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`pywinrm client failed: ${error.message}\n${stderr}`));
        else resolve((JSON.parse(stdout) as { results: StepResult[] }).results);
      },
    );
    child.stdin?.end(JSON.stringify(spec));
  });
}

const text = (base64: string | undefined): string => Buffer.from(base64 ?? '', 'base64').toString('utf8');
const bytes = (base64: string | undefined): Buffer => Buffer.from(base64 ?? '', 'base64');
const b64 = (value: string): string => Buffer.from(value, 'utf8').toString('base64');
const encodedCommand = (script: string): string => Buffer.from(script, 'utf16le').toString('base64');

/** The steps both transports must pass alike: cmd semantics, streams, exit codes, the Receive loop. */
const COMMON_STEPS: Step[] = [
  { op: 'run_cmd', command: 'echo', args: ['hello'] },
  // `exit 7` means the same to cmd.exe /c and to sh -c.
  { op: 'run_cmd', command: 'exit', args: ['7'] },
  { op: 'run_cmd', command: 'echo', args: ['to-stderr', '1>&2'] },
  { op: 'run_cmd', command: 'sh', args: ['-c', '"echo out; echo err >&2; exit 3"'] },
  { op: 'protocol', command: 'cat', stdin: b64('line one\nline two\n') },
  // Output in two bursts: more than one Receive, the first answered Running.
  { op: 'protocol', command: 'echo', args: ['first;', 'sleep', '0.3;', 'echo', 'second'] },
];

function expectCommonResults(results: StepResult[]): void {
  const [hello, exit7, stderrOnly, mixed, stdin, bursts] = results;
  expect(hello).toMatchObject({ ok: true, status: 0, stderr: '' });
  expect(text(hello?.stdout)).toBe('hello\n');
  expect(exit7).toMatchObject({ ok: true, status: 7, stdout: '', stderr: '' });
  expect(stderrOnly).toMatchObject({ ok: true, status: 0, stdout: '' });
  expect(text(stderrOnly?.stderr)).toBe('to-stderr\n');
  expect(mixed).toMatchObject({ ok: true, status: 3 });
  expect([text(mixed?.stdout), text(mixed?.stderr)]).toEqual(['out\n', 'err\n']);
  expect(stdin).toMatchObject({ ok: true, status: 0, stderr: '' });
  expect(text(stdin?.stdout)).toBe('line one\nline two\n');
  expect(stdin?.shell_id).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  expect(bursts).toMatchObject({ ok: true, status: 0 });
  expect(text(bursts?.stdout)).toBe('first\nsecond\n');
}

/** Lines of `ps` naming this marker: the processes a command left behind. */
function processesWith(marker: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('ps', ['-eo', 'args'], { timeout: 10_000 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.split('\n').filter((line) => line.includes(marker)));
    });
  });
}

async function waitUntilGone(marker: string): Promise<string[]> {
  let left: string[] = [];
  for (let i = 0; i < 50; i++) {
    left = await processesWith(marker);
    if (left.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return left;
}

/** One request with node's own HTTPS client, trusting only the peer's certificate. */
function httpsRequest(
  peer: WinrmPeer,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port: peer.port,
        method: options.method ?? 'POST',
        path: options.path ?? '/wsman',
        headers: options.headers,
        ca: peer.certificatePem,
        timeout: 20_000,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error('request timed out')));
    request.on('error', reject);
    request.end(options.body);
  });
}

const basicAuth = (password = PASSWORD) =>
  `Basic ${Buffer.from(`${USER}:${password}`, 'utf8').toString('base64')}`;

/** A WS-Management request of our own making, sent with Basic over HTTPS; returns the reply text. */
async function wsman(
  peer: WinrmPeer,
  action: string,
  body: string,
  options: { shellId?: string; options?: Record<string, string>; timeout?: string } = {},
): Promise<{ status: number; body: string }> {
  const selector =
    options.shellId === undefined
      ? ''
      : `<w:SelectorSet><w:Selector Name="ShellId">${options.shellId}</w:Selector></w:SelectorSet>`;
  const optionSet = Object.entries(options.options ?? {})
    .map(([name, value]) => `<w:Option Name="${name}">${value}</w:Option>`)
    .join('');
  const envelope =
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">' +
    `<s:Header><a:Action>${action}</a:Action><a:MessageID>uuid:${randomUUID()}</a:MessageID>` +
    '<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>' +
    `<w:OperationTimeout>${options.timeout ?? 'PT5S'}</w:OperationTimeout>${selector}` +
    `${optionSet ? `<w:OptionSet>${optionSet}</w:OptionSet>` : ''}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
  const response = await httpsRequest(peer, {
    body: envelope,
    headers: { Authorization: basicAuth(), 'Content-Type': 'application/soap+xml;charset=UTF-8' },
  });
  return { status: response.status, body: response.body };
}

const SHELL = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell';
const TRANSFER = 'http://schemas.xmlsoap.org/ws/2004/09/transfer';
const between = (text: string, open: string, close: string): string =>
  text.slice(text.indexOf(open) + open.length, text.indexOf(close, text.indexOf(open)));

const powershellAnswers = async (script: string, stdin: Buffer) => {
  if (script.startsWith('Write-Output')) return { stdout: 'grüße from ps\r\n', exitCode: 4 };
  if (script.includes('ReadToEnd'))
    return { stdout: `read ${stdin.length} bytes\r\n`, stderr: 'warned\r\n', exitCode: 0 };
  return { stdout: '', exitCode: 0 };
};

/** Another throwaway certificate: a CA that must not validate the peer's. */
async function startWinrmPeerCertificate(): Promise<string | undefined> {
  const other = await startWinrmPeer({ users: {}, https: true, auth: ['basic'] });
  await other.stop();
  return other.certificatePem;
}

let http: WinrmPeer;
let secure: WinrmPeer;
beforeAll(async () => {
  const users = { [USER]: PASSWORD };
  [http, secure] = await Promise.all([
    startWinrmPeer({ users, auth: ['ntlm'], maxShellsPerUser: 50, onPowershell: powershellAnswers }),
    startWinrmPeer({
      users,
      https: true,
      auth: ['basic', 'ntlm'],
      maxShellsPerUser: 50,
      onPowershell: powershellAnswers,
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([http?.stop(), secure?.stop()]);
});

describe('pywinrm over HTTP with NTLM and message encryption', () => {
  it('runs commands through run_cmd and the Protocol API, on one connection and one handshake', async () => {
    const before = { ...http.stats };
    const results = await pywinrm(http, { transport: 'ntlm', message_encryption: 'always' }, COMMON_STEPS);
    expectCommonResults(results);
    expect(http.stats.connections - before.connections).toBe(1);
    expect(http.stats.authentications - before.authentications).toBe(1);
    expect(http.stats.shellsCreated - before.shellsCreated).toBe(COMMON_STEPS.length);
    expect(http.stats.commands - before.commands).toBe(COMMON_STEPS.length);
    expect(http.stats.shellsOpen).toBe(before.shellsOpen);
  });

  it("encrypts with message_encryption='auto' too, and refuses plain SOAP on HTTP like Windows (empty 500)", async () => {
    const [auto] = await pywinrm(
      http,
      { transport: 'ntlm', message_encryption: 'auto' },
      COMMON_STEPS.slice(0, 1),
    );
    expect(text(auto?.stdout)).toBe('hello\n');
    const [plain] = await pywinrm(
      http,
      { transport: 'ntlm', message_encryption: 'never' },
      COMMON_STEPS.slice(0, 1),
    );
    expect(plain).toMatchObject({ ok: false, error: 'WinRMTransportError', code: 500 });
  });

  it('honours WINRS_CODEPAGE (437 by default, 65001) and WINRS_NOPROFILE', async () => {
    const results = await pywinrm(http, { transport: 'ntlm' }, [
      { op: 'run_cmd', command: 'echo', args: ['grüße'] },
      { op: 'protocol', shell: { codepage: 65001 }, command: 'echo', args: ['grüße'] },
      { op: 'protocol', shell: { noprofile: true }, command: 'echo', args: ['$USERPROFILE'] },
      { op: 'protocol', shell: { noprofile: false }, command: 'echo', args: ['$USERPROFILE'] },
      { op: 'protocol', shell: { env_vars: { GREETING: 'hi there' } }, command: 'echo', args: ['$GREETING'] },
    ]);
    // 'grüße'.encode('cp437') in Python.
    expect(bytes(results[0]?.stdout)).toEqual(Buffer.from([0x67, 0x72, 0x81, 0xe1, 0x65, 0x0a]));
    expect(text(results[1]?.stdout)).toBe('grüße\n');
    expect(text(results[2]?.stdout)).toBe('C:\\Users\\Default\n');
    expect(text(results[3]?.stdout)).toBe(`C:\\Users\\${USER}\n`);
    expect(text(results[4]?.stdout)).toBe('hi there\n');
  });
});

describe('pywinrm over HTTPS', () => {
  it('runs the same commands with Basic', async () => {
    const before = { ...secure.stats };
    const results = await pywinrm(secure, { transport: 'basic' }, COMMON_STEPS);
    expectCommonResults(results);
    expect(secure.stats.authentications - before.authentications).toBe(1);
    expect(secure.stats.shellsOpen).toBe(before.shellsOpen);
  });

  it('runs the same commands with NTLM, unencrypted inside TLS (auto) and encrypted (always)', async () => {
    expectCommonResults(
      await pywinrm(secure, { transport: 'ntlm', message_encryption: 'auto' }, COMMON_STEPS),
    );
    expectCommonResults(
      await pywinrm(secure, { transport: 'ntlm', message_encryption: 'always' }, COMMON_STEPS),
    );
  });

  it('passes certificate validation against its own certificate as the only CA', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rmm-winrm-peer-ca-'));
    try {
      const caFile = path.join(dir, 'ca.pem');
      await writeFile(caFile, secure.certificatePem ?? '');
      const validate = { server_cert_validation: 'validate', ca_trust_path: caFile } as const;
      const [trusted] = await pywinrm(secure, { transport: 'ntlm', ...validate }, COMMON_STEPS.slice(0, 1));
      expect(text(trusted?.stdout)).toBe('hello\n');
      const otherCa = path.join(dir, 'other.pem');
      await writeFile(otherCa, (await startWinrmPeerCertificate()) ?? '');
      const [untrusted] = await pywinrm(
        secure,
        { transport: 'basic', server_cert_validation: 'validate', ca_trust_path: otherCa },
        COMMON_STEPS.slice(0, 1),
      );
      expect(untrusted).toMatchObject({ ok: false, error: 'SSLError' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves a certificate for 127.0.0.1 whose SHA-256 fingerprint it reports', async () => {
    const fingerprint = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: secure.port, ca: secure.certificatePem }, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(fingerprint).toBe(secure.certificateFingerprint256);
    expect(secure.url).toBe(`https://127.0.0.1:${secure.port}/wsman`);
  });
});

describe('authentication', () => {
  it('answers a wrong password with 401, which pywinrm reports as InvalidCredentialsError', async () => {
    const before = [http.stats.authentications, secure.stats.authentications];
    const step = COMMON_STEPS.slice(0, 1);
    const wrong = { password: 'wrong password' };
    const results = await Promise.all([
      pywinrm(http, { transport: 'ntlm', ...wrong }, step),
      pywinrm(secure, { transport: 'basic', ...wrong }, step),
      pywinrm(secure, { transport: 'ntlm', ...wrong }, step),
      pywinrm(http, { transport: 'ntlm', username: 'nobody' }, step),
    ]);
    for (const [result] of results)
      expect(result).toMatchObject({ ok: false, error: 'InvalidCredentialsError' });
    expect([http.stats.authentications, secure.stats.authentications]).toEqual(before);
  });

  it('refuses Basic over HTTP (401 offering only Negotiate), as a default listener does', async () => {
    const [result] = await pywinrm(http, { transport: 'basic' }, COMMON_STEPS.slice(0, 1));
    expect(result).toMatchObject({ ok: false, error: 'InvalidCredentialsError' });
  });

  it('lists the schemes on offer in WWW-Authenticate', async () => {
    const anonymous = await httpsRequest(secure, { body: '<x/>' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Negotiate, Basic realm="WSMAN"');
    const badBasic = await httpsRequest(secure, {
      body: '<x/>',
      headers: { Authorization: basicAuth('nope') },
    });
    expect(badBasic.status).toBe(401);
  });

  it('rejects everyone while rejectAuth is set', async () => {
    secure.faults.rejectAuth = true;
    try {
      const [result] = await pywinrm(secure, { transport: 'basic' }, COMMON_STEPS.slice(0, 1));
      expect(result).toMatchObject({ ok: false, error: 'InvalidCredentialsError' });
    } finally {
      secure.faults.rejectAuth = false;
    }
  });
});

describe('PowerShell', () => {
  it('records the script of run_ps exactly and returns what onPowershell answers', async () => {
    const script = 'Write-Output "grüße ✓"\r\n$x = 1 + 1; "quotes \' and \\" and <xml> & stuff"';
    const before = http.powershell.length;
    const [result] = await pywinrm(http, { transport: 'ntlm' }, [{ op: 'run_ps', script }]);
    expect(http.powershell.slice(before)).toEqual([{ script, stdin: Buffer.alloc(0) }]);
    // Text answers reach the client in the shell's code page: 437 is pywinrm's default.
    expect(result).toMatchObject({ ok: true, status: 4 });
    expect(bytes(result?.stdout)).toEqual(Buffer.from('gr\x81\xe1e from ps\r\n', 'latin1'));
  });

  it('records a bootstrap command line and the script it reads from stdin (Send ... End="true")', async () => {
    const bootstrap = '$s = [Console]::In.ReadToEnd(); . ([ScriptBlock]::Create($s))';
    const longScript = `${'Write-Output "long line"\r\n'.repeat(500)}`;
    const before = secure.powershell.length;
    const [result] = await pywinrm(secure, { transport: 'basic' }, [
      {
        op: 'protocol',
        shell: { codepage: 65001 },
        command: 'powershell.exe',
        args: ['-NoProfile', '-NonInteractive', '-EncodedCommand', encodedCommand(bootstrap)],
        stdin: b64(longScript),
      },
    ]);
    expect(secure.powershell.slice(before)).toEqual([
      { script: bootstrap, stdin: Buffer.from(longScript, 'utf8') },
    ]);
    expect(result).toMatchObject({ ok: true, status: 0 });
    expect([text(result?.stdout), text(result?.stderr)]).toEqual([
      `read ${longScript.length} bytes\r\n`,
      'warned\r\n',
    ]);
  });
});

describe('faults, seen from pywinrm', () => {
  it('retries injected Receive timeouts (WSManFault 2150858793) and still gets the output', async () => {
    http.faults.receiveTimeouts = 2;
    try {
      const [result] = await pywinrm(http, { transport: 'ntlm' }, COMMON_STEPS.slice(0, 1));
      expect(text(result?.stdout)).toBe('hello\n');
      expect(http.faults.receiveTimeouts).toBe(0);
    } finally {
      http.faults.receiveTimeouts = 0;
    }
  });

  it('answers a Receive with nothing new within OperationTimeout with the timeout fault', async () => {
    const marker = `marker-${randomUUID()}`;
    const timeouts = { operation_timeout_sec: 1, read_timeout_sec: 5 };
    const [shell] = await pywinrm(secure, { transport: 'basic', ...timeouts }, [{ op: 'open_shell' }]);
    const shellId = shell?.shell_id;
    const [command] = await pywinrm(secure, { transport: 'basic', ...timeouts }, [
      { op: 'run_command', shell_id: shellId, command: 'sleep', args: ['30;', ':', marker] },
    ]);
    const started = Date.now();
    const [receive, , afterTerminate, closed] = await pywinrm(secure, { transport: 'basic', ...timeouts }, [
      { op: 'receive_once', shell_id: shellId, command_id: command?.command_id },
      { op: 'signal', shell_id: shellId, command_id: command?.command_id },
      { op: 'receive_once', shell_id: shellId, command_id: command?.command_id },
      { op: 'close_shell', shell_id: shellId },
    ]);
    expect(receive).toMatchObject({ ok: false, error: 'WinRMOperationTimeoutError' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // Signal terminate ends the command: its id is gone (2150858843) and so is its process group.
    expect(afterTerminate).toMatchObject({ ok: false, error: 'WinRMError' });
    expect(afterTerminate?.message).toContain("'wsmanfault_code': '2150858843'");
    expect(afterTerminate?.message).toContain("'fault_subcode': 'w:InvalidSelectors'");
    expect(closed).toMatchObject({ ok: true });
    expect(await waitUntilGone(marker)).toEqual([]);
  });

  it('kills the processes of a shell, background ones included, when it is deleted', async () => {
    const marker = `marker-${randomUUID()}`;
    const [opened] = await pywinrm(http, { transport: 'ntlm' }, [{ op: 'open_shell' }]);
    const shellId = opened?.shell_id;
    const [command, closed] = await pywinrm(http, { transport: 'ntlm' }, [
      {
        op: 'run_command',
        shell_id: shellId,
        command: 'sh',
        args: ['-c', `"sleep 30; : ${marker}"`, '&', 'sleep', '31;', ':', marker],
      },
      { op: 'close_shell', shell_id: shellId },
    ]);
    expect(command).toMatchObject({ ok: true });
    expect(closed).toMatchObject({ ok: true });
    expect(await waitUntilGone(marker)).toEqual([]);
  });

  it('answers an oversized envelope with HTTP 413 and keeps the session usable', async () => {
    const huge = { op: 'run_cmd', command: 'echo', args: ['x'.repeat(200_000)] };
    const after = { op: 'run_cmd', command: 'echo', args: ['after'] };
    for (const [peer, transport] of [
      [http, 'ntlm'],
      [secure, 'basic'],
    ] as const) {
      const [tooBig, next] = await pywinrm(peer, { transport }, [huge, after]);
      expect(tooBig).toMatchObject({ ok: false, error: 'WinRMTransportError', code: 413 });
      expect(text(next?.stdout)).toBe('after\n');
    }
  });

  it('drops the connection on a Command, starting nothing', async () => {
    http.faults.dropConnectionOnCommand = 1;
    const commands = http.stats.commands;
    try {
      const [dropped] = await pywinrm(http, { transport: 'ntlm' }, COMMON_STEPS.slice(0, 1));
      expect(dropped).toMatchObject({ ok: false, error: 'ConnectionError' });
      expect(http.faults.dropConnectionOnCommand).toBe(0);
      expect(http.stats.commands).toBe(commands);
      const [next] = await pywinrm(http, { transport: 'ntlm' }, COMMON_STEPS.slice(0, 1));
      expect(text(next?.stdout)).toBe('hello\n');
    } finally {
      http.faults.dropConnectionOnCommand = 0;
    }
  });

  it('delays every response by delayMs', async () => {
    secure.faults.delayMs = 300;
    try {
      const started = Date.now();
      const [result] = await pywinrm(secure, { transport: 'basic' }, COMMON_STEPS.slice(0, 1));
      expect(text(result?.stdout)).toBe('hello\n');
      // Create, Command, Receive, Signal, Delete: five responses at least.
      expect(Date.now() - started).toBeGreaterThanOrEqual(5 * 300);
    } finally {
      secure.faults.delayMs = 0;
    }
  });

  it('enforces MaxShellsPerUser with the Windows quota fault', async () => {
    const peer = await startWinrmPeer({
      users: { [USER]: PASSWORD },
      https: true,
      auth: ['basic'],
      maxShellsPerUser: 2,
    });
    try {
      const results = await pywinrm(peer, { transport: 'basic' }, [
        { op: 'open_shell' },
        { op: 'open_shell' },
        { op: 'open_shell' },
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, true, false]);
      expect(results[2]?.message).toContain("'wsmanfault_code': '2150859173'");
      expect(results[2]?.message).toContain("'fault_subcode': 'w:QuotaLimit'");
      expect(peer.stats).toMatchObject({ shellsCreated: 2, shellsOpen: 2 });
    } finally {
      await peer.stop();
    }
    expect(peer.stats.shellsOpen).toBe(0);
  });

  it('answers unknown shells with 2150858843 (w:InvalidSelectors)', async () => {
    const [result] = await pywinrm(http, { transport: 'ntlm' }, [
      { op: 'run_command', shell_id: '11111111-2222-3333-4444-555555555555', command: 'echo' },
    ]);
    expect(result).toMatchObject({ ok: false, error: 'WinRMError' });
    expect(result?.message).toContain("'wsmanfault_code': '2150858843'");
    expect(result?.message).toContain("'fault_subcode': 'w:InvalidSelectors'");
    // pywinrm shows the s:Reason; the f:Message names the shell, as Windows' does.
    const raw = await httpsRequest(secure, {
      headers: { Authorization: basicAuth(), 'Content-Type': 'application/soap+xml;charset=UTF-8' },
      body:
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">' +
        '<s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete</a:Action><a:MessageID>uuid:AB</a:MessageID>' +
        '<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>' +
        '<w:SelectorSet><w:Selector Name="ShellId">11111111-2222-3333-4444-555555555555</w:Selector></w:SelectorSet></s:Header><s:Body/></s:Envelope>',
    });
    expect(raw.status).toBe(500);
    expect(raw.body).toContain('<a:RelatesTo>uuid:AB</a:RelatesTo>');
    expect(raw.body).toContain(
      'Windows Remote Shell with ShellId 11111111-2222-3333-4444-555555555555 failed',
    );
  });
});

describe('the shell, driven by hand where pywinrm 0.3 cannot', () => {
  it('interrupts a command on Signal ctrl_c; the command stays until Received as Done', async () => {
    const marker = `marker-${randomUUID()}`;
    const created = await wsman(
      secure,
      `${TRANSFER}/Create`,
      '<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>',
      {
        options: { WINRS_CODEPAGE: '65001' },
      },
    );
    expect(created.status).toBe(200);
    const shellId = between(created.body, '<rsp:ShellId>', '</rsp:ShellId>');
    const command = await wsman(
      secure,
      `${SHELL}/Command`,
      `<rsp:CommandLine><rsp:Command>echo started; sleep 30; : ${marker}</rsp:Command></rsp:CommandLine>`,
      { shellId },
    );
    const commandId = between(command.body, '<rsp:CommandId>', '</rsp:CommandId>');
    const receive = `<rsp:Receive><rsp:DesiredStream CommandId="${commandId}">stdout stderr</rsp:DesiredStream></rsp:Receive>`;
    const running = await wsman(secure, `${SHELL}/Receive`, receive, { shellId });
    expect(running.body).toContain('CommandState/Running');
    expect(running.body).toContain(
      `<rsp:Stream Name="stdout" CommandId="${commandId}">${b64('started\n')}</rsp:Stream>`,
    );
    const signal = await wsman(
      secure,
      `${SHELL}/Signal`,
      `<rsp:Signal CommandId="${commandId}"><rsp:Code>${SHELL}/signal/ctrl_c</rsp:Code></rsp:Signal>`,
      { shellId },
    );
    expect(signal.body).toContain('<rsp:SignalResponse/>');
    const done = await wsman(secure, `${SHELL}/Receive`, receive, { shellId });
    expect(done.body).toContain('CommandState/Done');
    // sh killed by SIGINT: 128 + 2.
    expect(done.body).toContain('<rsp:ExitCode>130</rsp:ExitCode>');
    expect(done.body).toContain(
      `<rsp:Stream Name="stdout" CommandId="${commandId}" End="true"></rsp:Stream>`,
    );
    expect(await waitUntilGone(marker)).toEqual([]);
    expect((await wsman(secure, `${TRANSFER}/Delete`, '', { shellId })).status).toBe(200);
  });

  it('splits output larger than MaxEnvelopeSize over several Receives, losing nothing', async () => {
    const [result] = await pywinrm(http, { transport: 'ntlm' }, [
      { op: 'run_cmd', command: 'yes', args: ['0123456789abcdef', '|', 'head', '-c', '2000000'] },
    ]);
    expect(result).toMatchObject({ ok: true, status: 0 });
    expect(text(result?.stdout)).toBe('0123456789abcdef\n'.repeat(2_000_000 / 17 + 1).slice(0, 2_000_000));
  });

  it('kills what is still running when it stops, and serves no more', async () => {
    const marker = `marker-${randomUUID()}`;
    const peer = await startWinrmPeer({ users: { [USER]: PASSWORD }, auth: ['ntlm'] });
    const [opened] = await pywinrm(peer, { transport: 'ntlm' }, [{ op: 'open_shell' }]);
    await pywinrm(peer, { transport: 'ntlm' }, [
      { op: 'run_command', shell_id: opened?.shell_id, command: 'sleep', args: ['30;', ':', marker] },
    ]);
    expect(await processesWith(marker)).not.toEqual([]);
    await peer.stop();
    expect(await waitUntilGone(marker)).toEqual([]);
    expect(peer.stats.shellsOpen).toBe(0);
    const [after] = await pywinrm(peer, { transport: 'ntlm' }, COMMON_STEPS.slice(0, 1));
    expect(after).toMatchObject({ ok: false, error: 'ConnectionError' });
  });
});

describe('the peer against malformed requests', () => {
  const envelope = (header: string, body = '') =>
    `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
  const cases = [
    ['not XML at all', 'not <xml', '2150858819'],
    ['a root that is no SOAP envelope', '<a/>', '2150858819'],
    ['an undeclared prefix', '<q:Envelope/>', '2150858819'],
    ['a DTD', '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', '2150858819'],
    [
      'no MessageID',
      envelope('<a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action>'),
      '2150858817',
    ],
    [
      'an unknown action',
      envelope('<a:Action>urn:nonsense</a:Action><a:MessageID>uuid:1</a:MessageID>'),
      '2150858753',
    ],
    [
      'another resource',
      envelope(
        '<a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action><a:MessageID>uuid:1</a:MessageID><w:ResourceURI>http://schemas.microsoft.com/powershell/Microsoft.PowerShell</w:ResourceURI>',
      ),
      '2150858752',
    ],
  ] as const;

  it.each(cases)(
    'answers %s with a SOAP fault, encrypted on HTTP, and keeps serving',
    async (_name, message, code) => {
      const [viaHttp, httpAfter] = await pywinrm(http, { transport: 'ntlm' }, [
        { op: 'raw', message },
        COMMON_STEPS[0] as Step,
      ]);
      expect(viaHttp).toMatchObject({ ok: false, error: 'WinRMError' });
      expect(viaHttp?.message).toContain(`'wsmanfault_code': '${code}'`);
      expect(text(httpAfter?.stdout)).toBe('hello\n');
      const response = await httpsRequest(secure, {
        body: message,
        headers: { Authorization: basicAuth(), 'Content-Type': 'application/soap+xml;charset=UTF-8' },
      });
      expect(response.status).toBe(500);
      expect(response.headers['content-type']).toBe('application/soap+xml;charset=UTF-8');
      expect(response.body).toContain('<s:Fault>');
      expect(response.body).toContain(`Code="${code}"`);
    },
  );

  it('answers other paths and methods the way HTTP.sys does', async () => {
    expect((await httpsRequest(secure, { path: '/other', body: '' })).status).toBe(404);
    expect((await httpsRequest(secure, { method: 'GET' })).status).toBe(405);
  });

  it('answers 413 to a body far beyond the limit without reading it all into memory', async () => {
    const response = await httpsRequest(secure, {
      body: Buffer.alloc(2 * 1024 * 1024, 0x41),
      headers: { Authorization: basicAuth(), 'Content-Type': 'application/soap+xml;charset=UTF-8' },
    });
    expect(response.status).toBe(413);
  });
});
