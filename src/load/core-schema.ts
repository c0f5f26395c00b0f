import jsyaml from 'js-yaml';

/**
 * A js-yaml schema that resolves plain scalars exactly as the `yaml` library's YAML 1.2 core schema
 * does (same regular expressions, same conversions). js-yaml's own CORE_SCHEMA differs at the edges
 * (`1_000`, `0b101`, `+.5` are numbers there, strings here), and the fast and precise parsers must
 * agree on every value: test/load/parser-parity.test.ts holds them to it.
 */
const nullType = new jsyaml.Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (s: string) => s.length <= 4 && /^(?:~|[Nn]ull|NULL)?$/.test(s),
  construct: () => null,
});

const boolType = new jsyaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (s: string) => (s.length === 4 || s.length === 5) && /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s),
  construct: (s: string) => s[0] === 't' || s[0] === 'T',
});

const intType = new jsyaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (s: string) => startsLikeNumber(s) && /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/.test(s),
  construct: (s: string) =>
    s.startsWith('0o')
      ? Number.parseInt(s.slice(2), 8)
      : s.startsWith('0x')
        ? Number.parseInt(s.slice(2), 16)
        : Number.parseInt(s, 10),
});

const floatType = new jsyaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (s: string) =>
    startsLikeNumber(s) &&
    (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s) ||
      /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s) ||
      /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)),
  construct: (s: string) => {
    if (s.slice(-3).toLowerCase() === 'nan') return Number.NaN;
    if (s.slice(-3).toLowerCase() === 'inf')
      return s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    return Number.parseFloat(s);
  },
});

/** Numbers start with a digit, a sign or a dot: a one-character test that spares most strings the regexes. */
function startsLikeNumber(s: string): boolean {
  const c = s.charCodeAt(0);
  return (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
}

export const yaml12CoreSchema = jsyaml.FAILSAFE_SCHEMA.extend({
  implicit: [nullType, boolType, intType, floatType],
});
