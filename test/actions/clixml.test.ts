import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeClixml } from '../../src/actions/clixml.js';

const OBJS = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">';

/** Windows PowerShell loading its modules: a console shows (then hides) this progress bar. */
const PREPARING_MODULES =
  '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>';

/** stderr of `powershell -EncodedCommand` running Write-Error, as captured over WinRM. */
const WRITE_ERROR = `#< CLIXML\r\n${OBJS}${PREPARING_MODULES}<S S="Error">Write-Error : boom_x000D__x000A_</S><S S="Error">At line:1 char:1_x000D__x000A_</S><S S="Error">+ Write-Error 'boom'_x000D__x000A_</S><S S="Error">+ ~~~~~~~~~~~~~~~~~~_x000D__x000A_</S><S S="Error">    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException_x000D__x000A_</S><S S="Error">    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException_x000D__x000A_</S><S S="Error"> _x000D__x000A_</S></Objs>`;

const WRITE_ERROR_TEXT = [
  'Write-Error : boom',
  'At line:1 char:1',
  "+ Write-Error 'boom'",
  '+ ~~~~~~~~~~~~~~~~~~',
  '    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException',
  '    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException',
].join('\n');

/** Get-Item on a missing path whose name needs XML escaping. */
const MISSING_PATH = `#< CLIXML\r\n${OBJS}<S S="Error">Get-Item : Cannot find path 'C:\\Temp\\R&amp;D &lt;old&gt;.txt' because it does not exist._x000D__x000A_</S><S S="Error">At line:1 char:1_x000D__x000A_</S><S S="Error">+ Get-Item 'C:\\Temp\\R&amp;D &lt;old&gt;.txt'_x000D__x000A_</S><S S="Error">+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~_x000D__x000A_</S><S S="Error">    + CategoryInfo          : ObjectNotFound: (C:\\Temp\\R&amp;D &lt;old&gt;.txt:String) [Get-Item], ItemNotFoundException_x000D__x000A_</S><S S="Error">    + FullyQualifiedErrorId : PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand_x000D__x000A_</S><S S="Error"> _x000D__x000A_</S></Objs>`;

/** A script writing a verbose line, a warning, Write-Host text (an information record) and debug. */
const OTHER_STREAMS = `#< CLIXML\r\n${OBJS}<S S="verbose">Loading module from path 'C:\\Program Files\\WindowsPowerShell\\Modules\\Agent\\Agent.psm1'.</S><Obj S="information" RefId="0"><TN RefId="0"><T>System.Management.Automation.InformationRecord</T><T>System.Object</T></TN><ToString>-= Installing agent =-</ToString><Props><Obj N="MessageData" RefId="1"><TN RefId="1"><T>System.Management.Automation.HostInformationMessage</T><T>System.Object</T></TN><ToString>-= Installing agent =-</ToString><Props><S N="Message">-= Installing agent =-</S><B N="NoNewLine">false</B><S N="ForegroundColor">DarkYellow</S><S N="BackgroundColor">DarkMagenta</S></Props></Obj><S N="Source">C:\\Windows\\Temp\\install.ps1</S><DT N="TimeGenerated">2024-02-12T09:14:02.8050678+01:00</DT><Obj N="Tags" RefId="2"><TN RefId="2"><T>System.Collections.Generic.List\`1[[System.String, mscorlib, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089]]</T><T>System.Object</T></TN><LST><S>PSHOST</S></LST></Obj><S N="User">NT AUTHORITY\\SYSTEM</S><S N="Computer">SRV-FILE01</S><U32 N="ProcessId">4242</U32><U32 N="NativeThreadId">1972</U32><U32 N="ManagedThreadId">9</U32></Props></Obj><S S="warning">The agent service was already running; it will be restarted.</S><S S="debug">state=running pid=4711</S></Objs>`;

