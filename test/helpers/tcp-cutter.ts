import net from 'node:net';

/**
 * Fault injection in front of a real server: a TCP forwarder on 127.0.0.1 that passes bytes both
 * ways until told to cut. `cutOnNextData()` arms it: the next bytes a client sends on any open
 * connection end that connection at both ends instead of being forwarded, so a session dies in the
 * middle of its next command. New connections are forwarded as before.
 */
export interface TcpCutter {
  port: number;
  cutOnNextData(): void;
  /** Connections cut so far. */
  cuts(): number;
  close(): Promise<void>;
}

export async function startTcpCutter(targetPort: number): Promise<TcpCutter> {
  let armed = false;
  let cuts = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      if (armed) {
        armed = false;
        cuts++;
        end();
      } else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    cutOnNextData() {
      armed = true;
    },
    cuts: () => cuts,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
