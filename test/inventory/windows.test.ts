import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Node } from 'web-tree-sitter';
import {
  describeWindowsInventory,
  isCategoryError,
  loadWindowsCollector,
  observedWindowsOs,
  parseWindowsInventory,
  WINDOWS_COLLECTOR_FILE,
  WINDOWS_INVENTORY_CATEGORIES,
  WINDOWS_INVENTORY_FORMAT,
  type WindowsInventory,
} from '../../src/inventory/windows.js';
import { packageRoot } from '../../src/paths.js';
import { SERVER_2022, WINDOWS_11 } from '../fixtures/inventory/windows.js';
import {
  findPowershell7Syntax,
  formatProblem,
  parsePowershell,
  type SyntaxProblem,
  walk,
} from '../helpers/powershell-grammar.js';

const script = await readFile(path.join(packageRoot, 'collectors', 'windows', 'inventory.ps1'), 'utf8');
const parsed = parsePowershell(script);

const describeProblems = (problems: SyntaxProblem[]) => problems.map(formatProblem).join('; ');

/** The script's text with its comments blanked, so that words in comments do not count as code. */
function codeOf(source: string, root: Node): string {
  let code = source;
  for (const node of walk(root))
    if (node.type === 'comment')
      code = code.slice(0, node.startIndex) + ' '.repeat(node.text.length) + code.slice(node.endIndex);
  return code;
}

function ancestors(node: Node): Node[] {
  const found: Node[] = [];
  for (let parent = node.parent; parent; parent = parent.parent) found.push(parent);
  return found;
}

/** Every key of every object in a JSON value, nested ones included. */
function jsonKeys(value: unknown, keys = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) jsonKeys(item, keys);
  else if (typeof value === 'object' && value !== null)
    for (const [key, item] of Object.entries(value)) {
      keys.add(key);
      jsonKeys(item, keys);
    }
  return keys;
}

