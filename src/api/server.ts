/**
 * Starts the API on a host and port and stops it. Port 0 picks a free port (tests).
 */
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';

export interface ApiServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Anything that answers a fetch Request (a Hono app). */
export interface FetchApp {
  /** `env` carries the node request (`incoming`), whose socket the Host check reads */
  fetch: (request: Request, env?: object) => Response | Promise<Response>;
}

export function startApiServer(app: FetchApp, host: string, port: number): Promise<ApiServer> {
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onError = (error: Error) =>
      reject(new Error(`cannot serve the API on ${host}:${port}: ${error.message}`, { cause: error }));
    server = serve(
      { fetch: (request: Request, env: object) => app.fetch(request, env), hostname: host, port },
      (info: AddressInfo) => {
        server.off('error', onError);
        const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
        resolve({
          url: `http://${shownHost}:${info.port}`,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            }),
        });
      },
    );
    server.once('error', onError);
  });
}
