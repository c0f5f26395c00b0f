import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { validateInputs } from '../../src/validate.js';

/**
 * The secrets corpus (issue 11): realistic FAKE secrets, one per provider secretlint's recommended
 * preset covers and each disguise the probe found, placed in every kind's free-text fields, keys
 * and lists. Each must be refused at its value (or key) with code `secret`, and no message may
 * repeat it. Look-alikes that are not secrets must pass.
 *
 * The fakes are assembled here from parts and a seeded generator, so this repository holds no
 * string a secret scanner (or GitHub push protection) would take for a credential.
 */

/** A seeded generator (mulberry32): the same fakes on every run, none of them real. */
function generator(seed: number) {
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (length: number, alphabet: string) =>
    Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
}

const random = generator(11);
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;
const HEX = '0123456789abcdef';
const join = (...parts: string[]) => parts.join('');
/** A PEM-style block: `label` between the dashes, base64 lines of 64. */
const pem = (label: string, body: string) =>
  join('-----BEGIN ', label, '-----\n', body.replace(/(.{64})/g, '$1\n'), '\n-----END ', label, '-----');
const base64url = (text: string) => Buffer.from(text).toString('base64url');

/** A 1Password service account token's body: base64 of a JSON object whose last byte is alone. */
function onePasswordBody(): string {
  let json = JSON.stringify({
    email: `${random(13, LOWER + DIGITS)}@1passwordserviceaccounts.lcl`,
    muk: { alg: 'A256GCM', ext: true, k: random(43, B64URL), kty: 'oct', kid: 'mp' },
    secretKey: `A3-${random(6, UPPER + DIGITS)}-${random(6, UPPER + DIGITS)}-${random(5, UPPER + DIGITS)}`,
    srpX: random(64, HEX),
    signInAddress: 'example.b5local.com:4000',
  });
  // The token ends in "fQ" (a lone "}"): pad inside the object until the length is 1 mod 3.
  while (json.length % 3 !== 1) json = `${json.slice(0, -1)} }`;
  return Buffer.from(json).toString('base64');
}

/** name -> a fake secret; single-line unless it is a key block. */
const SECRETS: Record<string, string> = {
  'AWS access key id': join('AK', 'IA', random(16, UPPER + DIGITS)),
  'AWS secret access key in a command': join(
    'export AWS_SECRET_',
    'ACCESS_KEY=',
    random(40, ALNUM),
    ' && aws s3 ls',
  ),
  'GitHub classic token': join('gh', 'p_', random(36, ALNUM)),
  'GitHub fine-grained token (github_pat_)': join(
    'github',
    '_pat_',
    random(22, ALNUM),
    '_',
    random(59, ALNUM),
  ),
  'GitHub OAuth token': join('gh', 'o_', random(36, ALNUM)),
  'Slack bot token': join('xo', 'xb-', random(12, DIGITS), '-', random(13, DIGITS), '-', random(24, ALNUM)),
  'Slack webhook': join(
    'https://hooks.',
    'slack.com/services/T',
    random(8, UPPER + DIGITS),
    '/B',
    random(8, UPPER + DIGITS),
    '/',
    random(24, ALNUM),
  ),
  'npm token': join('np', 'm_', random(36, ALNUM)),
  'SendGrid API key': join('S', 'G.', random(22, ALNUM), '.', random(43, ALNUM)),
  'Shopify access token': join('shp', 'at_', random(32, HEX)),
  'OpenAI project key': join('sk-', 'proj-', random(74, B64URL), 'T3Blbk', 'FJ', random(74, B64URL)),
  'Anthropic API key': join('sk-', 'ant-api03-', random(93, B64URL), 'AA'),
  'Linear API key': join('lin', '_api_', random(40, ALNUM)),
  '1Password service account token': join('op', 's_', onePasswordBody()),
  'PostgreSQL URL with a password': join('postgres://app:', random(14, ALNUM), '@db.example.com:5432/shop'),
  'MySQL URL with a password': join('mysql://root:', random(12, ALNUM), '@10.0.0.5:3306/crm'),
  'MongoDB URL with a password': join('mongodb+srv://svc:', random(16, ALNUM), '@cluster0.example.net/app'),
  'URL with a password mid-string': join(
    'mirror from https://deploy:',
    random(12, ALNUM),
    '@git.example.com/ops/scripts.git nightly',
  ),
  'SQL Server connection string': join(
    'Server=sql01.corp.example;Database=Inventory;User Id=rmm_svc;Pass',
    'word=',
    random(14, ALNUM),
    ';',
  ),
  'ODBC connection string (PWD=)': join(
    'Driver={PostgreSQL};Server=db;Uid=app;P',
    'WD=',
    random(12, ALNUM),
    ';',
  ),
  'JSON Web Token': join(
    base64url('{"alg":"HS256","typ":"JWT"}'),
    '.',
    base64url('{"sub":"1234567890","name":"ops","iat":1516239022}'),
    '.',
    random(43, B64URL),
  ),
  'RSA private key': pem(join('RSA PRIVATE', ' KEY'), join('MIIE', random(600, B64))),
  'OpenSSH private key (short)': pem(
    join('OPENSSH PRIVATE', ' KEY'),
    join('b3BlbnNzaC1rZXktdjE', random(40, B64)),
  ),
  'PGP private key block': pem(join('PGP PRIVATE', ' KEY BLOCK'), join('lQOYBF', random(300, B64))),
  'GCP service account JSON key': JSON.stringify({
    type: 'service_account',
    project_id: 'shop-prod',
    private_key_id: random(40, HEX),
    private_key: `${pem(join('PRIVATE', ' KEY'), join('MIIE', random(300, B64)))}\n`,
    client_email: 'rmm@shop-prod.iam.gserviceaccount.com',
  }),
};

