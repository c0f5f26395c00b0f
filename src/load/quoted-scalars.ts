/**
 * Finds quoted scalars by a quick scan, without parsing: a quote where a scalar can start (at a line's
 * start, or after ': ', '- ', '? ', '[', '{', ',') up to its closing quote. Good enough to route rare
 * documents to the precise parser and to point at a quote that never closes; never used for values.
 */
export interface QuotedSpan {
  /** Offset of the opening quote. */
  open: number;
  /** Offset of the closing quote, or -1 when the text ends first. */
  close: number;
  /** Whether the scalar runs past the end of its first line. */
  multiline: boolean;
}

export function* quotedScalars(text: string): Generator<QuotedSpan> {
  const quoteAtToken = /(?:^[ \t]*|[:\-?][ \t]+|[[{,][ \t]*)(['"])/gm;
  for (let m = quoteAtToken.exec(text); m !== null; m = quoteAtToken.exec(text)) {
    const quote = m[1] as string;
    const open = m.index + m[0].length - 1;
    let multiline = false;
    let i = open + 1;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '\n') multiline = true;
      else if (quote === '"' && c === '\\') i++;
      else if (c === quote) {
        if (quote === "'" && text[i + 1] === "'") i++;
        else break;
      }
    }
    if (i >= text.length) {
      yield { open, close: -1, multiline: true };
      return;
    }
    yield { open, close: i, multiline };
    quoteAtToken.lastIndex = i + 1;
  }
}
