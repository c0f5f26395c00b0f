import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  commandEnvelope,
  createShellEnvelope,
  deleteShellEnvelope,
  type EnvelopeContext,
  maxSendChunk,
  OPERATION_TIMEOUT_FAULT,
  parseCommandId,
  parseFault,
  parseReceive,
  parseShellId,
  receiveEnvelope,
  sendEnvelope,
  signalEnvelope,
  WsmanParseError,
} from '../../plugins/winrm/src/wsman.js';

const SHELL_ID = '0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D';
const COMMAND_ID = 'F1E2D3C4-B5A6-4978-8695-A4B3C2D1E0F9';

/** pywinrm 0.3 hard-codes the endpoint, envelope size and locale of its headers; these match them. */
const pywinrmCtx: EnvelopeContext = {
  url: 'http://windows-host:5985/wsman',
  maxEnvelopeSize: 153600,
  operationTimeoutSec: 20,
  locale: 'en-US',
};

const HOSTILE_COMMAND = `cmd /c echo "a & b" <in.txt >out.txt 2>&1 | findstr 'x' && del %TEMP%\\x ]]> <!-- -->`;
const HOSTILE_ARGS = ['"C:\\Program Files\\App\\a&b.exe"', `<>&'"`, 'Grüße 日本 😀'];

// ---------------------------------------------------------------------------------------------
// Reading our own envelopes back, with a parser that is not the one under test.

const reader = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  htmlEntities: true, // numeric character references too
  isArray: (name) => ['Option', 'Variable', 'Selector'].includes(name),
});

// biome-ignore lint/suspicious/noExplicitAny: a test's view into arbitrary parsed XML
function read(xml: string): any {
  return reader.parse(xml).Envelope;
}

/** Text of an element that may also carry attributes. */
function text(node: unknown): string {
  if (typeof node === 'string') return node;
  if (node && typeof node === 'object' && '#text' in node) return String(node['#text']);
  return '';
}

// ---------------------------------------------------------------------------------------------
// pywinrm 0.3 as the reference for what Windows accepts.

const PYTHON = '/usr/bin/python3';

/**
 * Runs each pywinrm Protocol call with send_message captured, and turns both its envelope and ours
 * into namespace-resolved trees ({uri}local tags, attributes, exact text, children in order).
 * MessageID text is blanked: it is random on both sides.
 */
const PYWINRM_SCRIPT = `
import json, sys
import xml.etree.ElementTree as ET
from winrm.protocol import Protocol

ADDRESSING = '{http://schemas.xmlsoap.org/ws/2004/08/addressing}'

def tree(xml):
    def walk(e):
        text = '' if e.tag == ADDRESSING + 'MessageID' else (e.text or '')
        return {'tag': e.tag, 'attrib': dict(sorted(e.attrib.items())), 'text': text,
                'children': [walk(c) for c in e]}
    return walk(ET.fromstring(xml.encode('utf-8')))

def respond(request):
    message_id = ET.fromstring(request).find('.//' + ADDRESSING + 'MessageID').text
    return ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
            ' xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
            ' xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"'
            ' xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">'
            '<s:Header><a:RelatesTo>' + message_id + '</a:RelatesTo></s:Header><s:Body>'
            '<w:Selector Name="ShellId">S</w:Selector><rsp:CommandId>C</rsp:CommandId>'
            '<rsp:ReceiveResponse><rsp:CommandState State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done">'
            '<rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>')

results = []
for case in json.load(sys.stdin):
    protocol = Protocol('http://windows-host:5985/wsman', transport='plaintext', username='u', password='p',
                        operation_timeout_sec=20, read_timeout_sec=30)
    sent = []
    def capture(message):
        sent.append(message)
        return respond(message)
    protocol.send_message = capture
    getattr(protocol, case['call'])(**case['kwargs'])
    results.append({'ours': tree(case['ours']), 'theirs': tree(sent[0])})
print(json.dumps(results))
`;

interface PywinrmCase {
  call: string;
  kwargs: Record<string, unknown>;
  ours: string;
}