/** Strings that look a little like secrets and are not: each must pass. */
const LOOK_ALIKES: Record<string, string> = {
  'a password policy': 'Rotate local admin passwords per the password policy (90 days); see the wiki.',
  'a UUID': '3f2b8c1e-4d5a-4e6f-9a7b-0c1d2e3f4a5b',
  'a SHA-256 hash': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'a git commit id': '9fceb02d0ae598e95dc970b74767f19372d61af8',
  'a normal URL': 'https://status.example.com/api/v2/summary.json?page=2&per_page=50',
  'an ssh URL with a user only': 'ssh://git@git.example.com:2222/ops/scripts.git',
  'an email address': 'ops-team@example.com',
  'a certificate (public)': pem('CERTIFICATE', join('MIIC', random(120, B64))),
  'an SSH public key': join('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI', random(43, B64), ' ops@bastion'),
  'a command reading the password from a variable': 'mysql -u app -p"$DB_PASSWORD" -e "SELECT 1" inventory',
  'a connection string with a variable': [
    'Server=db;Database=x;User Id=app;Password=$',
    '{DB_PASSWORD};',
  ].join(''),
  'a connection string without a password': 'Server=sql01;Database=Inventory;Integrated Security=true;',
  'a JWT-shaped word': 'eyJ is how a JSON header starts in base64',
  'base64 of a short text': 'aGVsbG8gd29ybGQ=',
  'a credential reference': 'env:RMM_DB_PASSWORD',
};

/** Where a value goes: a document with `VALUE` (or `KEY`) in it, and the resource it declares. */
interface Place {
  name: string;
  resource: string;
  template: string;
}

