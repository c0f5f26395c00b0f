import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import type { ObservedOs } from './linux.js';

/**
 * The Windows inventory collector: a Windows PowerShell 5.1 script (collectors/windows/inventory.ps1,
 * shipped as a file so it can be syntax-checked and read as PowerShell) that prints one JSON document;
 * and the parser that turns it into the JSON stored in Inventory (one row per category) and the
 * device's observed OS fields. The parser trusts little: Windows PowerShell unwraps one-item arrays,
 * a category may hold {"error": ...} instead of data, and fields may be missing.
 */
export const WINDOWS_COLLECTOR_FILE = path.join(packageRoot, 'collectors', 'windows', 'inventory.ps1');

/** The `formatVersion` the collector prints and this parser reads. */
export const WINDOWS_INVENTORY_FORMAT = 1;

let collector: Promise<string> | undefined;

/** The collector script, to send with `powershell: true` in the action's payload; read once per process. */
export function loadWindowsCollector(): Promise<string> {
  collector ??= readFile(WINDOWS_COLLECTOR_FILE, 'utf8').then(stripBom);
  return collector;
}

/** What a category holds when the collector could not read it; the other categories are unaffected. */
export interface CategoryError {
  error: string;
}

export interface WindowsOs {
  /** "Microsoft Windows Server 2022 Standard" */
  caption: string | null;
  /** "10.0.20348" */
  version: string | null;
  /** "20348" */
  buildNumber: string | null;
  /** "21H2"; absent before Windows 10 20H2. */
  displayVersion: string | null;
  /** The patch level after the build: 20348.2227 has 2227. */
  updateBuildRevision: number | null;
  /** "64-bit" */
  architecture: string | null;
  computerName: string | null;
  /** ISO 8601, UTC. */
  installDate: string | null;
  lastBootUpTime: string | null;
  powershellVersion: string | null;
}

export interface WindowsProcessor {
  name: string | null;
  cores: number | null;
  logicalProcessors: number | null;
}

export interface WindowsHardware {
  manufacturer: string | null;
  model: string | null;
  /** The AD domain, or the workgroup of a machine not joined to one. */
  domain: string | null;
  totalMemoryBytes: number | null;
  /** One per socket. */
  processors: WindowsProcessor[];
}

export interface WindowsDisk {
  /** "C:" */
  drive: string | null;
  label: string | null;
  fileSystem: string | null;
  sizeBytes: number | null;
  freeBytes: number | null;
}

export interface WindowsNetworkAdapter {
  description: string | null;
  macAddress: string | null;
  ipv4: string[];
  ipv6: string[];
  dhcpEnabled: boolean | null;
  gateways: string[];
  dnsServers: string[];
}

export interface WindowsSoftware {
  name: string;
  version: string | null;
  publisher: string | null;
  /** "2024-01-15" when the entry gives yyyyMMdd, as most do; otherwise as the entry has it. */
  installDate: string | null;
  /** Which Uninstall key listed it: 64-bit or 32-bit (WOW6432Node) programs. */
  registryView: 64 | 32 | null;
}

export interface WindowsInventory {
  os: WindowsOs | CategoryError;
  hardware: WindowsHardware | CategoryError;
  disks: WindowsDisk[] | CategoryError;
  network: WindowsNetworkAdapter[] | CategoryError;
  software: WindowsSoftware[] | CategoryError;
}

export type WindowsInventoryCategory = keyof WindowsInventory;

export const WINDOWS_INVENTORY_CATEGORIES: readonly WindowsInventoryCategory[] = [
  'os',
  'hardware',
  'disks',
  'network',
  'software',
];

export function isCategoryError(value: unknown): value is CategoryError {
  return isRecord(value) && typeof value.error === 'string';
}

export function parseWindowsInventory(output: string): WindowsInventory {
  const document = findDocument(output);
  const category = <T>(name: WindowsInventoryCategory, read: (value: unknown) => T): T | CategoryError => {
    const value = document[name];
    if (isCategoryError(value)) return { error: value.error };
    if (value === undefined || value === null) return { error: 'not in the collector output' };
    return read(value);
  };
  return {
    os: category('os', readOs),
    hardware: category('hardware', readHardware),
    disks: category('disks', (value) => list(value).map(readDisk)),
    network: category('network', (value) => list(value).map(readAdapter)),
    software: category('software', (value) => list(value).flatMap(readSoftware)),
  };
}

export function observedWindowsOs(inventory: WindowsInventory): ObservedOs {
  const os = isCategoryError(inventory.os) ? undefined : inventory.os;
  return { OSName: os?.caption ?? null, OSVersion: os?.version ?? null, OSBuild: os?.buildNumber ?? null };
}

/** One line on what was found, for `rmm inventory collect`'s output and the action's note. */
export function describeWindowsInventory(inventory: WindowsInventory): string {
  const { os, disks, network, software } = inventory;
  const count = (value: unknown[] | CategoryError, noun: string) =>
    isCategoryError(value)
      ? `${noun}s unreadable`
      : `${value.length} ${noun}${value.length === 1 ? '' : 's'}`;
  const system = isCategoryError(os)
    ? 'OS unreadable'
    : `${os.caption ?? 'unknown Windows'}, build ${[os.buildNumber ?? '?', os.updateBuildRevision].filter((part) => part !== null).join('.')}`;
  return [system, count(disks, 'disk'), count(network, 'adapter'), count(software, 'program')].join(', ');
}

