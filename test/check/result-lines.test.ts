import { describe, expect, it } from 'vitest';
import type { DocumentResult } from '../../src/check/check-document.js';
import { decodeResult, encodeResult } from '../../src/check/result-lines.js';

describe('a cached check result line', () => {
  it("keeps a transport block (the checks of each device's merged block need it from cached files too)", () => {
    const result: DocumentResult = {
      diagnostics: [],
      refs: {
        kind: 'Device',
        name: 'win-01',
        site: 'lab',
        groups: ['a', 'b'],
        transport: 'winrm',
        transportBlock: { type: 'winrm', path: '/ws\tman\n', tls: { verify: false } },
      },
      declared: { kind: 'Device', name: 'win-01', image: '["x\\t"]' },
    };
    const line = encodeResult(result);
    expect(line).not.toContain('\n');
    expect(decodeResult(line)).toEqual(result);
    const site: DocumentResult = {
      diagnostics: [],
      refs: { kind: 'Site', name: 'lab', transportBlock: { port: 2222 } },
    };
    expect(decodeResult(encodeResult(site))).toEqual(site);
  });

  it("keeps a policy's monitored series (the conflict check across documents needs them from cached files too)", () => {
    const policy: DocumentResult = {
      diagnostics: [],
      refs: {
        kind: 'Policy',
        name: 'p1',
        monitors: [
          { name: 'cpu', series: 'cpu.percent', enforced: true },
          { name: 'x', series: 'x{a="1,\\t2",b="\\n"}' },
        ],
      },
      declared: { kind: 'Policy', name: 'p1', image: '[]' },
    };
    expect(decodeResult(encodeResult(policy))).toEqual(policy);
  });

  it("keeps a site's relay and a route's channels, sites and groups (their references are checked from cached files too)", () => {
    const site: DocumentResult = {
      diagnostics: [],
      refs: { kind: 'Site', name: 'alpha', relay: 'relay-alpha' },
      declared: { kind: 'Site', name: 'alpha', image: '[]' },
    };
    expect(decodeResult(encodeResult(site))).toEqual(site);
    const route: DocumentResult = {
      diagnostics: [],
      refs: { kind: 'AlertRoute', name: 'r', channels: ['a', 'b'], matchSites: ['s'], matchGroups: ['g'] },
      declared: { kind: 'AlertRoute', name: 'r', image: '[]' },
    };
    expect(decodeResult(encodeResult(route))).toEqual(route);
  });
});
