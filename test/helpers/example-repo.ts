import { cp } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './cli.js';

/**
 * The example repository as a user's clone holds it: examples/, with the shipped baseline policies
 * it uses (the top-level policies/ folder) copied in as `shipped-policies/`, so `-f DEST -R` has
 * every resource the examples refer to.
 */
export async function copyExamples(dest: string): Promise<void> {
  await cp(path.join(repoRoot, 'examples'), dest, { recursive: true });
  await cp(path.join(repoRoot, 'policies'), path.join(dest, 'shipped-policies'), { recursive: true });
}