/**
 * The collector's JSON document, from output that may carry a BOM, CRLF or lines printed before it
 * (a profile, a banner). Throws, quoting what arrived, when there is none.
 */
function findDocument(output: string): Record<string, unknown> {
  const text = stripBom(output).trim();
  const candidates = [text, ...text.split(/\r?\n/).filter((line) => line.trimStart().startsWith('{'))];
  for (const candidate of candidates) {
    const value = parseJson(candidate);
    if (!isRecord(value) || !('formatVersion' in value)) continue;
    if (value.formatVersion !== WINDOWS_INVENTORY_FORMAT)
      throw new Error(
        `Windows inventory: the collector printed format ${JSON.stringify(value.formatVersion)}; this rmm reads format ${WINDOWS_INVENTORY_FORMAT}`,
      );
    return value;
  }
  throw new Error(`Windows inventory: expected the collector's JSON, received ${quoteShort(text)}`);
}

function readOs(value: unknown): WindowsOs {
  const os = record(value);
  return {
    caption: text(os.caption),
    version: text(os.version),
    buildNumber: text(os.buildNumber),
    displayVersion: text(os.displayVersion),
    updateBuildRevision: number(os.updateBuildRevision),
    architecture: text(os.architecture),
    computerName: text(os.computerName),
    installDate: date(os.installDate),
    lastBootUpTime: date(os.lastBootUpTime),
    powershellVersion: text(os.powershellVersion),
  };
}

function readHardware(value: unknown): WindowsHardware {
  const hardware = record(value);
  return {
    manufacturer: text(hardware.manufacturer),
    model: text(hardware.model),
    domain: text(hardware.domain),
    totalMemoryBytes: number(hardware.totalMemoryBytes),
    processors: list(hardware.processors).map((item) => {
      const cpu = record(item);
      return {
        name: text(cpu.name),
        cores: number(cpu.cores),
        logicalProcessors: number(cpu.logicalProcessors),
      };
    }),
  };
}

function readDisk(value: unknown): WindowsDisk {
  const disk = record(value);
  return {
    drive: text(disk.drive),
    label: text(disk.label),
    fileSystem: text(disk.fileSystem),
    sizeBytes: number(disk.sizeBytes),
    freeBytes: number(disk.freeBytes),
  };
}

function readAdapter(value: unknown): WindowsNetworkAdapter {
  const adapter = record(value);
  const texts = (item: unknown) => list(item).flatMap((entry) => text(entry) ?? []);
  return {
    description: text(adapter.description),
    macAddress: text(adapter.macAddress),
    ipv4: texts(adapter.ipv4),
    ipv6: texts(adapter.ipv6),
    dhcpEnabled: typeof adapter.dhcpEnabled === 'boolean' ? adapter.dhcpEnabled : null,
    gateways: texts(adapter.gateways),
    dnsServers: texts(adapter.dnsServers),
  };
}

/** An entry without a name is no program (the collector skips them too). */
function readSoftware(value: unknown): WindowsSoftware[] {
  const entry = record(value);
  const name = text(entry.name);
  if (name === null) return [];
  const view = text(entry.registryView);
  return [
    {
      name,
      version: text(entry.version),
      publisher: text(entry.publisher),
      installDate: registryDate(entry.installDate),
      registryView: view === 'Registry64' ? 64 : view === 'Registry32' || view === 'Default' ? 32 : null,
    },
  ];
}

/**
 * A list where Windows PowerShell may have printed one item bare, nothing at all, or (for an array
 * it saw wrapped) {"value": [...], "Count": n}.
 */
function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  if (isRecord(value) && Array.isArray(value.value) && 'Count' in value) return value.value;
  return [value];
}

function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Trimmed (WMI pads some names), and null when empty. */
function text(value: unknown): string | null {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function number(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return null;
}

/**
 * ISO 8601 UTC. The collector formats dates itself; Windows PowerShell's own form, "/Date(ms)/", is
 * read too, for output that did not.
 */
function date(value: unknown): string | null {
  const raw = text(value);
  if (raw === null) return null;
  const epoch = /^\/Date\((-?\d+)\)\/$/.exec(raw);
  const parsed = new Date(epoch ? Number(epoch[1]) : raw);
  return Number.isNaN(parsed.getTime()) ? raw : parsed.toISOString();
}

function registryDate(value: unknown): string | null {
  const raw = text(value);
  const match = raw === null ? null : /^(\d{4})(\d{2})(\d{2})$/.exec(raw);
  return match ? `${match[1]}-${match[2]}-${match[3]}` : raw;
}

function parseJson(candidate: string): unknown {
  try {
    return JSON.parse(candidate);
  } catch {
    return undefined;
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function quoteShort(text: string): string {
  if (text === '') return 'nothing';
  const shown = text.length > 200 ? `${text.slice(0, 200)}...` : text;
  return `${JSON.stringify(shown)} (${text.length} characters)`;
}