describe('the Windows inventory collector script', () => {
  it('is PowerShell with no syntax error', () => {
    expect(describeProblems(parsed.errors)).toBe('');
    expect(parsed.tree.rootNode.hasError).toBe(false);
  });

  it('a copy missing a closing brace fails the check, with a position', () => {
    const tryEnd = script.indexOf('} catch { $inventory.hardware');
    const { errors } = parsePowershell(script.slice(0, tryEnd) + script.slice(tryEnd + 1));
    expect(errors).toContainEqual(expect.objectContaining({ text: 'missing }' }));
    for (const error of errors) {
      expect(error.line).toBeGreaterThan(0);
      expect(error.column).toBeGreaterThan(0);
    }
  });

  it('a copy with an unterminated string fails the check where the string starts', () => {
    const lines = script.split('\n');
    const index = lines.findIndex((line) => line.includes("'DriveType = 3'"));
    const line = lines[index] as string;
    lines[index] = line.replace("'DriveType = 3'", "'DriveType = 3");
    const { errors } = parsePowershell(lines.join('\n'));
    expect(errors.map(formatProblem)).toContainEqual(
      expect.stringMatching(new RegExp(`^${index + 1}:${line.indexOf("'") + 1} "'DriveType = 3`)),
    );
  });

  it('uses no PowerShell 7 syntax, and the check finds it where there is some', () => {
    expect(describeProblems(findPowershell7Syntax(parsed.tree.rootNode))).toBe('');

    const modern = [
      '$name = $env:NAME ?? "default"',
      'Get-Service && Write-Output ok',
      'Test-Path C:\\x || exit 1',
      '$length = $text?.Length',
      '$kind = $isServer ? "server" : "client"',
    ].join('\n');
    const found = findPowershell7Syntax(parsePowershell(modern).tree.rootNode);
    expect(found.map(formatProblem)).toEqual(['1:19 "??"', '2:13 "&&"', '3:16 "||"', '4:16 "?"', '5:19 "?"']);

    const classic = [
      "Write-Output 'a && b || c ?? d'",
      '# $x ?? $y && $z',
      'Get-Service | ? { $_.Status -eq "Running" }',
      '$text = "?.Length"',
    ].join('\n');
    const { tree, errors } = parsePowershell(classic);
    expect(errors).toEqual([]);
    expect(findPowershell7Syntax(tree.rootNode)).toEqual([]);
  });

  it('only reads: its commands are Get- and formatting ones, never Win32_Product or WMI cmdlets', () => {
    const root = parsed.tree.rootNode;
    const commands = new Set([...walk(root)].filter((n) => n.type === 'command_name').map((n) => n.text));
    // Remove-TypeData changes this PowerShell process's type table only (see the script).
    expect([...commands].sort()).toEqual([
      'ConvertTo-Json',
      'Format-UtcDate',
      'Get-CimInstance',
      'Get-ItemProperty',
      'New-CategoryError',
      'New-Object',
      'Remove-TypeData',
      'Where-Object',
    ]);
    const code = codeOf(script, root);
    expect(code).not.toMatch(/Win32_Product|Get-WmiObject|SetValue|DeleteSubKey|CreateSubKey/i);
    for (const wmiClass of [
      'Win32_OperatingSystem',
      'Win32_ComputerSystem',
      'Win32_Processor',
      'Win32_LogicalDisk',
      'Win32_NetworkAdapterConfiguration',
    ])
      expect(code).toContain(`Get-CimInstance -ClassName ${wmiClass}`);
  });

  it('sets each category inside a try whose first statement makes errors terminating', () => {
    const root = parsed.tree.rootNode;
    const assigned = [...walk(root)].filter(
      (n) => n.type === 'assignment_expression' && /^\$inventory\.\w+$/.test(n.firstChild?.text ?? ''),
    );
    const categories = new Set(assigned.map((n) => n.firstChild?.text.replace('$inventory.', '')));
    expect([...categories]).toEqual([...WINDOWS_INVENTORY_CATEGORIES]);
    for (const assignment of assigned) {
      const guard = ancestors(assignment).find((n) => n.type === 'try_statement');
      expect(guard, assignment.text.slice(0, 40)).toBeDefined();
      const tryBlock = guard?.children.find((n) => n?.type === 'statement_block');
      const first = tryBlock?.descendantsOfType('pipeline')[0];
      expect(first?.text).toBe("$ErrorActionPreference = 'Stop'");
    }
  });

  it('prints the format version the parser reads, compact JSON deep enough for its lists', () => {
    const code = codeOf(script, parsed.tree.rootNode);
    expect(code).toContain(`[ordered]@{ formatVersion = ${WINDOWS_INVENTORY_FORMAT} }`);
    expect(code).toMatch(/ConvertTo-Json -InputObject \$inventory -Depth 5 -Compress/);
    expect(code).toContain("$ProgressPreference = 'SilentlyContinue'");
  });

  it('names the same fields as the fixtures these tests parse', () => {
    const scriptKeys = new Set([
      ...[...walk(parsed.tree.rootNode)].filter((n) => n.type === 'key_expression').map((n) => n.text),
      ...WINDOWS_INVENTORY_CATEGORIES,
    ]);
    const fixtureKeys = jsonKeys([JSON.parse(SERVER_2022), JSON.parse(WINDOWS_11)]);
    fixtureKeys.add('error');
    expect([...scriptKeys].sort()).toEqual([...fixtureKeys].sort());
  });

  it('is printable ASCII, and small enough to read whole', () => {
    // Windows PowerShell reads a BOM-less file as ANSI; ASCII reads the same everywhere.
    expect(script).toMatch(/^[ -~\t\r\n]*$/);
    expect(script.length).toBeLessThan(8 * 1024);
  });

  it('is read from the package root at run time', async () => {
    expect(WINDOWS_COLLECTOR_FILE).toBe(path.join(packageRoot, 'collectors', 'windows', 'inventory.ps1'));
    expect(await loadWindowsCollector()).toBe(script);
  });
});

