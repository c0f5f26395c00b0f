import { describe, expect, it } from 'vitest';
import { PythonPeer } from './python-peer.js';

const ECHO = `
import json, sys
for line in sys.stdin:
    print(json.dumps(dict(ok=True, **json.loads(line))), flush=True)
`;

describe('PythonPeer', () => {
  it('answers calls in order', async () => {
    const peer = new PythonPeer(ECHO, process.env);
    try {
      expect(await peer.call({ op: 'one' })).toEqual({ ok: true, op: 'one' });
      expect(await peer.call({ op: 'two' })).toEqual({ ok: true, op: 'two' });
    } finally {
      peer.close();
    }
  });

  // As on a machine without python3-winrm: the script's import fails and python exits at once.
  // Every call must fail at once with python's own words, not after its whole timeout each.
  it('fails every call at once, with stderr, when python has already exited', async () => {
    const peer = new PythonPeer('import winrm_is_not_here', process.env);
    try {
      for (const op of ['first', 'second', 'third']) {
        await expect(peer.call({ op }, 600_000)).rejects.toThrow(
          new RegExp(`python exited \\(1\\) during ${op}; stderr: [^]*No module named 'winrm_is_not_here'`),
        );
      }
    } finally {
      peer.close();
    }
  });

  it('fails at once when python cannot start', async () => {
    const peer = new PythonPeer(ECHO, process.env, '/nonexistent/python3');
    await expect(peer.call({ op: 'any' }, 600_000)).rejects.toThrow(/python could not start: .*ENOENT/);
    peer.close();
  });
});
