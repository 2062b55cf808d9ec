/**
 * The OTLP sink: a receiver a pipeline's `otlp` (gRPC) or `otlphttp` exporter sends to, and the bounded
 * store of what arrived, which a verification reads.
 */
import { type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.ts';
import { SinkStore } from './sink-store.ts';

export interface OtlpSinkOptions {
  /** @default 127.0.0.1 */
  host?: string;
  /** 0 = any free port; undefined = no gRPC listener */
  grpcPort?: number | undefined;
  /** 0 = any free port; undefined = no HTTP listener */
  httpPort?: number | undefined;
  /** most series kept @default 250000 */
  maxSeries?: number;
  /** largest request, after decompression @default 16 MiB */
  maxMessageBytes?: number;
}

export interface OtlpSink {
  readonly store: SinkStore;
  readonly receiver: OtlpReceiver;
  /** the listen addresses, for reports and logs */
  readonly location: string;
  close(): Promise<void>;
}

export async function startOtlpSink(options: OtlpSinkOptions): Promise<OtlpSink> {
  const store = new SinkStore({ maxSeries: options.maxSeries });
  const receiver = await startOtlpReceiver({
    host: options.host,
    grpcPort: options.grpcPort,
    httpPort: options.httpPort,
    maxMessageBytes: options.maxMessageBytes,
    onRequest: (request) => store.record(request),
  });
  const host = receiver.host.includes(':') ? `[${receiver.host}]` : receiver.host;
  const location = [
    receiver.grpcPort !== undefined && `grpc://${host}:${receiver.grpcPort}`,
    receiver.httpPort !== undefined && `http://${host}:${receiver.httpPort}/v1/metrics`,
  ]
    .filter(Boolean)
    .join(' and ');
  return { store, receiver, location: `OTLP sink at ${location}`, close: () => receiver.close() };
}
