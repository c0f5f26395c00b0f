/**
 * Cuts a YAML stream into its documents without parsing it, so that each document can be parsed,
 * validated and dropped on its own, and only a failing document is re-read by the slower parser.
 *
 * YAML forbids a line that starts with `---` or `...` (followed by a blank or the end of the line)
 * inside any node, block scalars and quoted strings included, so such a line always marks a document
 * boundary: the same rule real parsers apply.
 */
export interface DocumentChunk {
  text: string;
  /** 0-based line of the chunk's first line within the file. */
  firstLine: number;
}

const isMarker = (text: string, at: number, mark: string): boolean => {
  if (!text.startsWith(mark, at)) return false;
  const next = text.charCodeAt(at + 3);
  // end of text, space, tab, LF, CR
  return Number.isNaN(next) || next === 0x20 || next === 0x09 || next === 0x0a || next === 0x0d;
};

/** Whether a line (without its newline) carries document content, as opposed to a comment or directive. */
function hasContent(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d) continue;
    // '#' starts a comment; '%' at column 0 starts a directive
    return !(c === 0x23 || (c === 0x25 && i === start));
  }
  return false;
}

export function splitDocuments(text: string): DocumentChunk[] {
  const chunks: DocumentChunk[] = [];
  let chunkStart = 0;
  let chunkLine = 0;
  let chunkHasContent = false;
  let line = 0;
  let pos = 0;
  const close = (end: number) => {
    if (chunkHasContent) chunks.push({ text: text.slice(chunkStart, end), firstLine: chunkLine });
  };
  while (pos < text.length) {
    let eol = text.indexOf('\n', pos);
    if (eol === -1) eol = text.length;
    if (isMarker(text, pos, '---')) {
      // An explicit start: it opens a new document unless the current one has no content yet
      // (comments and directives before the marker belong to the document it starts).
      if (chunkHasContent) {
        close(pos);
        chunkStart = pos;
        chunkLine = line;
      }
      chunkHasContent = true; // even an empty explicit document is one (it parses to null)
    } else if (isMarker(text, pos, '...')) {
      close(eol);
      chunkStart = eol + 1;
      chunkLine = line + 1;
      chunkHasContent = false;
    } else if (!chunkHasContent && hasContent(text, pos, eol)) {
      chunkHasContent = true;
    }
    pos = eol + 1;
    line++;
  }
  close(text.length);
  return chunks;
}