function compareWithPywinrm(cases: PywinrmCase[]): Array<{ ours: unknown; theirs: unknown }> {
  const run = spawnSync(PYTHON, ['-c', PYWINRM_SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`pywinrm helper failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe('request envelopes match pywinrm 0.3', () => {
  const cases: Array<[string, PywinrmCase]> = [
    [
      'Create, defaults',
      { call: 'open_shell', kwargs: {}, ours: createShellEnvelope(pywinrmCtx, { codepage: 437 }) },
    ],
    [
      'Create with every option',
      {
        call: 'open_shell',
        kwargs: {
          working_directory: 'C:\\Users\\a & b\\<dir>',
          // pywinrm 0.3 keeps only the last variable of its env_vars, so one is all it can compare.
          env_vars: { 'PATH&"': 'C:\\bin;"quoted" <x> \'y\'' },
          noprofile: true,
          codepage: 65001,
        },
        ours: createShellEnvelope(pywinrmCtx, {
          codepage: 65001,
          noProfile: true,
          workingDirectory: 'C:\\Users\\a & b\\<dir>',
          environment: { 'PATH&"': 'C:\\bin;"quoted" <x> \'y\'' },
          inputStreams: 'stdin',
          outputStreams: 'stdout stderr',
        }),
      },
    ],
    [
      'Command with arguments',
      {
        call: 'run_command',
        kwargs: { shell_id: SHELL_ID, command: 'ipconfig', arguments: ['/all'] },
        ours: commandEnvelope(pywinrmCtx, SHELL_ID, 'ipconfig', ['/all']),
      },
    ],
    [
      'Command without arguments',
      {
        call: 'run_command',
        kwargs: { shell_id: SHELL_ID, command: 'hostname' },
        ours: commandEnvelope(pywinrmCtx, SHELL_ID, 'hostname', []),
      },
    ],
    [
      'Command with a hostile command line and options flipped',
      {
        call: 'run_command',
        kwargs: {
          shell_id: SHELL_ID,
          command: HOSTILE_COMMAND,
          arguments: HOSTILE_ARGS,
          console_mode_stdin: false,
          skip_cmd_shell: true,
        },
        ours: commandEnvelope(pywinrmCtx, SHELL_ID, HOSTILE_COMMAND, HOSTILE_ARGS, {
          consoleModeStdin: false,
          skipCmdShell: true,
        }),
      },
    ],
    [
      'Receive',
      {
        call: '_raw_get_command_output',
        kwargs: { shell_id: SHELL_ID, command_id: COMMAND_ID },
        ours: receiveEnvelope(pywinrmCtx, SHELL_ID, COMMAND_ID),
      },
    ],
    [
      'Signal terminate',
      {
        call: 'cleanup_command',
        kwargs: { shell_id: SHELL_ID, command_id: COMMAND_ID },
        ours: signalEnvelope(pywinrmCtx, SHELL_ID, COMMAND_ID, 'terminate'),
      },
    ],
    [
      'Delete',
      {
        call: 'close_shell',
        kwargs: { shell_id: SHELL_ID },
        ours: deleteShellEnvelope(pywinrmCtx, SHELL_ID),
      },
    ],
  ];

  it.each(cases)('%s', (_name, testCase) => {
    const [result] = compareWithPywinrm([testCase]);
    expect(result?.ours).toEqual(result?.theirs);
  });
});

// ---------------------------------------------------------------------------------------------

describe('request envelopes', () => {
  const ctx: EnvelopeContext = {
    url: 'https://host.example:5986/wsman',
    maxEnvelopeSize: 512000,
    operationTimeoutSec: 60,
  };

  it('carries the standard headers: addressing, envelope size, locale, timeout, resource', () => {
    const header = read(receiveEnvelope({ ...ctx, locale: 'de-DE' }, SHELL_ID, COMMAND_ID)).Header;
    expect(text(header.To)).toBe('https://host.example:5986/wsman');
    expect(header.ReplyTo.Address).toEqual({
      '#text': 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous',
      '@mustUnderstand': 'true',
    });
    expect(header.MaxEnvelopeSize).toEqual({ '#text': '512000', '@mustUnderstand': 'true' });
    expect(text(header.MessageID)).toMatch(
      /^uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(header.Locale).toEqual({ '@mustUnderstand': 'false', '@lang': 'de-DE' });
    expect(header.DataLocale).toEqual({ '@mustUnderstand': 'false', '@lang': 'de-DE' });
    expect(text(header.OperationTimeout)).toBe('PT60S');
    expect(header.ResourceURI).toEqual({
      '#text': 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd',
      '@mustUnderstand': 'true',
    });
    expect(header.SelectorSet.Selector).toEqual([{ '#text': SHELL_ID, '@Name': 'ShellId' }]);
  });

  it('uses the given message id, adding the uuid: scheme when missing, and a fresh one otherwise', () => {
    const id = '11111111-2222-4333-8444-555555555555';
    expect(text(read(deleteShellEnvelope({ ...ctx, messageId: id }, SHELL_ID)).Header.MessageID)).toBe(
      `uuid:${id}`,
    );
    expect(
      text(read(deleteShellEnvelope({ ...ctx, messageId: `uuid:${id}` }, SHELL_ID)).Header.MessageID),
    ).toBe(`uuid:${id}`);
    const first = text(read(deleteShellEnvelope(ctx, SHELL_ID)).Header.MessageID);
    expect(first).not.toBe(text(read(deleteShellEnvelope(ctx, SHELL_ID)).Header.MessageID));
  });

  it('binds the namespaces Windows expects', () => {
    const xml = deleteShellEnvelope(ctx, SHELL_ID);
    expect(xml).toMatch(/^<\?xml version="1\.0" encoding="utf-8"\?><s:Envelope /);
    for (const binding of [
      'xmlns:s="http://www.w3.org/2003/05/soap-envelope"',
      'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"',
      'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"',
      'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"',
      'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"',
    ]) {
      expect(xml).toContain(binding);
    }
  });

  it('creates a UTF-8, profile-loading cmd shell by default', () => {
    const doc = read(createShellEnvelope(ctx));
    expect(text(doc.Header.Action)).toBe('http://schemas.xmlsoap.org/ws/2004/09/transfer/Create');
    expect(doc.Header.SelectorSet).toBeUndefined();
    expect(doc.Header.OptionSet.Option).toEqual([
      { '#text': 'FALSE', '@Name': 'WINRS_NOPROFILE' },
      { '#text': '65001', '@Name': 'WINRS_CODEPAGE' },
    ]);
    expect(doc.Body.Shell).toEqual({ InputStreams: 'stdin', OutputStreams: 'stdout stderr' });
  });

  it('lists every environment variable', () => {
    const doc = read(createShellEnvelope(ctx, { environment: { A: '1', B: 'two words', C: '' } }));
    expect(doc.Body.Shell.Environment.Variable).toEqual([
      { '#text': '1', '@Name': 'A' },
      { '#text': 'two words', '@Name': 'B' },
      { '@Name': 'C' },
    ]);
  });

  it('sends stdin as base64, closing the stream only when told', () => {
    const data = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x0d, 0x0a]);
    const doc = read(sendEnvelope(ctx, SHELL_ID, COMMAND_ID, data, true));
    expect(text(doc.Header.Action)).toBe('http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send');
    expect(doc.Header.SelectorSet.Selector).toEqual([{ '#text': SHELL_ID, '@Name': 'ShellId' }]);
    expect(doc.Body.Send.Stream).toEqual({
      '#text': data.toString('base64'),
      '@Name': 'stdin',
      '@CommandId': COMMAND_ID,
      '@End': 'true',
    });
    const open = read(sendEnvelope(ctx, SHELL_ID, COMMAND_ID, data, false)).Body.Send.Stream;
    expect(open['@End']).toBeUndefined();
    const closeOnly = read(sendEnvelope(ctx, SHELL_ID, COMMAND_ID, Buffer.alloc(0), true)).Body.Send.Stream;
    expect(closeOnly).toEqual({ '@Name': 'stdin', '@CommandId': COMMAND_ID, '@End': 'true' });
  });

  it('signals terminate and ctrl_c to one command', () => {
    for (const signal of ['terminate', 'ctrl_c'] as const) {
      const doc = read(signalEnvelope(ctx, SHELL_ID, COMMAND_ID, signal));
      expect(text(doc.Header.Action)).toBe('http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal');
      expect(doc.Body.Signal).toEqual({
        Code: `http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/${signal}`,
        '@CommandId': COMMAND_ID,
      });
    }
  });

  it('receives stdout and stderr of one command', () => {
    const doc = read(receiveEnvelope(ctx, SHELL_ID, COMMAND_ID));
    expect(text(doc.Header.Action)).toBe('http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive');
    expect(doc.Body.Receive.DesiredStream).toEqual({ '#text': 'stdout stderr', '@CommandId': COMMAND_ID });
  });

  it('deletes the shell with an empty body', () => {
    const doc = read(deleteShellEnvelope(ctx, SHELL_ID));
    expect(text(doc.Header.Action)).toBe('http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete');
    expect(doc.Body).toBe('');
  });

  it('refuses a context that would produce an invalid header', () => {
    expect(() => deleteShellEnvelope({ ...ctx, operationTimeoutSec: Number.NaN }, SHELL_ID)).toThrow(
      RangeError,
    );
    expect(() => deleteShellEnvelope({ ...ctx, maxEnvelopeSize: 0 }, SHELL_ID)).toThrow(RangeError);
  });
});

describe('escaping', () => {
  const ctx: EnvelopeContext = {
    url: 'http://h:5985/wsman?a=1&b=<2>',
    maxEnvelopeSize: 153600,
    operationTimeoutSec: 20,
  };

  it('carries hostile command lines through unchanged', () => {
    const command = `${HOSTILE_COMMAND}\r\n\tnext line`;
    const xml = commandEnvelope(ctx, `${SHELL_ID}&"`, command, HOSTILE_ARGS);
    expect(xml).not.toMatch(/<[^>]*<|&(?!(amp|lt|gt|quot|apos|#\d+);)/);
    const doc = read(xml);
    expect(text(doc.Body.CommandLine.Command)).toBe(command);
    expect(text(doc.Body.CommandLine.Arguments)).toBe(HOSTILE_ARGS.join(' '));
    expect(text(doc.Header.SelectorSet.Selector[0])).toBe(`${SHELL_ID}&"`);
    expect(text(doc.Header.To)).toBe('http://h:5985/wsman?a=1&b=<2>');
  });

  it('keeps CR, tab and newline in text and attributes, which parsers would otherwise normalise', () => {
    const xml = createShellEnvelope(ctx, {
      workingDirectory: 'C:\\a\r\nb',
      environment: { 'N"\t\n': "v'\r\n\t<&>" },
    });
    expect(xml).toContain('C:\\a&#13;\nb');
    expect(xml).toContain('Name="N&quot;&#9;&#10;"');
    const shell = read(xml).Body.Shell;
    expect(shell.WorkingDirectory).toBe('C:\\a\r\nb');
    expect(shell.Environment.Variable).toEqual([{ '#text': "v'\r\n\t<&>", '@Name': 'N"\t\n' }]);
  });

  it('survives a conforming XML parser (expat) with attribute normalisation', () => {
    const script = `
import json, sys
import xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read().encode('utf-8'))
rsp = '{http://schemas.microsoft.com/wbem/wsman/1/windows/shell}'
variable = root.find('.//' + rsp + 'Variable')
print(json.dumps({'dir': root.find('.//' + rsp + 'WorkingDirectory').text,
                  'name': variable.get('Name'), 'value': variable.text}))`;
    const xml = createShellEnvelope(ctx, {
      workingDirectory: 'C:\\a\r\nb 😀',
      environment: { 'N"\t\n': "v'\r\n\t<&>" },
    });
    const run = spawnSync(PYTHON, ['-c', script], { input: xml, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ dir: 'C:\\a\r\nb 😀', name: 'N"\t\n', value: "v'\r\n\t<&>" });
  });

  it('refuses characters XML 1.0 cannot carry instead of sending a broken envelope', () => {
    for (const bad of [
      'a\u0000b',
      'bell\u0007',
      'esc\u001b[0m',
      'lone \ud800 surrogate',
      'lone \udc00',
      '\uffff',
    ]) {
      expect(() => commandEnvelope(ctx, SHELL_ID, bad, [])).toThrow(RangeError);
      expect(() => commandEnvelope(ctx, SHELL_ID, 'echo', [bad])).toThrow(/XML 1\.0 cannot represent it/);
    }
    expect(() => commandEnvelope(ctx, SHELL_ID, 'echo 😀 \u{10ffff} \ufffd', [])).not.toThrow();
  });
});

describe('maxSendChunk', () => {
  for (const maxEnvelopeSize of [153600, 512000]) {
    it(`keeps a full Send under ${maxEnvelopeSize} bytes, and close to it`, () => {
      const ctx: EnvelopeContext = {
        url: 'https://a-rather-long-host-name.subdomain.example.com:5986/wsman',
        maxEnvelopeSize,
        operationTimeoutSec: 20,
        locale: 'en-US',
      };
      const chunk = maxSendChunk(ctx);
      expect(chunk % 3).toBe(0);
      const xml = sendEnvelope(ctx, SHELL_ID, COMMAND_ID, Buffer.alloc(chunk, 0xa5), true);
      const size = Buffer.byteLength(xml, 'utf8');
      expect(size).toBeLessThanOrEqual(maxEnvelopeSize);
      // Only the room reserved for longer ids (2 × 92 characters here) and base64 rounding go unused.
      expect(maxEnvelopeSize - size).toBeLessThan(200);
    });
  }

  it('counts the header in bytes, not characters', () => {
    const ctx: EnvelopeContext = {
      url: 'http://hôte-ünïcode:5985/wsman',
      maxEnvelopeSize: 153600,
      operationTimeoutSec: 20,
    };
    const chunk = maxSendChunk(ctx);
    const xml = sendEnvelope(ctx, 'X'.repeat(128), 'Y'.repeat(128), Buffer.alloc(chunk), false);
    expect(Buffer.byteLength(xml)).toBeLessThanOrEqual(153600);
  });

  it('refuses an envelope size with no room for data', () => {
    expect(() =>
      maxSendChunk({ url: 'http://h/wsman', maxEnvelopeSize: 1000, operationTimeoutSec: 20 }),
    ).toThrow(/no room for stdin/);
  });
});

// ---------------------------------------------------------------------------------------------
// Responses, in the shape Windows sends them: compact, prefixes s/a/w/rsp, xml:lang on the root.

const WINDOWS_NAMESPACES =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
  'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" ' +
  'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"';

function windowsResponse(action: string, body: string): string {
  return (
    `<s:Envelope xml:lang="en-US" ${WINDOWS_NAMESPACES}><s:Header>` +
    `<a:Action>${action}</a:Action><a:MessageID>uuid:8C2E5F4B-1D7A-4E3C-9B6F-2A1D0C9E8B7A</a:MessageID>` +
    '<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>' +
    '<a:RelatesTo>uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301</a:RelatesTo>' +
    `</s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

const CREATE_RESPONSE = windowsResponse(
  'http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse',
  '<x:ResourceCreated><a:Address>http://windows-host:5985/wsman</a:Address><a:ReferenceParameters>' +
    '<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>' +
    `<w:SelectorSet><w:Selector Name="ShellId">${SHELL_ID}</w:Selector></w:SelectorSet>` +
    '</a:ReferenceParameters></x:ResourceCreated>',
);

const COMMAND_RESPONSE = windowsResponse(
  'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse',
  `<rsp:CommandResponse><rsp:CommandId>${COMMAND_ID}</rsp:CommandId></rsp:CommandResponse>`,
);

function stream(name: string, data: Buffer | string, end = false): string {
  const content = typeof data === 'string' ? data : data.toString('base64');
  return `<rsp:Stream Name="${name}" CommandId="${COMMAND_ID}"${end ? ' End="true"' : ''}>${content}</rsp:Stream>`;
}

function receiveResponse(streams: string[], state: 'Running' | 'Done', exitCode?: string): string {
  const stateUri = `http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/${state}`;
  const commandState =
    exitCode === undefined
      ? `<rsp:CommandState CommandId="${COMMAND_ID}" State="${stateUri}"/>`
      : `<rsp:CommandState CommandId="${COMMAND_ID}" State="${stateUri}"><rsp:ExitCode>${exitCode}</rsp:ExitCode></rsp:CommandState>`;
  return windowsResponse(
    'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse',
    `<rsp:ReceiveResponse>${streams.join('')}${commandState}</rsp:ReceiveResponse>`,
  );
}

describe('parseShellId and parseCommandId', () => {
  it('reads the ShellId selector of a Windows Create response', () => {
    expect(parseShellId(CREATE_RESPONSE)).toBe(SHELL_ID);
  });

  it('reads rsp:ShellId when a server sends the Shell instead of a selector', () => {
    const xml = windowsResponse(
      'http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse',
      `<rsp:Shell><rsp:ShellId>${SHELL_ID}</rsp:ShellId><rsp:ResourceUri>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</rsp:ResourceUri></rsp:Shell>`,
    );
    expect(parseShellId(xml)).toBe(SHELL_ID);
  });

  it('reads the CommandId of a Command response', () => {
    expect(parseCommandId(COMMAND_RESPONSE)).toBe(COMMAND_ID);
  });

  it('does not care which prefixes the server bound, or whether it indents', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">
  <env:Header/>
  <env:Body>
    <CommandResponse xmlns="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">
      <CommandId>
        ${COMMAND_ID}
      </CommandId>
    </CommandResponse>
  </env:Body>
</env:Envelope>`;
    expect(parseCommandId(xml)).toBe(COMMAND_ID);
  });

  it('throws WsmanParseError, naming what was expected, when the id is missing', () => {
    expect(() => parseShellId(COMMAND_RESPONSE)).toThrow(WsmanParseError);
    expect(() => parseShellId(COMMAND_RESPONSE)).toThrow(/expected a ShellId in the Create response/);
    expect(() => parseCommandId(CREATE_RESPONSE)).toThrow(/expected a CommandId/);
    expect(() => parseCommandId('<html><body>It works!</body></html>')).toThrow(
      /expected a Command response in a SOAP envelope, got: "<html>/,
    );
  });

  it('says so when handed a fault', () => {
    expect(() => parseShellId(ACCESS_DENIED_FAULT)).toThrow(
      /expected a Create response, got a SOAP fault: Access is denied\./,
    );
  });
});

