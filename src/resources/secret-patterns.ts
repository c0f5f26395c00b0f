/**
 * rmm's own secret rules, synchronous and cheap: the key-name rule, a literal credentialRef, and the
 * value shapes secretlint's recommended preset does not report (any private key block however short,
 * PGP's too; JSON Web Tokens; a password in a connection string or a URL). The preset itself runs per
 * batch of documents (secret-scan.ts); these also keep messages from quoting a secret (src/quote.ts).
 */

/** A key that names a secret; credentialRef (a reference) is the one allowed spelling. */
export const SECRET_KEY =
  /passw(or)?d|passphrase|^pass$|secret|token|private[-_.]?key|api[-_.]?key|credential(?!Ref$)/i;

/** The references rmm reads secrets from: the same pattern as credentialRef in common.schema.json. */
export const CREDENTIAL_REFERENCE = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:[^\s].*)$/;

// A variable, not a value: $NAME, ${NAME}, %NAME%, {{ name }}.
const NOT_A_VARIABLE = '(?![$%{])';

/** `hint`: a substring every match holds, checked first (most values hold none of them). */
const SECRET_VALUES: ReadonlyArray<{ hint: string; test: RegExp; what: string }> = [
  {
    hint: 'PRIVATE KEY',
    test: /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/,
    what: 'a private key',
  },
  {
    hint: 'eyJ',
    // Only where a run of base64url starts: every "eyJ" inside one would rescan it (quadratic).
    test: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/,
    what: 'a JSON Web Token',
  },
  {
    hint: '=',
    test: new RegExp(
      String.raw`(?:^|[;\s"'?&-])(?:password|passwd|pwd)\s*=\s*${NOT_A_VARIABLE}[^;\s&"']{3,}`,
      'i',
    ),
    what: 'a connection string with a password',
  },
  {
    hint: '@',
    test: new RegExp(
      String.raw`\b[a-z][a-z0-9+.-]{1,20}://[^\s:@/]{1,256}:${NOT_A_VARIABLE}[^\s@/]{1,256}@`,
      'i',
    ),
    what: 'a URL with a password',
  },
];

/** What a string value looks like, if it looks like a secret by rmm's own rules. */
export function secretShapeOf(value: string): string | undefined {
  return SECRET_VALUES.find((p) => value.includes(p.hint) && p.test.test(value))?.what;
}

/**
 * Whether a key names a secret and its value is one. An empty or false value holds none, and neither
 * does a reference (a NotificationChannel's `password: env:NAME`): it says where the secret is.
 */
export function isSecretKey(key: string, value: unknown): boolean {
  if (key === 'credentialRef' || !SECRET_KEY.test(key) || value === null || value === '' || value === false)
    return false;
  return typeof value !== 'string' || !CREDENTIAL_REFERENCE.test(value);
}

/** A credentialRef that holds a value rather than a reference to one. */
export function isLiteralCredential(key: string, value: unknown): boolean {
  if (key !== 'credentialRef' || value === null || value === '' || value === undefined) return false;
  return typeof value !== 'string' || !CREDENTIAL_REFERENCE.test(value);
}
