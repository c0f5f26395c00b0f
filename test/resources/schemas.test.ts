import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocumentText } from '../../src/load/parse-document.js';
import { splitDocuments } from '../../src/load/split-documents.js';
import { createAjv } from '../../src/resources/ajv.js';
import { bundleKindSchemas } from '../../src/resources/bundle-schemas.js';
import { validateResource } from '../../src/resources/validate-resource.js';

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
  const bundled = bundleKindSchemas();

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
    const ajv = createAjv();
    for (const [file, schema] of bundled) ajv.addSchema(schema, file);
    const anyKind = ajv.getSchema('resource.schema.json');
    if (!anyKind) throw new Error('resource.schema.json missing');
    const examples = documentsIn('examples/devices', ['alpha.yaml', 'beta.yaml']);
    const invalid = documentsIn('test/corpus/invalid', [
      'device-bad-mac.yaml',
      'device-transport-credentialref-inline.yaml',
      'site-label-key-pattern.yaml',
      'policy-schedule-exec-without-command.yaml',
    ]);
    expect(examples.length).toBe(100);
    expect(invalid.length).toBe(4);
    for (const doc of [...examples, ...invalid]) {
      const verdict = validateResource(doc.value).problems.length === 0;
      expect(anyKind(doc.value), `${doc.file}`).toBe(verdict);
    }
  });

  it('are what examples/schemas holds (run `rmm schema export --dir examples/schemas` after a change)', () => {
    for (const [file, schema] of bundled) {
      const committed = JSON.parse(readFileSync(path.join('examples/schemas', file), 'utf8'));
      expect(committed, file).toEqual(schema);
    }
  });
});
