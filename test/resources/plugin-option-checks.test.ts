import { afterEach, describe, expect, it } from 'vitest';
import type { OptionsFinding } from '../../src/plugin/api.js';
import { pluginOptionProblems, setTransportSchemas } from '../../src/resources/transport-options.js';

/**
 * How the core runs a plugin's checkOptions (Transport.checkOptions): on blocks that pass the
 * plugin's schema, with the options as written, at the document's own fields; a plugin whose check
 * throws is reported, not a crash. The plugins here are fakes: what is tested is the core's side.
 */
const schema = {
  type: 'object',
  additionalProperties: false,
  properties: { port: { type: 'integer' }, mode: { enum: ['safe', 'lab'], default: 'safe' } },
};
const seen: Array<Record<string, unknown>> = [];
const labWarning = (options: Record<string, unknown>): OptionsFinding[] => {
  seen.push(options);
  return options.mode === 'lab' ? [{ path: ['mode'], severity: 'warning', message: 'lab only' }] : [];
};

function install(check: (options: Record<string, unknown>) => OptionsFinding[]) {
  setTransportSchemas({ schemas: { fake: schema, ssh: schema }, optionChecks: { fake: check } });
}
afterEach(() => {
  setTransportSchemas(undefined);
  seen.length = 0;
});

describe('pluginOptionProblems', () => {
  it("reports a finding at the block's field with its severity, showing the plugin the options as written", () => {
    install(labWarning);
    expect(pluginOptionProblems('Device', { type: 'fake', credentialRef: 'env:RMM_X', mode: 'lab' })).toEqual(
      [
        {
          code: 'transport',
          path: ['spec', 'transport', 'mode'],
          at: 'value',
          message: 'lab only',
          severity: 'warning',
        },
      ],
    );
    expect(pluginOptionProblems('Device', { type: 'fake', port: 1 })).toEqual([]);
    // No type, credentialRef or schema default reaches the plugin.
    expect(seen).toEqual([{ mode: 'lab' }, { port: 1 }]);
  });

  it("checks a device as merged with its site's default, reporting only the device's own fields", () => {
    install(labWarning);
    // The type and the lab mode come from the site: reported at the site, not at each device.
    expect(pluginOptionProblems('Device', { port: 2 }, { type: 'fake', mode: 'lab' })).toEqual([]);
    expect(seen).toEqual([{ port: 2, mode: 'lab' }]);
    expect(pluginOptionProblems('Site', { type: 'fake', mode: 'lab' })[0]?.path).toEqual([
      'spec',
      'defaults',
      'transport',
      'mode',
    ]);
  });

  it("leaves a block that fails the plugin's schema to the schema's own messages", () => {
    install(labWarning);
    expect(pluginOptionProblems('Device', { type: 'fake', mode: 'lab', port: 'x' })).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('reports a check that throws as an error at the block, naming the transport', () => {
    install(() => {
      throw new Error('boom');
    });
    expect(pluginOptionProblems('Device', { type: 'fake' })).toEqual([
      {
        code: 'transport',
        path: ['spec', 'transport'],
        at: 'key',
        message: 'the fake plugin failed to check these options: boom',
      },
    ]);
  });
});