describe('parseReceive', () => {
  it('decodes every stream in order, stdout and stderr apart', () => {
    const xml = receiveResponse(
      [
        stream('stdout', Buffer.from('\r\nWindows IP Configuration\r\n\r\n')),
        stream('stderr', Buffer.from('warning: one\r\n')),
        stream('stdout', Buffer.from('   Host Name . . . : WIN-2019\r\n')),
        stream('stderr', Buffer.from('warning: two\r\n')),
      ],
      'Running',
    );
    const result = parseReceive(xml);
    expect(result.stdout.map(String)).toEqual([
      '\r\nWindows IP Configuration\r\n\r\n',
      '   Host Name . . . : WIN-2019\r\n',
    ]);
    expect(result.stderr.map(String)).toEqual(['warning: one\r\n', 'warning: two\r\n']);
    expect(result).toMatchObject({ done: false, exitCode: null });
  });

  it('keeps output as bytes, so a character split across chunks survives', () => {
    const bytes = Buffer.from('Grüße → 日本語 😀 done', 'utf8');
    // Split inside "😀" (4 bytes) and inside "ü" (2 bytes).
    const emoji = bytes.indexOf(Buffer.from('😀'));
    const cuts = [0, bytes.indexOf(Buffer.from('ü')) + 1, emoji + 2, bytes.length];
    const chunks = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end));
    const result = parseReceive(
      receiveResponse(
        chunks.map((chunk) => stream('stdout', chunk)),
        'Running',
      ),
    );
    expect(result.stdout).toHaveLength(3);
    expect(result.stdout.every((chunk) => Buffer.isBuffer(chunk))).toBe(true);
    expect(result.stdout.map((chunk) => chunk.toString('hex'))).toEqual(
      chunks.map((chunk) => chunk.toString('hex')),
    );
    expect(Buffer.concat(result.stdout).toString('utf8')).toBe('Grüße → 日本語 😀 done');
  });

  it('treats empty End="true" streams as the close they are, not as data', () => {
    const xml = receiveResponse(
      [
        stream('stdout', Buffer.from('last line\r\n')),
        stream('stdout', '', true),
        `<rsp:Stream Name="stderr" CommandId="${COMMAND_ID}" End="true"/>`,
      ],
      'Done',
      '0',
    );
    expect(parseReceive(xml)).toEqual({
      stdout: [Buffer.from('last line\r\n')],
      stderr: [],
      done: true,
      exitCode: 0,
    });
  });

  it.each([
    ['0', 0],
    ['1', 1],
    ['255', 255],
    ['3221225786', 3221225786], // 0xC000013A, STATUS_CONTROL_C_EXIT, reported unsigned
    ['-1073741510', -1073741510], // the same, from a server that reports it signed
  ])('reads a Done state with exit code %s', (exitCode, expected) => {
    const result = parseReceive(
      receiveResponse([stream('stdout', '', true), stream('stderr', '', true)], 'Done', exitCode),
    );
    expect(result).toEqual({ stdout: [], stderr: [], done: true, exitCode: expected });
  });

  it('reads a pretty-printed response with other prefixes and line-wrapped base64', () => {
    const data = Buffer.from('x'.repeat(200));
    const wrapped = data.toString('base64').replace(/.{76}/g, '$&\n');
    const xml = `<?xml version="1.0" ?>
<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope" xmlns:shell="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">
    <S:Header/>
    <S:Body>
        <shell:ReceiveResponse SequenceID="0">
            <shell:Stream Name="stdout" CommandId="c">${wrapped}</shell:Stream>
            <shell:Stream Name="stdout" CommandId="c"><![CDATA[aGk=]]></shell:Stream>
            <shell:CommandState CommandId="c" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done">
                <shell:ExitCode> 7 </shell:ExitCode>
            </shell:CommandState>
        </shell:ReceiveResponse>
    </S:Body>
</S:Envelope>`;
    const result = parseReceive(xml);
    expect(result.stdout).toEqual([data, Buffer.from('hi')]);
    expect(result).toMatchObject({ done: true, exitCode: 7 });
  });

  it('ignores streams other than stdout and stderr', () => {
    const result = parseReceive(
      receiveResponse(
        [stream('pr', Buffer.from('progress')), stream('stdout', Buffer.from('ok'))],
        'Running',
      ),
    );
    expect(result.stdout).toEqual([Buffer.from('ok')]);
    expect(result.stderr).toEqual([]);
  });

  it('rejects what is not base64 output or a numeric exit code', () => {
    expect(() => parseReceive(receiveResponse([stream('stdout', 'not base64!')], 'Running'))).toThrow(
      /expected base64 output in rsp:Stream/,
    );
    expect(() => parseReceive(receiveResponse([stream('stdout', 'QQ=')], 'Running'))).toThrow(
      WsmanParseError,
    );
    expect(() => parseReceive(receiveResponse([], 'Done', 'zero'))).toThrow(
      /expected a numeric rsp:ExitCode/,
    );
    expect(() => parseReceive(COMMAND_RESPONSE)).toThrow(/expected rsp:ReceiveResponse/);
    expect(() => parseReceive(OPERATION_TIMEOUT_XML)).toThrow(
      /got a SOAP fault: The WS-Management service cannot complete/,
    );
  });

  it('parses a large response quickly', () => {
    const chunk = Buffer.alloc(7000, 0x41);
    const xml = receiveResponse(
      Array.from({ length: 50 }, (_, i) => stream(i % 2 ? 'stderr' : 'stdout', chunk)),
      'Running',
    );
    expect(xml.length).toBeGreaterThan(450_000);
    const started = performance.now();
    for (let i = 0; i < 10; i++) parseReceive(xml);
    const perMessage = (performance.now() - started) / 10;
    expect(perMessage).toBeLessThan(100); // ~5 ms on a laptop; the bound only catches pathological slowness
    expect(parseReceive(xml).stdout).toHaveLength(25);
  });
});

