/**
 * A tiny OTLP/gRPC metrics receiver for the benchmark, run as a child process so its memory does not
 * count as the engine's: it accepts every Export request whatever its size, answers success, and
 * reports each request's size in bytes to its parent over IPC. It does not decode the protobuf.
 *
 * Parent protocol: the child sends {type: 'listening', port} once, then {type: 'request', bytes} per
 * request, before it answers the request; to {type: 'sync', id} it answers {type: 'synced', id}, after
 * the reports of every request answered so far (one ordered channel). It exits when the channel closes.
 */
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';

const EXPORT_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

const service: ServiceDefinition = {
  Export: {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (bytes: Buffer) => bytes,
    // An empty ExportMetricsServiceResponse encodes to zero bytes.
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

const send = (message: object) => process.send?.(message);
// Unlimited here so that an oversized request is measured rather than refused.
const server = new Server({ 'grpc.max_receive_message_length': -1 });
server.addService(service, {
  Export: (call: { request: Buffer }, callback: (error: { code: number } | null, value?: Buffer) => void) => {
    send({ type: 'request', bytes: call.request.length });
    callback(null, Buffer.alloc(0));
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`otlp sink: ${error.message}\n`);
    process.exit(1);
  }
  send({ type: 'listening', port });
});
process.on('message', (message: { type?: string; id?: number }) => {
  if (message.type === 'sync') send({ type: 'synced', id: message.id });
});
process.on('disconnect', () => server.tryShutdown(() => process.exit(0)));
