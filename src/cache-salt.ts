import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot, schemasDir } from './paths.js';

let salt: string | undefined;
const require = createRequire(import.meta.url);
const SECRET_RULE_PACKAGES = ['@secretlint/core', '@secretlint/secretlint-rule-preset-recommend'];

/**
 * What every warm-cache entry depends on besides its own input: the rmm version, the secret rule
 * set's version, the kind schemas and rmm's compiled code (so a rebuilt rmm never reads an entry an older build wrote). Computed
 * once per process.
 */
export function cacheSalt(): string {
  if (salt) return salt;
  const hash = createHash('sha256');
  const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  hash.update(`${pkg.version}\0`);
  // The secret rule set: a new secretlint may refuse what an older one passed.
  for (const name of SECRET_RULE_PACKAGES) {
    const rules = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as {
      version: string;
    };
    hash.update(`${name}@${rules.version}\0`);
  }
  for (const name of readdirSync(schemasDir).sort()) {
    if (name.endsWith('.schema.json')) hash.update(name).update(readFileSync(path.join(schemasDir, name)));
  }
  const code = path.dirname(fileURLToPath(import.meta.url));
  for (const name of (readdirSync(code, { recursive: true }) as string[]).sort()) {
    if (/\.(js|ts)$/.test(name)) hash.update(name).update(readFileSync(path.join(code, name)));
  }
  salt = hash.digest('hex');
  return salt;
}
