/**
 * The rule behind the schema keyword `x-rmm-no-inline-secrets`: free-form maps (labels, custom fields,
 * transport blocks) must not carry a secret. Credentials are only ever references (env:, file:).
 */
const SECRET_KEY =
  /passw(or)?d|passphrase|^pass$|secret|token|private[-_.]?key|api[-_.]?key|credential(?!Ref$)/i;
const SECRET_VALUE = [
  { test: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: 'a PEM private key' },
  { test: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/, what: 'an AWS access key' },
  { test: /\bgh[pousr]_[A-Za-z0-9]{30,}\b/, what: 'a GitHub token' },
  { test: /\bxox[abposr]-[A-Za-z0-9-]{10,}/, what: 'a Slack token' },
  { test: /^(?:[A-Za-z]+:\/\/)[^\s:@/]+:[^\s@/]+@/, what: 'a URL with a password' },
];

export interface SecretFinding {
  key: string;
  message: string;
}

export function findInlineSecrets(map: Record<string, unknown>): SecretFinding[] {
  const found: SecretFinding[] = [];
  for (const [key, value] of Object.entries(map)) {
    if (key === 'credentialRef') continue;
    if (SECRET_KEY.test(key) && value !== null && value !== '' && value !== false) {
      found.push({
        key,
        message: `"${key}" looks like an inline secret; keep secrets out of YAML and use credentialRef: env:NAME or file:PATH`,
      });
      continue;
    }
    if (typeof value !== 'string') continue;
    const hit = SECRET_VALUE.find((p) => p.test.test(value));
    if (hit) {
      found.push({
        key,
        message: `the value of "${key}" looks like ${hit.what}; secrets never belong in YAML`,
      });
    }
  }
  return found;
}
