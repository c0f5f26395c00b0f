// The WinRM floor: the WinRM plugin alone, no rmm around it (no CLI, no queue rows, no audit, no
// output). N targets (all the same peer), a sliding window of WIDTH: per target connect (NTLM
// handshake, shell created), exec COMMAND, close (shell deleted). Prints {"succeeded", "failed",
// "errors"}; exit 1 if any target failed.
//
//   node bench/winrm-bare.js PORT USER PASSWORD N WIDTH COMMAND
import { TRANSPORT_API_VERSION, TransportError } from '../dist/plugin/api.js';
import { createWinrmTransport } from '../plugins/winrm/dist/transport.js';

const [port, user, password, count, width, command] = process.argv.slice(2);
const transport = createWinrmTransport({ apiVersion: TRANSPORT_API_VERSION, TransportError });
const secret = { ref: 'bench', reveal: () => Buffer.from(password) };

async function one(i) {
  const target = { name: `bench-${i}`, host: '127.0.0.1', os: 'windows', options: { port: Number(port) } };
  const session = await transport.connect(target, { user, secret, connectTimeoutMs: 60_000 });
  try {
    const result = await session.exec(command, { timeoutMs: 120_000 });
    if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}`);
  } finally {
    await session.close();
  }
}

const total = Number(count);
let next = 0;
let succeeded = 0;
const errors = new Map();
async function lane() {
  while (next < total) {
    const i = next++;
    try {
      await one(i);
      succeeded++;
    } catch (error) {
      errors.set(error.message, (errors.get(error.message) ?? 0) + 1);
    }
  }
}
await Promise.all(Array.from({ length: Math.min(Number(width), total) }, lane));
console.log(JSON.stringify({ succeeded, failed: total - succeeded, errors: Object.fromEntries(errors) }));
process.exitCode = succeeded === total ? 0 : 1;