// Faults as Windows sends them (HTTP 500). The operation timeout follows a Windows Server 2022
// capture; the others use the messages Windows prints for those errors.
function windowsFault(code: string, subcode: string, reason: string, detail: string): string {
  return windowsResponse(
    'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
    `<s:Fault><s:Code><s:Value>${code}</s:Value><s:Subcode><s:Value>${subcode}</s:Value></s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en-US">${reason}</s:Text></s:Reason><s:Detail>${detail}</s:Detail></s:Fault>`,
  );
}

const OPERATION_TIMEOUT_TEXT =
  'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ';
const OPERATION_TIMEOUT_XML = windowsFault(
  's:Receiver',
  'w:TimedOut',
  OPERATION_TIMEOUT_TEXT,
  '<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="server2022.domain.test">' +
    `<f:Message>${OPERATION_TIMEOUT_TEXT}</f:Message></f:WSManFault>`,
);

const UNKNOWN_SHELL_TEXT =
  `The request for the Windows Remote Shell with ShellId ${SHELL_ID} failed because the shell was not found on the server. ` +
  'Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. ' +
  'Provide the correct ShellId or create a new shell and retry the operation. ';
const UNKNOWN_SHELL_XML = windowsFault(
  's:Sender',
  'w:InvalidSelectors',
  UNKNOWN_SHELL_TEXT,
  '<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858843" Machine="WIN-2019.corp.example">' +
    `<f:Message>${UNKNOWN_SHELL_TEXT}</f:Message></f:WSManFault>`,
);

