/**
 * The OTLP/gRPC metrics exporter, sending requests that are already encoded (see otlp-requests.ts).
 *
 * Why not the SDK's OTLPMetricExporter: it takes one ResourceMetrics per export, so every request
 * carries one Resource, and the process attributes could only go on the data points. The hostmetrics
 * receiver sends one Resource per process; an ExportMetricsServiceRequest holds any number of them,
 * but no exported function of the OpenTelemetry packages encodes more than one. So the requests are
 * encoded here from the package's own serializer (one ResourceMetrics each, concatenated) and only
 * the serializer handed to the transport is hand-written: it passes the bytes through. Everything on
 * the wire besides the body (the gRPC channel, metadata, timeout, compression, retries, the
 * OTEL_EXPORTER_OTLP_* settings) is the package's, built exactly as OTLPMetricExporter builds it.
 */
import { type IOtlpExportDelegate, OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExportDelegate,
  type OTLPGRPCExporterConfigNode,
} from '@opentelemetry/otlp-grpc-exporter-base';
import {
  type IExporterMetricsHelper,
  type IExportMetricsServiceResponse,
  type ISerializer,
  ProtobufMetricsSerializer,
} from '@opentelemetry/otlp-transformer';
import type { OtlpRequest } from './otlp-requests.ts';

/** What the reader needs of an exporter: one encoded request per call. */
export interface OtlpRequestExporter {
  export(request: OtlpRequest, resultCallback: (result: { code: number; error?: Error }) => void): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The body of the request is its parts one after the other: each part is an encoded
 * ExportMetricsServiceRequest holding one ResourceMetrics, whose only field is `repeated
 * ResourceMetrics resource_metrics = 1`, and concatenated protobuf messages decode as their merge,
 * in which repeated fields are appended: one request with every part's ResourceMetrics in order.
 */
const passThroughSerializer: ISerializer<OtlpRequest, IExportMetricsServiceResponse> = {
  serializeRequest: (request) =>
    request.parts.length === 1 ? request.parts[0] : Buffer.concat(request.parts, request.bytes),
  deserializeResponse: (data) => ProtobufMetricsSerializer.deserializeResponse(data),
};

/** The exporter's own metrics (otel.sdk.exporter.*) count data points, as the SDK's exporter does. */
const metricsHelper: IExporterMetricsHelper<OtlpRequest> = {
  name: 'metric_data_point',
  countItems: (request) => request.dataPoints,
};

export class OtlpGrpcRequestExporter extends OTLPExporterBase<OtlpRequest> implements OtlpRequestExporter {
  constructor(config: OTLPGRPCExporterConfigNode = {}) {
    const delegate: IOtlpExportDelegate<OtlpRequest> = createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions(config, 'METRICS'),
      passThroughSerializer,
      'otlp_grpc_metric_exporter',
      metricsHelper,
      undefined,
      'MetricsExportService',
      '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
    );
    super(delegate);
  }
}
