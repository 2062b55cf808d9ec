/**
 * A collector that accepts and never answers, at the TCP level: a loopback listener that takes every
 * connection and every byte and writes nothing, not even the HTTP/2 preface. Switched to forwarding, it
 * pipes each new connection to a real port instead, so a test can bring the "collector" back on the
 * same endpoint without giving the port up (a connection already swallowed stays swallowed).
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface Blackhole {
  /** http://127.0.0.1:PORT, an OTLP/gRPC endpoint */
  readonly endpoint: string;
  /** connections taken so far */
  readonly accepted: number;
  /** bytes swallowed so far */
  readonly swallowed: number;
  /** from now on, pipe new connections to 127.0.0.1:`port` */
  forwardTo(port: number): void;
  /** closes the listener and every connection */
  close(): Promise<void>;
}

export async function startBlackhole(): Promise<Blackhole> {
  let accepted = 0;
  let swallowed = 0;
  let target: number | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (target === undefined) {
      socket.on('data', (chunk) => {
        swallowed += chunk.length;
      });
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error(`no port: ${String(address)}`));
      else resolve(address.port);
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get swallowed() {
      return swallowed;
    },
    forwardTo(to: number) {
      target = to;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
