import { describe, expect, it } from 'vitest';
import { GET_SCRIPT, PUT_SCRIPT, transferScript } from '../../plugins/winrm/src/transfer.js';
import { findPowershell7Syntax, formatProblem, parsePowershell } from '../helpers/powershell-grammar.js';

/** No PowerShell runs here: the transfer scripts are held to the grammar and to Windows PowerShell 5.1. */
describe('WinRM file-transfer scripts', () => {
  for (const [name, template] of [
    ['put', PUT_SCRIPT],
    ['get', GET_SCRIPT],
  ] as const) {
    it(`${name}: parses without errors and uses no PowerShell 7 syntax, whatever the path`, () => {
      for (const remote of ['C:\\Temp\\a.bin', "C:\\it's\\here.bin", 'D:\\‘quoted’ $env:X `n.bin']) {
        const parsed = parsePowershell(transferScript(template, remote));
        expect(parsed.errors.map(formatProblem)).toEqual([]);
        expect(findPowershell7Syntax(parsed.tree.rootNode).map(formatProblem)).toEqual([]);
      }
    });
  }

  it('the grammar check catches a broken script (it can fail)', () => {
    const broken = transferScript(PUT_SCRIPT, 'C:\\a.bin').replace('} finally {', 'finally {');
    expect(parsePowershell(broken).errors.length).toBeGreaterThan(0);
  });

  it('a path cannot end the quoted string', () => {
    const script = transferScript(PUT_SCRIPT, "x'; Remove-Item C:\\ -Recurse; '");
    const line = script.split('\n')[2];
    expect(line).toBe("$path = 'x''; Remove-Item C:\\ -Recurse; '''");
    const parsed = parsePowershell(script);
    expect(parsed.errors).toEqual([]);
    // One assignment statement with a single string on the right: no command was injected.
    expect(parsed.tree.rootNode.toString()).not.toContain('command_name');
  });
});
