import { CST, Lexer } from 'yaml';

/**
 * Whether a document surely nests deeper than `limit` collections, found without parsing it: yaml's
 * lexer (which knows quotes, comments and block scalars) counts the open flow collections (`[`, `{`)
 * and the block indicators (`- `, `? `) that open a nested collection on the same line. Parsing 1 MiB
 * of `[[[` takes seconds and a gigabyte (an 8 MB file of them: 56 s, 1.9 GB); this stops at the
 * first token past the limit. It sees a lower bound (nesting by indentation is left to the parsers,
 * where it is cheap), so what it refuses the parsers would refuse too.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let flow = 0;
  let compact = 0;
  let inScalar = false;
  for (const token of new Lexer().lex(text)) {
    // After the scalar marker comes the scalar's own text, which may hold any character.
    if (inScalar) {
      inScalar = false;
      continue;
    }
    switch (token) {
      case CST.SCALAR:
        inScalar = true;
        break;
      case '[':
      case '{':
        if (++flow + compact > limit) return true;
        break;
      case ']':
      case '}':
        if (flow > 0) flow--;
        break;
      case '-':
      case '?':
        if (flow === 0 && ++compact > limit) return true;
        break;
      case '\n':
      case '\r\n':
        if (flow === 0) compact = 0;
        break;
    }
  }
  return false;
}

/**
 * Whether a document might, cheaply: it takes `limit` brackets, or two block indicators on one line.
 * Native string searches, so valid resources never reach the lexer.
 */
export function mightNestDeeperThan(text: string, limit: number): boolean {
  if (/[-?][ \t]+[-?](?:[ \t]|$)/m.test(text)) return true;
  let brackets = 0;
  for (const open of ['[', '{']) {
    for (let i = text.indexOf(open); i !== -1; i = text.indexOf(open, i + 1)) {
      if (++brackets >= limit) return true;
    }
  }
  return false;
}