describe('parseWindowsInventory', () => {
  it('reads a Windows Server 2022 inventory', () => {
    const inventory = parseWindowsInventory(SERVER_2022);
    expect(inventory.os).toEqual({
      caption: 'Microsoft Windows Server 2022 Standard',
      version: '10.0.20348',
      buildNumber: '20348',
      displayVersion: '21H2',
      updateBuildRevision: 2227,
      architecture: '64-bit',
      computerName: 'SRV-FILE01',
      installDate: '2023-03-14T09:12:45.000Z',
      lastBootUpTime: '2024-02-10T03:05:11.496Z',
      powershellVersion: '5.1.20348.2227',
    });
    expect(inventory.hardware).toMatchObject({
      manufacturer: 'VMware, Inc.',
      domain: 'corp.example.com',
      totalMemoryBytes: 17179332608,
    });
    expect(inventory.disks).toEqual([
      { drive: 'C:', label: null, fileSystem: 'NTFS', sizeBytes: 106847793152, freeBytes: 61234520064 },
      { drive: 'D:', label: 'Shares', fileSystem: 'ReFS', sizeBytes: 536805376000, freeBytes: 402653184000 },
    ]);
    expect(inventory.network).toEqual([
      {
        description: 'vmxnet3 Ethernet Adapter',
        macAddress: '00:50:56:A1:2B:3C',
        ipv4: ['10.20.30.40'],
        ipv6: ['fe80::1c2d:3e4f:5a6b:7c8d'],
        dhcpEnabled: false,
        gateways: ['10.20.30.1'],
        dnsServers: ['10.20.30.10', '10.20.30.11'],
      },
    ]);
    expect(inventory.software).toHaveLength(5);
    expect(inventory.software).toContainEqual({
      name: 'Crystal Reports Runtime & Viewer',
      version: '13.0.35.4888',
      publisher: 'SAP',
      installDate: '2023-06-01',
      registryView: 32,
    });
    expect(observedWindowsOs(inventory)).toEqual({
      OSName: 'Microsoft Windows Server 2022 Standard',
      OSVersion: '10.0.20348',
      OSBuild: '20348',
    });
    expect(describeWindowsInventory(inventory)).toBe(
      'Microsoft Windows Server 2022 Standard, build 20348.2227, 2 disks, 1 adapter, 5 programs',
    );
  });

  it('reads a Windows 11 inventory: trimmed names, escaped non-ASCII, dates as the entry has them', () => {
    const inventory = parseWindowsInventory(WINDOWS_11);
    expect(observedWindowsOs(inventory)).toEqual({
      OSName: 'Microsoft Windows 11 Pro',
      OSVersion: '10.0.22631',
      OSBuild: '22631',
    });
    expect(inventory.hardware).toEqual({
      manufacturer: 'LENOVO',
      model: '21HDCTO1WW',
      domain: 'WORKGROUP',
      totalMemoryBytes: 34007068672,
      processors: [{ name: '13th Gen Intel(R) Core(TM) i7-1365U', cores: 10, logicalProcessors: 12 }],
    });
    expect(inventory.network).toMatchObject([
      { dhcpEnabled: true, ipv6: ['2a02:8071:5e0:4f00:8d1c:2b3a:4c5d:6e7f', 'fe80::9a4b:1c2d:3e4f:5a6b'] },
      { ipv6: [], gateways: [], dnsServers: ['10.250.0.53', '10.250.0.54'] },
    ]);
    expect(inventory.software).toEqual([
      {
        name: 'Microsoft 365 Apps for enterprise - de-de',
        version: '16.0.17231.20236',
        publisher: 'Microsoft Corporation',
        installDate: null,
        registryView: 64,
      },
      {
        name: 'Grüne Ampel Zeiterfassung',
        version: '4.2',
        publisher: 'Müller & Söhne GmbH',
        installDate: '2024-01-15',
        registryView: 32,
      },
      {
        name: 'Zoom Workplace (64-bit)',
        version: '5.17.11 (34827)',
        publisher: 'Zoom Video Communications, Inc.',
        installDate: '15.01.2024',
        registryView: 64,
      },
    ]);
  });

  it('keeps lists lists when Windows PowerShell unwrapped one item or wrapped an array', () => {
    const inventory = parseWindowsInventory(
      JSON.stringify({
        formatVersion: 1,
        os: {
          caption: 'Microsoft Windows Server 2019 Datacenter',
          version: '10.0.17763',
          buildNumber: '17763',
        },
        hardware: {
          processors: { name: 'AMD EPYC 7763 64-Core Processor', cores: 8, logicalProcessors: 16 },
        },
        disks: { drive: 'C:', fileSystem: 'NTFS', sizeBytes: 136363114496, freeBytes: 90194313216 },
        network: {
          description: 'Microsoft Hyper-V Network Adapter',
          ipv4: '172.16.0.5',
          ipv6: null,
          gateways: '172.16.0.1',
          dnsServers: { value: ['168.63.129.16'], Count: 1 },
        },
        software: { name: 'Microsoft Azure VM Agent', version: '2.7.41491.1102' },
      }),
    );
    expect(inventory.hardware).toMatchObject({
      processors: [{ name: 'AMD EPYC 7763 64-Core Processor', cores: 8, logicalProcessors: 16 }],
    });
    expect(inventory.disks).toEqual([
      { drive: 'C:', label: null, fileSystem: 'NTFS', sizeBytes: 136363114496, freeBytes: 90194313216 },
    ]);
    expect(inventory.network).toEqual([
      {
        description: 'Microsoft Hyper-V Network Adapter',
        macAddress: null,
        ipv4: ['172.16.0.5'],
        ipv6: [],
        dhcpEnabled: null,
        gateways: ['172.16.0.1'],
        dnsServers: ['168.63.129.16'],
      },
    ]);
    expect(inventory.software).toEqual([
      {
        name: 'Microsoft Azure VM Agent',
        version: '2.7.41491.1102',
        publisher: null,
        installDate: null,
        registryView: null,
      },
    ]);
    // Fields the output lacks are null.
    expect(inventory.os).toMatchObject({
      displayVersion: null,
      updateBuildRevision: null,
      installDate: null,
    });
  });

  it('keeps the other categories when one failed, and reads what is missing as an error', () => {
    const output = SERVER_2022.replace(
      /"software":\[.*\]\}/,
      '"software":{"error":"Requested registry access is not allowed."}}',
    ).replace(/"os":\{[^}]*\},/, '');
    const inventory: WindowsInventory = parseWindowsInventory(output);
    expect(inventory.software).toEqual({ error: 'Requested registry access is not allowed.' });
    expect(inventory.os).toEqual({ error: 'not in the collector output' });
    expect(isCategoryError(inventory.disks)).toBe(false);
    expect(inventory.disks).toHaveLength(2);
    expect(observedWindowsOs(inventory)).toEqual({ OSName: null, OSVersion: null, OSBuild: null });
    expect(describeWindowsInventory(inventory)).toBe(
      'OS unreadable, 2 disks, 1 adapter, programs unreadable',
    );
    // One Inventory row per category, an error included.
    expect(Object.keys(inventory)).toEqual([...WINDOWS_INVENTORY_CATEGORIES]);
  });

  it('tolerates a BOM, CRLF, a /Date()/ date, and lines printed before the document', () => {
    const legacyDate = SERVER_2022.replace('"2023-03-14T09:12:45.0000000Z"', '"\\/Date(1678785165000)\\/"');
    const inventory = parseWindowsInventory(`\ufeffWARNING: profile noise\r\n${legacyDate}\r\n`);
    expect(inventory.os).toMatchObject({ installDate: '2023-03-14T09:12:45.000Z' });
  });

  it('says what it received when the output is not the collector JSON', () => {
    expect(() =>
      parseWindowsInventory(
        "'powershell' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n",
      ),
    ).toThrow(/expected the collector's JSON, received "'powershell' is not recognized/);
    expect(() => parseWindowsInventory('')).toThrow(/received nothing/);
    expect(() => parseWindowsInventory('[1,2]')).toThrow(/received "\[1,2\]"/);
    expect(() => parseWindowsInventory('{"os":{}}')).toThrow(/expected the collector's JSON/);
    expect(() => parseWindowsInventory('{"formatVersion":2}')).toThrow(/format 2; this rmm reads format 1/);

    const long = 'x'.repeat(5000);
    const error = (() => {
      try {
        parseWindowsInventory(long);
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error?.message).toContain('..." (5000 characters)');
    expect(error?.message.length).toBeLessThan(400);
  });
});
