import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { optionsSchema as smb } from '../../plugins/smb/src/options.js';
import { optionsSchema as ssh } from '../../plugins/ssh/src/options.js';
import { optionsSchema as winrm } from '../../plugins/winrm/src/options.js';
import { parseDocumentText } from '../../src/load/parse-document.js';
import { splitDocuments } from '../../src/load/split-documents.js';
import { createAjv } from '../../src/resources/ajv.js';
import { bundleKindSchemas } from '../../src/resources/bundle-schemas.js';
import { setTransportSchemas } from '../../src/resources/transport-options.js';
import { validateResource } from '../../src/resources/validate-resource.js';

/** The built-in plugins' option schemas, as rmm schema export finds them installed. */
const builtIn = { smb, ssh, winrm };

/** The documents of a directory of YAML, parsed, with where they came from. */
function documentsIn(dir: string, names: string[]) {
  return names.flatMap((name) => {
    const file = path.join(dir, name);
    return splitDocuments(readFileSync(file, 'utf8')).flatMap((chunk) => {
      const parsed = parseDocumentText(chunk.text);
      return parsed.ok ? [{ file, value: parsed.value }] : [];
    });
  });
}

describe('exported schemas (rmm schema export)', () => {
  const bundled = bundleKindSchemas(builtIn);

  it('are self-contained: each compiles on its own, with no other schema loaded', () => {
    for (const [file, schema] of bundled) {
      if (file === 'resource.schema.json') continue;
      expect(() => createAjv().compile(schema), file).not.toThrow();
    }
  });

  it('resource.schema.json compiles beside its siblings', () => {
    const ajv = createAjv();
    for (const [file, schema] of bundled) ajv.addSchema(schema, file);
    expect(ajv.getSchema('resource.schema.json')).toBeTypeOf('function');
  });

  it('give the same verdict as the validator on the examples and the invalid corpus', () => {
    setTransportSchemas({ schemas: builtIn });
    const ajv = createAjv();
    for (const [file, schema] of bundled) ajv.addSchema(schema, file);
    const anyKind = ajv.getSchema('resource.schema.json');
    if (!anyKind) throw new Error('resource.schema.json missing');
    const examples = documentsIn('examples/devices', ['alpha.yaml', 'beta.yaml']);
    const invalid = documentsIn('test/corpus/invalid', [
      'device-bad-mac.yaml',
      'device-transport-port-string.yaml',
      'device-transport-credentialref-inline.yaml',
      'site-label-key-pattern.yaml',
      'policy-schedule-exec-without-command.yaml',
    ]);
    expect(examples.length).toBe(100);
    expect(invalid.length).toBe(5);
    const device = (transport: Record<string, unknown>) => ({
      apiVersion: 'rmm/v1',
      kind: 'Device',
      metadata: { name: 'web-01' },
      spec: { site: 'main', address: '10.0.0.1', transport },
    });
    // Transport options, checked by the plugin's schema in both.
    const blocks = [
      device({ type: 'ssh', knownHosts: '~/.ssh/rmm_known_hosts', hostKeyPolicy: 'strict' }),
      device({ type: 'ssh', hostKeyPolicy: 'sometimes' }),
      device({ type: 'ssh', knownHost: '~/.ssh/known_hosts' }),
      device({ type: 'winrm', scheme: 'https', tls: { verify: false } }),
      device({ type: 'winrm', tls: { verify: 'no' } }),
      // Basic over plain http (scheme given, or by default), refused by the plugin's if/then in both.
      device({ type: 'winrm', auth: 'basic' }),
      device({ type: 'winrm', scheme: 'http', auth: 'basic' }),
      device({ type: 'winrm', scheme: 'https', auth: 'basic' }),
      device({ port: 2222 }),
    ];
    let refused = 0;
    for (const doc of [...examples, ...invalid, ...blocks.map((value) => ({ file: 'inline', value }))]) {
      const verdict = validateResource(doc.value).problems.length === 0;
      if (!verdict) refused++;
      expect(anyKind(doc.value), `${doc.file}: ${JSON.stringify(doc.value)}`).toBe(verdict);
    }
    expect(refused).toBe(10);
    setTransportSchemas(undefined);
  });

  it("build each installed transport's options into the transport block, and write each on its own", () => {
    expect([...bundled.keys()].filter((f) => f.startsWith('transport-'))).toEqual([
      'transport-smb.schema.json',
      'transport-ssh.schema.json',
      'transport-winrm.schema.json',
    ]);
    const ajv = createAjv();
    const sshBlock = ajv.compile(bundled.get('transport-ssh.schema.json') as object);
    expect(
      sshBlock({ type: 'ssh', user: 'rmm', credentialRef: 'env:KEY', knownHosts: '/etc/rmm/known_hosts' }),
    ).toBe(true);
    expect(sshBlock({ type: 'ssh', credentialRef: 'hunter2' })).toBe(false);
    expect(sshBlock({ type: 'winrm' })).toBe(false);
    // via is rmm's, beside the plugin's options: a closed options schema must not refuse it.
    expect(sshBlock({ type: 'ssh', via: 'direct' })).toBe(true);
    expect(sshBlock({ type: 'ssh', via: 'satellite' })).toBe(false);
    const device = bundled.get('device.schema.json') as { $defs: Record<string, { properties?: object }> };
    expect(Object.keys(device.$defs['transport-ssh']?.properties ?? {})).toEqual([
      'type',
      'credentialRef',
      'via',
      ...Object.keys(ssh.properties),
    ]);
  });

  it('are what examples/schemas holds (run `rmm schema export --dir examples/schemas` after a change)', () => {
    for (const [file, schema] of bundled) {
      const committed = JSON.parse(readFileSync(path.join('examples/schemas', file), 'utf8'));
      expect(committed, file).toEqual(schema);
    }
  });
});
