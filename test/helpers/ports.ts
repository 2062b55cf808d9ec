/**
 * Loopback ports for tests, handed out by the kernel, so a test never lands on a port a developer's
 * running simulator or collector already holds (8888, 8090, 4317, ...).
 */
import { createServer, type Server } from 'node:net';

/** A port the kernel just handed out on 127.0.0.1: free unless someone races us for it. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * `count` distinct free loopback ports. All are held open until every one is chosen, so the kernel
 * cannot hand the same port out twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string')
        throw new Error(`unexpected server address: ${String(address)}`);
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
