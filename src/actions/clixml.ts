/**
 * PowerShell's stderr as people read it. `powershell -EncodedCommand` with redirected output writes
 * its error, warning, verbose, debug and information streams (and progress records) as CLIXML:
 * `#< CLIXML` then one or more `<Objs>` documents. decodeClixml turns each into the text a console
 * would have shown and leaves everything else alone; what it cannot read comes back unchanged.
 */
const MARKER = '#< CLIXML';

/** How the console labels records of these streams; errors and information records have no label. */
const STREAM_LABELS: Readonly<Record<string, string>> = {
  warning: 'WARNING: ',
  verbose: 'VERBOSE: ',
  debug: 'DEBUG: ',
};

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: Array<XmlElement | string>;
}

interface StreamRecord {
  /** Lower-cased: PowerShell writes "Error" but "warning", "verbose", "information". */
  stream: string;
  text: string;
}

export function decodeClixml(text: string): string {
  if (!text.includes(MARKER)) return text;
  try {
    return decodeSections(text) ?? text;
  } catch {
    return text;
  }
}

/** The text with every marker and its documents replaced by their records; undefined if malformed. */
function decodeSections(text: string): string | undefined {
  let decoded = '';
  let at = 0;
  for (;;) {
    const marker = text.indexOf(MARKER, at);
    if (marker === -1) return decoded + text.slice(at);
    decoded += text.slice(at, marker);
    const documents: XmlElement[] = [];
    let position = marker + MARKER.length;
    for (;;) {
      // The marker may repeat, and documents may follow each other, across line breaks.
      const next = skipWhitespace(text, position);
      if (text.startsWith(MARKER, next)) position = next + MARKER.length;
      else if (text.startsWith('<Objs', next)) {
        const read = readElement(text, next);
        if (read?.element.name !== 'Objs') return undefined;
        documents.push(read.element);
        position = read.end;
      } else break;
    }
    if (documents.length === 0) return undefined;
    const rendered = render(documents.map(streamRecords));
    const rest = text.slice(position);
    decoded += rendered !== '' && rest !== '' && !/^\r?\n/.test(rest) ? `${rendered}\n` : rendered;
    at = position;
  }
}

/** A document's records in order; progress records are dropped, as a console only animates them. */
function streamRecords(document: XmlElement): StreamRecord[] {
  const records: StreamRecord[] = [];
  for (const child of document.children) {
    if (typeof child === 'string') continue;
    const stream = child.attributes.S?.toLowerCase();
    if (stream === undefined || stream === 'progress') continue;
    if (child.name === 'S') records.push({ stream, text: unescapeString(textOf(child)) });
    else if (child.name === 'Obj') {
      // A record serialized as an object (an InformationRecord) carries its display text in ToString.
      const display = child.children.find(
        (c): c is XmlElement => typeof c !== 'string' && c.name === 'ToString',
      );
      if (display) records.push({ stream, text: unescapeString(textOf(display)) });
    }
  }
  return records;
}

/** Documents one under the other, each without the blank line PowerShell ends an error with. */
function render(documents: StreamRecord[][]): string {
  return documents
    .map(renderDocument)
    .filter((text) => text !== '')
    .join('\n');
}

/**
 * Error records arrive as line fragments that end in their own line breaks, so they are joined as
 * they are; every other record is a message of its own line.
 */
function renderDocument(records: StreamRecord[]): string {
  let out = '';
  for (const { stream, text } of records) {
    if (stream === 'error') out += text;
    else {
      if (out !== '' && !/\n$/.test(out)) out += '\n';
      out += `${STREAM_LABELS[stream] ?? ''}${text.trimEnd()}\n`;
    }
  }
  // PowerShell 7 colours errors with ANSI escapes; a console line break is CRLF.
  return (
    out
      // biome-ignore lint/suspicious/noControlCharactersInRegex: an ANSI escape starts with ESC
      .replace(/\x1b\[[0-9;]*m/g, '')
      .replace(/\r\n/g, '\n')
      .trimEnd()
  );
}

/**
 * CLIXML strings escape characters XML cannot hold as _xHHHH_ (UTF-16 code units, so a surrogate
 * pair is two of them), and a literal "_x" as _x005F_x.
 */
function unescapeString(text: string): string {
  return text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

function textOf(element: XmlElement): string {
  return element.children.map((child) => (typeof child === 'string' ? child : textOf(child))).join('');
}

const TAG = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
const ATTRIBUTE = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/g;

/**
 * The element starting at `start` and where it ends, for the subset of XML that CLIXML uses: tags,
 * attributes, text and entities. Anything else (comments, CDATA, a mismatched tag) is undefined.
 */
function readElement(text: string, start: number): { element: XmlElement; end: number } | undefined {
  const open: XmlElement[] = [];
  let position = start;
  while (position < text.length) {
    const lt = text.indexOf('<', position);
    if (lt === -1) return undefined;
    const parent = open.at(-1);
    if (lt > position && parent) parent.children.push(decodeEntities(text.slice(position, lt)));
    TAG.lastIndex = lt;
    const tag = TAG.exec(text);
    if (!tag) return undefined;
    position = TAG.lastIndex;
    const [, closing, name = '', attributes = '', selfClosing] = tag;
    if (closing) {
      const element = open.pop();
      if (!element || element.name !== name || attributes !== '' || selfClosing) return undefined;
      if (open.length === 0) return { element, end: position };
      continue;
    }
    const element: XmlElement = { name, attributes: readAttributes(attributes), children: [] };
    parent?.children.push(element);
    if (!selfClosing) open.push(element);
    else if (!parent) return { element, end: position };
  }
  return undefined;
}

function readAttributes(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [, name = '', double, single] of source.matchAll(ATTRIBUTE))
    attributes[name] = decodeEntities(double ?? single ?? '');
  return attributes;
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(
    /&(?:#(\d+)|#x([0-9A-Fa-f]+)|(amp|lt|gt|quot|apos));/g,
    (entity, decimal, hex, name) => {
      if (name) return NAMED_ENTITIES[name] ?? entity;
      const code = decimal !== undefined ? Number(decimal) : Number.parseInt(hex, 16);
      return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    },
  );
}

function skipWhitespace(text: string, position: number): number {
  let at = position;
  while (at < text.length && /\s/.test(text[at] as string)) at++;
  return at;
}
