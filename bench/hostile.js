// The hostile inputs of issue 11, written on demand (most are too large to commit, and a FIFO cannot
// be): each must end in its clear message within 2 s and 300 MB. test/validate/hostile-cost.test.ts
// runs each through the CLI; `npm run bench -- --only=hostile` prints their time and peak RSS.
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const MiB = 1024 * 1024;
const HEAD = 'apiVersion: rmm/v1\nkind: Device\nmetadata:\n  name: web-01\nspec:\n  site: main\n';

/** Documents of `body` repeated to just under the 1 MiB document limit, `count` of them. */
function nearLimit(body, count) {
  const doc = body.repeat(Math.floor((MiB - 64) / body.length));
  return Array.from({ length: count }, () => doc).join('\n---\n');
}

/** name -> what writes it into `dir`, and the message validate must print for it. */
export const HOSTILE = {
  // 4,000 unknown keys in 35 KB: one position each, from one parse.
  'unknown-keys.yaml': {
    write: (file) =>
      writeFileSync(
        file,
        `${HEAD}${Array.from({ length: 4000 }, (_, i) => `  k${String(i).padStart(4, '0')}: x\n`).join('')}`,
      ),
    message: '... and 3950 more problems in this document',
  },
  // A byte that is not UTF-8 at the end of a 500 KB line.
  'bad-utf8-long-line.yaml': {
    write: (file) =>
      writeFileSync(
        file,
        Buffer.concat([Buffer.from(`a: ${'x'.repeat(500_000)}`), Buffer.from([0xff, 0x0a])]),
      ),
    message: 'not valid UTF-8 text',
  },
  // 8 MB of `[[[`, in documents under the 1 MiB limit.
  'deep-flow.yaml': {
    write: (file) => writeFileSync(file, nearLimit('[', 8)),
    message: 'nesting deeper than 64 levels',
  },
  // The same with flow maps after a key, and with compact block sequences (`- - -`).
  'deep-flow-map.yaml': {
    write: (file) => writeFileSync(file, `a: ${nearLimit('{a: ', 1)}`),
    message: 'nesting deeper than 64 levels',
  },
  'deep-compact.yaml': {
    write: (file) => writeFileSync(file, nearLimit('- ', 8)),
    message: 'nesting deeper than 64 levels',
  },
  // 500,000 blank lines before a problem that points at the document's first content.
  'blank-lines.yaml': {
    write: (file) => writeFileSync(file, `${'\n'.repeat(500_000)}${'['.repeat(100)}\n`),
    message: 'nesting deeper than 64 levels',
  },
  // A 1,000,000-character key: its message quotes 79 characters of it and its length.
  'long-key.yaml': {
    write: (file) => writeFileSync(file, `${HEAD}  customFields:\n    ${'k'.repeat(1_000_000)}: x\n`),
    message: '(1000000 characters) must be a field name',
  },
  // Long runs of what the secret rules look for, and never complete: none may backtrack for long.
  'secret-pattern-runs.yaml': {
    write: (file) =>
      writeFileSync(
        file,
        ['eyJ-', 'a://b:', ' password=', 'postgres://', 'xoxb-1-', 'u:p@', '-----BEGIN PRIVATE KEY-----\n']
          .map(
            (run, i) =>
              `apiVersion: rmm/v1\nkind: Policy\nmetadata:\n  name: p${i}\nspec:\n  description: ${JSON.stringify(run.repeat(Math.floor(900_000 / run.length)))}\n`,
          )
          .join('---\n'),
      ),
    // Some runs are refused as secrets, the rest for their length; every one is refused fast.
    message: 'must NOT have more than 2000 characters',
  },
  // Git commits symlinks: a .yaml one to a device that never ends.
  'zero.yaml': {
    write: (file) => symlinkSync('/dev/zero', file),
    message: 'not a regular file (a character device); rmm reads only regular files',
  },
  // A FIFO nobody writes to: reading it would wait forever.
  'fifo.yaml': {
    write: (file) => {
      const made = spawnSync('mkfifo', [file], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`mkfifo ${file}: ${made.stderr}`);
    },
    message: 'not a regular file (a FIFO); rmm reads only regular files',
  },
};

/** Writes the hostile input `name` into `dir` and returns its path. */
export function writeHostile(dir, name) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  HOSTILE[name].write(file);
  return file;
}