describe('decodeClixml', () => {
  it('turns a Write-Error over -EncodedCommand into the text a console shows, progress dropped', () => {
    expect(decodeClixml(WRITE_ERROR)).toBe(WRITE_ERROR_TEXT);
  });

  it('decodes XML entities', () => {
    const text = decodeClixml(MISSING_PATH);
    expect(text.split('\n')[0]).toBe(
      "Get-Item : Cannot find path 'C:\\Temp\\R&D <old>.txt' because it does not exist.",
    );
    expect(text).toContain('ObjectNotFound: (C:\\Temp\\R&D <old>.txt:String)');
    expect(text).not.toMatch(/&amp;|&lt;|_x000D_/);
  });

  it('labels warning, verbose and debug records as a console does, and shows information records', () => {
    expect(decodeClixml(OTHER_STREAMS)).toBe(
      [
        "VERBOSE: Loading module from path 'C:\\Program Files\\WindowsPowerShell\\Modules\\Agent\\Agent.psm1'.",
        '-= Installing agent =-',
        'WARNING: The agent service was already running; it will be restarted.',
        'DEBUG: state=running pid=4711',
      ].join('\n'),
    );
  });

  it('keeps the text around the CLIXML', () => {
    expect(decodeClixml(`Connection to host warmed up\r\n${WRITE_ERROR}\r\nexit code 1`)).toBe(
      `Connection to host warmed up\r\n${WRITE_ERROR_TEXT}\r\nexit code 1`,
    );
    expect(decodeClixml(`${WRITE_ERROR}trailing`)).toBe(`${WRITE_ERROR_TEXT}\ntrailing`);
  });

  it('reads a repeated marker and several documents, each starting a line', () => {
    const twice = `#< CLIXML\r\n#< CLIXML\r\n${OBJS}${PREPARING_MODULES}<S S="Error">Error 1</S></Objs>${OBJS}${PREPARING_MODULES}<S S="Error">Error 2</S></Objs>`;
    expect(decodeClixml(twice)).toBe('Error 1\nError 2');
    // A marker per document, on lines of their own.
    expect(decodeClixml(`${WRITE_ERROR}\r\n${MISSING_PATH}\r\n`)).toBe(
      `${WRITE_ERROR_TEXT}\n${decodeClixml(MISSING_PATH)}\r\n`,
    );
  });

  it('decodes _xHHHH_ escapes: control characters, surrogate pairs, escaped underscores', () => {
    const one = (content: string) => decodeClixml(`#< CLIXML\r\n${OBJS}<S S="Error">${content}</S></Objs>`);
    expect(one('tab_x0009_here')).toBe('tab\there');
    expect(one('note _xD83C__xDFB5_')).toBe('note 🎵');
    expect(one('lower case _x005f_')).toBe('lower case _');
    expect(one('escaped literal _x005F_x005F_')).toBe('escaped literal _x005F_');
    expect(one('not hex _x005G_')).toBe('not hex _x005G_');
    expect(one('Zugriff verweigert: Schlüssel für Dienste_x000D__x000A_')).toBe(
      'Zugriff verweigert: Schlüssel für Dienste',
    );
    // PowerShell 7 colours its errors.
    expect(one('_x001B_[31;1mGet-Item: _x001B_[31;1mCannot find path._x001B_[0m_x000D__x000A_')).toBe(
      'Get-Item: Cannot find path.',
    );
  });

  it('leaves nothing of a stderr that held only progress records', () => {
    expect(decodeClixml(`#< CLIXML\r\n${OBJS}${PREPARING_MODULES}</Objs>`)).toBe('');
    expect(decodeClixml(`#< CLIXML\r\n${OBJS}</Objs>`)).toBe('');
  });

  it('returns text that is not CLIXML unchanged', () => {
    for (const text of [
      '',
      "'powershell' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n",
      'CLIXML <Objs> mentioned in passing',
      '<Objs Version="1.1.0.1"><S S="Error">no marker</S></Objs>',
    ])
      expect(decodeClixml(text)).toBe(text);
  });

  it('returns malformed CLIXML unchanged', () => {
    for (const text of [
      '#< CLIXML',
      '#< CLIXML\r\nnot xml at all',
      `#< CLIXML\r\n${OBJS}<S S="Error">never closed`,
      `#< CLIXML\r\n${OBJS}<S S="Error">mismatched</Obj></Objs>`,
      `#< CLIXML\r\n${OBJS}<!-- a comment --><S S="Error">x</S></Objs>`,
      `#< CLIXML\r\n<Obj S="Error"><ToString>not in Objs</ToString></Obj>`,
      `fine so far\r\n${WRITE_ERROR}\r\n#< CLIXML\r\n${OBJS}<S S="Error">cut off`,
    ])
      expect(decodeClixml(text)).toBe(text);
  });

  it('never throws, and returns a cut-off document unchanged wherever the cut falls', () => {
    // stderr is kept up to 64 KiB, so CLIXML can arrive truncated anywhere.
    for (let length = 0; length < WRITE_ERROR.length; length++) {
      const cut = WRITE_ERROR.slice(0, length);
      expect(decodeClixml(cut)).toBe(cut);
    }
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        const text = `${before}#< CLIXML\r\n${after}`;
        expect(typeof decodeClixml(text)).toBe('string');
      }),
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        fc.pre(!text.includes('#< CLIXML'));
        expect(decodeClixml(text)).toBe(text);
      }),
    );
  });
});