const ACCESS_DENIED_FAULT = windowsFault(
  's:Sender',
  'w:AccessDenied',
  'Access is denied. ',
  '<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="5" Machine="WIN-2019.corp.example">' +
    '<f:Message>Access is denied. </f:Message></f:WSManFault>',
);

describe('parseFault', () => {
  it('recognises the operation timeout, after which the client just receives again', () => {
    expect(parseFault(OPERATION_TIMEOUT_XML)).toEqual({
      code: OPERATION_TIMEOUT_FAULT,
      subcode: 'TimedOut',
      reason: OPERATION_TIMEOUT_TEXT.trim(),
      message: OPERATION_TIMEOUT_TEXT.trim(),
    });
  });

  it('reads the unknown-shell fault', () => {
    expect(parseFault(UNKNOWN_SHELL_XML)).toEqual({
      code: '2150858843',
      subcode: 'InvalidSelectors',
      reason: UNKNOWN_SHELL_TEXT.trim(),
      message: UNKNOWN_SHELL_TEXT.trim(),
    });
  });

  it('reads access denied', () => {
    expect(parseFault(ACCESS_DENIED_FAULT)).toEqual({
      code: '5',
      subcode: 'AccessDenied',
      reason: 'Access is denied.',
      message: 'Access is denied.',
    });
  });

  it('takes the message from nested provider faults', () => {
    const xml = windowsFault(
      's:Sender',
      'w:InvalidParameter',
      'The parameter is incorrect. ',
      '<w:FaultDetail>http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidValue</w:FaultDetail>' +
        '<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="87" Machine="WIN-2016">' +
        '<f:Message>\n  <f:ProviderFault provider="Shell cmd plugin" path="%systemroot%\\system32\\winrscmd.dll">' +
        'The parameter is incorrect. &#xD;\n</f:ProviderFault>\n</f:Message></f:WSManFault>',
    );
    expect(parseFault(xml)).toEqual({
      code: '87',
      subcode: 'InvalidParameter',
      reason: 'The parameter is incorrect.',
      message: 'The parameter is incorrect.',
    });
  });

  it('reads a fault without WSManFault detail, with other prefixes', () => {
    const xml = `<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">
  <soap:Header><NotUnderstood xmlns="http://www.w3.org/2003/05/soap-envelope" qname="w:Foo"/></soap:Header>
  <soap:Body>
    <soap:Fault>
      <soap:Code><soap:Value>soap:MustUnderstand</soap:Value></soap:Code>
      <soap:Reason><soap:Text xml:lang="">  Header not understood &amp; ignored  </soap:Text></soap:Reason>
    </soap:Fault>
  </soap:Body>
</soap:Envelope>`;
    expect(parseFault(xml)).toEqual({
      code: null,
      subcode: null,
      reason: 'Header not understood & ignored',
      message: null,
    });
  });

  it('returns null for documents that are not faults', () => {
    expect(parseFault(CREATE_RESPONSE)).toBeNull();
    expect(parseFault(COMMAND_RESPONSE)).toBeNull();
    expect(parseFault(receiveResponse([stream('stdout', Buffer.from('ok'))], 'Done', '0'))).toBeNull();
    expect(
      parseFault(windowsResponse('http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse', '')),
    ).toBeNull();
    expect(
      parseFault('<html><head><title>Bad Request</title></head><body><h1>Bad Request</h1></body></html>'),
    ).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------

const PARSERS: Array<[string, (xml: string) => unknown]> = [
  ['parseShellId', parseShellId],
  ['parseCommandId', parseCommandId],
  ['parseReceive', parseReceive],
  ['parseFault', parseFault],
];

describe('malformed responses', () => {
  const FULL_RECEIVE = receiveResponse(
    [stream('stdout', Buffer.from('hello\r\n')), stream('stderr', Buffer.from('oops\r\n'))],
    'Done',
    '1',
  );

  const garbage: Array<[string, string]> = [
    ['empty', ''],
    ['whitespace', ' \r\n '],
    ['plain text', 'Internal Server Error'],
    ['HTML', '<html><body><p>Service Unavailable<br></body></html>'],
    ['truncated', FULL_RECEIVE.slice(0, Math.floor(FULL_RECEIVE.length / 2))],
    ['truncated inside a tag', FULL_RECEIVE.slice(0, FULL_RECEIVE.indexOf('CommandState') + 5)],
    ['two roots', `${CREATE_RESPONSE}${CREATE_RESPONSE}`],
    ['mismatched tags', '<s:Envelope><s:Body></s:Envelope></s:Body>'],
    ['unknown entity', CREATE_RESPONSE.replace(SHELL_ID, '&nbsp;')],
    ['bare ampersand', CREATE_RESPONSE.replace(SHELL_ID, 'a & b')],
    ['document type declaration', `<!DOCTYPE s [<!ENTITY x "${'x'.repeat(100)}">]>${CREATE_RESPONSE}`],
    ['deep nesting', `${'<a>'.repeat(500)}${'</a>'.repeat(500)}`],
    ['out-of-range character reference', CREATE_RESPONSE.replace(SHELL_ID, '&#x110000;')],
  ];

  for (const [parserName, parse] of PARSERS) {
    it.each(garbage)(`${parserName} throws WsmanParseError on %s`, (_name, xml) => {
      expect(() => parse(xml)).toThrow(WsmanParseError);
    });

    it(`${parserName} rejects input that is not a string`, () => {
      expect(() => parse(Buffer.from(CREATE_RESPONSE) as unknown as string)).toThrow(WsmanParseError);
      expect(() => parse(undefined as unknown as string)).toThrow(WsmanParseError);
    });
  }

  it('says what was expected, with an excerpt', () => {
    expect(() => parseReceive(FULL_RECEIVE.slice(0, FULL_RECEIVE.indexOf('<a:To>') + 10))).toThrow(
      /^expected well-formed XML, but it ends inside <s:Envelope>, <s:Header>, .*\(truncated\?\): "…/,
    );
    expect(() => parseFault('Internal Server Error')).toThrow(
      /char 'I' is not expected at line 1, column 1: "Internal Server Error"/,
    );
    expect(() => parseFault('')).toThrow(/got an empty one/);
    const error = (() => {
      try {
        parseShellId('nope');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(WsmanParseError);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('WsmanParseError');
  });

  it('throws nothing but WsmanParseError on any truncation of a real response', () => {
    for (const [, parse] of PARSERS) {
      for (let end = 0; end < FULL_RECEIVE.length - 1; end += 7) {
        expect(() => parse(FULL_RECEIVE.slice(0, end))).toThrow(WsmanParseError);
      }
    }
  });

  it('throws nothing but WsmanParseError on arbitrary or mutated input', () => {
    const onlyParseErrors = (xml: string) => {
      for (const [, parse] of PARSERS) {
        try {
          parse(xml);
        } catch (error) {
          if (!(error instanceof WsmanParseError)) throw error;
        }
      }
    };
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), onlyParseErrors), { numRuns: 300 });
    const mutation = fc.record({
      at: fc.nat({ max: FULL_RECEIVE.length - 1 }),
      remove: fc.nat({ max: 8 }),
      insert: fc.string({
        unit: fc.constantFrom('<', '>', '&', '"', "'", '/', '=', ';', '#', 'x', '!', '[', ']', ' ', ':'),
        maxLength: 6,
      }),
    });
    fc.assert(
      fc.property(mutation, ({ at, remove, insert }) =>
        onlyParseErrors(FULL_RECEIVE.slice(0, at) + insert + FULL_RECEIVE.slice(at + remove)),
      ),
      { numRuns: 1000 },
    );
  });
});
