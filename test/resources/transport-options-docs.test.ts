import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { optionsSchema as relay } from '../../plugins/relay/src/options.js';
import { optionsSchema as ssh } from '../../plugins/ssh/src/options.js';
import { optionsSchema as winrm } from '../../plugins/winrm/src/options.js';

/**
 * docs/plugins.md documents every option of every built-in transport: one table row per option
 * (nested ones as `tls.caFile`), no row for an option that is gone, and each schema default named in
 * the row's Default column. A new option without a line in the docs fails here.
 */
type Schema = { properties?: Record<string, Schema>; default?: unknown };

function optionPaths(schema: Schema, prefix = ''): Array<{ path: string; default?: unknown }> {
  return Object.entries(schema.properties ?? {}).flatMap(([name, property]) => [
    { path: prefix + name, ...('default' in property ? { default: property.default } : {}) },
    ...optionPaths(property, `${prefix}${name}.`),
  ]);
}

/** The rows of the options table in the section `### ... (`type: TYPE`...`: option -> Default column. */
function documentedOptions(markdown: string, type: string): Map<string, string> {
  const sections = markdown.split(/^### /m);
  const section = sections.find((s) => s.split('\n')[0]?.includes(`\`type: ${type}\``));
  if (!section) throw new Error(`docs/plugins.md has no section for type: ${type}`);
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const match = /^\| `([^`]+)` \| [^|]*(?:\\\|[^|]*)* \| ([^|]*) \|/.exec(line);
    if (match) rows.set(match[1] as string, (match[2] as string).trim());
  }
  return rows;
}

describe('docs/plugins.md and the built-in transports option schemas', () => {
  const docs = readFileSync('docs/plugins.md', 'utf8');

  it.each([
    ['ssh', ssh],
    ['winrm', winrm],
    ['relay', relay],
  ])('every %s option has a row, with its default, and every row is an option', (type, schema) => {
    const options = optionPaths(schema as Schema);
    const documented = documentedOptions(docs, type);
    expect([...documented.keys()].sort()).toEqual(options.map((o) => o.path).sort());
    for (const option of options) {
      if (option.default === undefined) continue;
      expect(documented.get(option.path), option.path).toContain(String(option.default));
    }
  });

  it('says what each credential must resolve to', () => {
    for (const type of ['ssh', 'winrm', 'relay']) {
      const section = docs.split(/^### /m).find((s) => s.split('\n')[0]?.includes(`\`type: ${type}\``));
      expect(section, type).toMatch(/What the credential.*must resolve to/s);
    }
  });
});
