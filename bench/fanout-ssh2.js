// The fan-out floor: bare ssh2, no rmm. N targets (all the same host and port), a sliding window of
// WIDTH: per target connect with key auth, host key pinned (compared to the known key), exec
// COMMAND, wait for its exit status, close. Prints {"succeeded", "failed", "errors"}; exit 1 if any
// target failed.
//
//   node bench/fanout-ssh2.js HOST PORT USER KEYFILE HOSTPUBKEYLINE_FILE N WIDTH COMMAND
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const [host, port, username, keyFile, hostKeyFile, count, width, command] = process.argv.slice(2);
const privateKey = readFileSync(keyFile);
// A known_hosts or .pub line: the key blob is its base64 field.
const hostKey = Buffer.from(readFileSync(hostKeyFile, 'utf8').trim().split(/\s+/).at(-2), 'base64');

function one() {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const fail = (error) => {
      client.destroy();
      reject(error);
    };
    client.on('error', fail);
    client.on('ready', () =>
      client.exec(command, (error, channel) => {
        if (error) return fail(error);
        let code;
        channel.on('exit', (c) => {
          code = c;
        });
        channel.on('close', () => {
          client.end();
          if (code === 0) resolve();
          else reject(new Error(`exit ${code}`));
        });
        channel.resume();
        channel.stderr.resume();
        channel.end();
      }),
    );
    client.connect({
      host,
      port: Number(port),
      username,
      privateKey,
      readyTimeout: 15_000,
      hostVerifier: (blob) => blob.equals(hostKey),
    });
    client.setNoDelay(true);
  });
}

let next = 0;
const total = Number(count);
const result = { succeeded: 0, failed: 0, errors: [] };
async function lane() {
  while (next < total) {
    next++;
    try {
      await one();
      result.succeeded++;
    } catch (error) {
      result.failed++;
      if (result.errors.length < 5) result.errors.push(error.message);
    }
  }
}
await Promise.all(Array.from({ length: Math.min(Number(width), total) }, lane));
process.stdout.write(JSON.stringify(result));
if (result.failed > 0) process.exitCode = 1;
