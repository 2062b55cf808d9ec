/**
 * The OTLP sink's receiver: MetricsService/Export over gRPC (what a collector's `otlp` exporter sends)
 * and POST /v1/metrics with application/x-protobuf over HTTP (its `otlphttp` exporter), like the mock
 * backend of the collector's testbed. Both decode with the OTLP protobuf definitions vendored under
 * src/verify/proto (v1.11.0), loaded by @grpc/proto-loader: @opentelemetry/otlp-transformer encodes
 * requests but has no decoder for them.
 *
 * Bounded at the door: a request larger than `maxMessageBytes` is refused before it is buffered (gRPC
 * checks the frame header; HTTP the Content-Length and the bytes read) and again after gzip or deflate
 * decompression, so a small compressed bomb is refused too.
 */
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzip, inflate } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ExportMetricsServiceRequest } from './otlp-types.ts';

const PROTO_ROOT = fileURLToPath(new URL('../proto/', import.meta.url));
const SERVICE = 'opentelemetry.proto.collector.metrics.v1.MetricsService';

const LOAD_OPTIONS: protoLoader.Options = {
  keepCase: false, // camelCase, the OTLP/JSON field names
  longs: String, // fixed64 nanoseconds and int64 values exceed 2^53: strings are exact
  enums: String,
  defaults: true,
  oneofs: true, // `data: 'sum'`, `value: 'asInt'` name the member of each oneof that is set
};

export interface OtlpReceiverOptions {
  /** @default 127.0.0.1 */
  host?: string;
  /** 0 = any free port; undefined = no gRPC listener */
  grpcPort?: number | undefined;
  /** 0 = any free port; undefined = no HTTP listener */
  httpPort?: number | undefined;
  /** largest request, after decompression @default 16 MiB */
  maxMessageBytes?: number;
  /** called with each decoded request; a throw fails the request */
  onRequest: (request: ExportMetricsServiceRequest, transport: 'grpc' | 'http') => void;
}

export interface OtlpReceiver {
  readonly host: string;
  readonly grpcPort: number | undefined;
  readonly httpPort: number | undefined;
  close(): Promise<void>;
}

export async function startOtlpReceiver(options: OtlpReceiverOptions): Promise<OtlpReceiver> {
  const host = options.host ?? '127.0.0.1';
  const maxMessageBytes = options.maxMessageBytes ?? 16 * 2 ** 20;
  const definition = protoLoader.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', {
    ...LOAD_OPTIONS,
    includeDirs: [PROTO_ROOT],
  });
  const service = definition[SERVICE] as grpc.ServiceDefinition;
  const exportMethod = service.Export as grpc.MethodDefinition<ExportMetricsServiceRequest, object>;
  const decodeRequest = (bytes: Buffer) => exportMethod.requestDeserialize(bytes);
  const emptyResponse = exportMethod.responseSerialize({});

  let grpcServer: grpc.Server | undefined;
  let httpServer: HttpServer | undefined;
  const close = async () => {
    await Promise.all([
      new Promise<void>((resolve) => (grpcServer ? grpcServer.tryShutdown(() => resolve()) : resolve())),
      new Promise<void>((resolve) => {
        if (!httpServer) return resolve();
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      }),
    ]);
  };

  try {
    let grpcPort: number | undefined;
    if (options.grpcPort !== undefined) {
      const server = new grpc.Server({ 'grpc.max_receive_message_length': maxMessageBytes });
      grpcServer = server;
      server.addService(
        { Export: exportMethod },
        {
          Export: (
            call: grpc.ServerUnaryCall<ExportMetricsServiceRequest, object>,
            callback: grpc.sendUnaryData<object>,
          ) => {
            try {
              options.onRequest(call.request, 'grpc');
              callback(null, {});
            } catch (error) {
              callback({ code: grpc.status.INTERNAL, details: (error as Error).message });
            }
          },
        },
      );
      grpcPort = await new Promise<number>((resolve, reject) =>
        server.bindAsync(
          `${host}:${options.grpcPort}`,
          grpc.ServerCredentials.createInsecure(),
          (error, port) => (error ? reject(error) : resolve(port)),
        ),
      );
    }

    let httpPort: number | undefined;
    if (options.httpPort !== undefined) {
      const reply = (response: ServerResponse, status: number, body: Uint8Array | string) => {
        if (response.headersSent) return;
        response.writeHead(status, {
          'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/x-protobuf',
        });
        response.end(body);
      };
      /**
       * 413 without reading the rest of the body: the answer is sent, then the connection closed (a
       * socket destroyed at once would take the answer with it).
       */
      const refuse = (request: IncomingMessage, response: ServerResponse, text: string) => {
        response.setHeader('connection', 'close');
        response.once('finish', () => request.socket.destroy());
        reply(response, 413, text);
      };
      const server = createServer((request: IncomingMessage, response: ServerResponse) => {
        if (request.url?.split('?')[0] !== '/v1/metrics')
          return reply(response, 404, 'not found: POST /v1/metrics');
        if (request.method !== 'POST') return reply(response, 405, 'POST only');
        const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
        if (type !== 'application/x-protobuf') return reply(response, 415, 'application/x-protobuf only');
        const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase();
        if (!['identity', 'gzip', 'deflate'].includes(encoding))
          return reply(response, 415, `unsupported content-encoding ${encoding}`);
        if (Number(request.headers['content-length'] ?? 0) > maxMessageBytes) {
          refuse(request, response, `request over ${maxMessageBytes} bytes`);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        let refused = false;
        request.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxMessageBytes && !refused) {
            refused = true;
            refuse(request, response, `request over ${maxMessageBytes} bytes`);
            return;
          }
          if (!refused) chunks.push(chunk);
        });
        request.on('end', () => {
          if (refused) return;
          const handle = (error: Error | null, bytes: Buffer) => {
            if (error) {
              const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
              return reply(
                response,
                tooLarge ? 413 : 400,
                tooLarge ? 'decompressed request too large' : 'bad compression',
              );
            }
            let decoded: ExportMetricsServiceRequest;
            try {
              decoded = decodeRequest(bytes);
            } catch (decodeError) {
              return reply(
                response,
                400,
                `not an ExportMetricsServiceRequest: ${(decodeError as Error).message}`,
              );
            }
            try {
              options.onRequest(decoded, 'http');
              reply(response, 200, emptyResponse);
            } catch (handlerError) {
              reply(response, 500, (handlerError as Error).message);
            }
          };
          const body = Buffer.concat(chunks, size);
          if (encoding === 'gzip') gunzip(body, { maxOutputLength: maxMessageBytes }, handle);
          else if (encoding === 'deflate') inflate(body, { maxOutputLength: maxMessageBytes }, handle);
          else handle(null, body);
        });
      });
      httpServer = server;
      server.requestTimeout = 30_000;
      httpPort = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: options.httpPort }, () => {
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : (options.httpPort as number));
        });
      });
    }
    return { host, grpcPort, httpPort, close };
  } catch (error) {
    await close();
    throw error;
  }
}