const PLACES: Place[] = [
  {
    name: 'Device customFields value',
    resource: 'Device/web-01',
    template:
      'kind: Device\nmetadata:\n  name: web-01\nspec:\n  site: main\n  customFields:\n    note: VALUE\n',
  },
  {
    name: 'Device tag',
    resource: 'Device/web-01',
    template:
      'kind: Device\nmetadata:\n  name: web-01\nspec:\n  site: main\n  tags:\n    - prod\n    - VALUE\n',
  },
  {
    name: 'Device label value',
    resource: 'Device/web-01',
    template: 'kind: Device\nmetadata:\n  name: web-01\n  labels:\n    team: VALUE\nspec:\n  site: main\n',
  },
  {
    name: 'Site displayName',
    resource: 'Site/alpha',
    template: 'kind: Site\nmetadata:\n  name: alpha\nspec:\n  displayName: VALUE\n',
  },
  {
    name: 'Site location',
    resource: 'Site/alpha',
    template: 'kind: Site\nmetadata:\n  name: alpha\nspec:\n  location: VALUE\n',
  },
  {
    name: 'DeviceGroup description',
    resource: 'DeviceGroup/web',
    template: 'kind: DeviceGroup\nmetadata:\n  name: web\nspec:\n  description: VALUE\n',
  },
  {
    name: 'Policy description',
    resource: 'Policy/baseline',
    template: 'kind: Policy\nmetadata:\n  name: baseline\nspec:\n  description: VALUE\n',
  },
  {
    name: 'Policy schedule command',
    resource: 'Policy/baseline',
    template:
      'kind: Policy\nmetadata:\n  name: baseline\nspec:\n  schedules:\n    - action: exec\n      every: 1h\n      command: VALUE\n',
  },
  {
    name: 'Policy monitor match value',
    resource: 'Policy/baseline',
    template:
      'kind: Policy\nmetadata:\n  name: baseline\nspec:\n  monitors:\n    - name: disk\n      metric: disk.used_percent\n      match: {mount: VALUE}\n      when: {op: ">", value: 90, for: 5m}\n      severity: Warning\n',
  },
  {
    name: 'a field of a kind that does not exist',
    resource: '',
    template: 'kind: Vault\nmetadata:\n  name: v1\nspec:\n  anything: VALUE\n',
  },
];

/** A YAML scalar holding `value` that starts where VALUE stood: double-quoted, or a block for keys. */
function scalar(value: string, indent: string): string {
  if (!value.includes('\n')) return JSON.stringify(value);
  return `|\n${value
    .split('\n')
    .map((line) => `${indent}  ${line}`)
    .join('\n')}`;
}

/** The document text and the 1-based line and column where VALUE was. */
function render(place: Place, value: string): { text: string; line: number; column: number } {
  const template = `apiVersion: rmm/v1\n${place.template}`;
  const at = template.indexOf('VALUE');
  const before = template.slice(0, at);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const indent = (/^ */.exec(template.slice(lineStart)) as RegExpExecArray)[0];
  // A multi-line value in a flow mapping cannot be a block scalar: quote it.
  const inFlow = before.slice(lineStart).includes('{');
  const text = before + (inFlow ? JSON.stringify(value) : scalar(value, indent)) + template.slice(at + 5);
  return { text, line, column: at - lineStart + 1 };
}

/** Every window of 12 characters of a secret: none may appear in a message. */
function fragments(secret: string): string[] {
  const flat = secret.replace(/\s+/g, '');
  return Array.from({ length: Math.max(1, flat.length - 11) }, (_, i) => flat.slice(i, i + 12));
}

let tmp: string;
const cases: Array<{ secret: string; place: Place; file: string; line: number; column: number }> = [];
const passing: Array<{ label: string; place: Place; file: string }> = [];
let diagnostics: Diagnostic[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rmm-secrets-'));
  let n = 0;
  const writes: Promise<void>[] = [];
  for (const [secret, value] of Object.entries(SECRETS)) {
    for (const place of PLACES) {
      const file = path.join(tmp, `secret-${String(n++).padStart(3, '0')}.yaml`);
      const { text, line, column } = render(place, value);
      cases.push({ secret, place, file, line, column });
      writes.push(writeFile(file, text));
    }
  }
  for (const [label, value] of Object.entries(LOOK_ALIKES)) {
    // Look-alikes go where free text is allowed (tags and labels have their own patterns).
    for (const place of PLACES.filter((p) => /customFields|description|command|location/.test(p.name))) {
      const file = path.join(tmp, `plain-${String(n++).padStart(3, '0')}.yaml`);
      passing.push({ label, place, file });
      writes.push(writeFile(file, render(place, value).text));
    }
  }
  await Promise.all(writes);
  // One run over all of them, as a repository is checked: batches mix documents of many files.
  ({ diagnostics } = await validateInputs([tmp], { recursive: true }));
}, 60_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A file's diagnostics; every case declares the same few names, so "declared twice" is expected. */
const of = (file: string) => diagnostics.filter((d) => d.file === file && d.code !== 'duplicate');

describe('fake secrets in every field are refused at their value, never quoted', () => {
  it.each(Object.keys(SECRETS))('%s', (secret) => {
    const mine = cases.filter((c) => c.secret === secret);
    for (const c of mine) {
      const all = of(c.file);
      const where = `${c.place.name}: ${JSON.stringify(all)}`;
      // An unknown kind is its own problem, elsewhere; nothing else may be reported.
      const found = c.place.resource ? all : all.filter((d) => d.pointer !== '/kind');
      // Exactly one problem, the secret, where its value starts; nothing else at that place.
      expect(found, where).toHaveLength(1);
      for (const other of all)
        for (const fragment of fragments(SECRETS[secret] as string))
          expect(other.message.includes(fragment), `${where} quotes ${fragment}`).toBe(false);
      const [d] = found as [Diagnostic];
      expect(d.code, where).toBe('secret');
      expect(d.severity, where).toBe('error');
      expect([d.line, d.column], where).toEqual([c.line, c.column]);
      if (c.place.resource) expect(`${d.kind}/${d.name}`, where).toBe(c.place.resource);
    }
  });
});

describe('look-alikes pass', () => {
  it.each(Object.keys(LOOK_ALIKES))('%s', (label) => {
    for (const p of passing.filter((x) => x.label === label))
      expect(of(p.file), `${label} in ${p.place.name}`).toEqual([]);
  });
});

describe('secrets in keys and references', () => {
  async function check(text: string) {
    const file = path.join(tmp, `one-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, `apiVersion: rmm/v1\n${text}`);
    return (await validateInputs([file])).diagnostics.map((d) => ({
      at: `${d.line}:${d.column}`,
      code: d.code,
      message: d.message,
    }));
  }

  it('a token used as a key is refused at the key, and not quoted', async () => {
    const token = join('np', 'm_', random(36, ALNUM));
    const found = await check(
      `kind: Device\nmetadata:\n  name: web-01\nspec:\n  site: main\n  customFields:\n    ${token}: x\n`,
    );
    expect(found).toEqual([
      {
        at: '8:5',
        code: 'secret',
        message: 'this key looks like an npm token; secrets never belong in YAML',
      },
    ]);
  });

  it('a literal customFields.credentialRef is refused without repeating it; a reference passes', async () => {
    const device = (value: string) =>
      `kind: Device\nmetadata:\n  name: web-01\nspec:\n  site: main\n  customFields:\n    credentialRef: ${value}\n`;
    expect(await check(device('hunter2'))).toEqual([
      {
        at: '8:20',
        code: 'secret',
        message:
          'credentialRef holds a value, not a reference to one: write env:NAME or file:PATH, where rmm reads the secret at run time (the value is not shown)',
      },
    ]);
    expect(await check(device('env:RMM_DB_PASSWORD'))).toEqual([]);
  });

  it('a key naming a secret is refused with a value, and passes with a reference (a channel password)', async () => {
    const device = (value: string) =>
      `kind: Device\nmetadata:\n  name: web-01\nspec:\n  site: main\n  customFields:\n    smtpPassword: ${value}\n`;
    expect((await check(device('hunter2hunter2'))).map((d) => `${d.at} ${d.code}`)).toEqual(['8:5 secret']);
    expect(await check(device('env:RMM_SMTP_PASSWORD'))).toEqual([]);
    expect(await check(device('file:/etc/rmm/credentials/smtp'))).toEqual([]);
  });

  it('a literal credentialRef in a label and in an unknown kind is refused too', async () => {
    const label = await check(
      'kind: Site\nmetadata:\n  name: alpha\n  labels:\n    credentialRef: hunter2\nspec: {}\n',
    );
    expect(label.map((d) => `${d.at} ${d.code}`)).toEqual(['6:20 secret']);
    const unknown = await check('kind: Vault\nmetadata:\n  name: v\nspec:\n  credentialRef: "12345678"\n');
    expect(unknown.filter((d) => d.code === 'secret').map((d) => d.at)).toEqual(['6:18']);
  });

  it('"secretlint-disable" in one document does not silence the scan of the next', async () => {
    const token = join('gh', 'p_', random(36, ALNUM));
    const found = await check(
      `kind: Site\nmetadata:\n  name: alpha\nspec:\n  displayName: "secretlint-disable"\n---\napiVersion: rmm/v1\nkind: Site\nmetadata:\n  name: beta\nspec:\n  displayName: "${token}"\n`,
    );
    expect(found.map((d) => `${d.at} ${d.code}`)).toEqual(['13:16 secret']);
  });
});
