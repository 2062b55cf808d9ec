/**
 * The OTLP/gRPC metrics exporter, sending requests that are already encoded (see otlp-requests.ts).
 *
 * Why not the SDK's OTLPMetricExporter: it takes one ResourceMetrics per export, so every request
 * carries one Resource, and the process attributes could only go on the data points. The hostmetrics
 * receiver sends one Resource per process; an ExportMetricsServiceRequest holds any number of them,
 * but no exported function of the OpenTelemetry packages encodes more than one. So the requests are
 * encoded here from the package's own serializer (one ResourceMetrics each, concatenated) and only
 * the serializer handed to the transport is hand-written: it passes the bytes through (a body from
 * RequestBuffers, which the transport's Buffer.from wraps instead of copying). Everything on
 * the wire besides the body (the gRPC channel, metadata, timeout, compression, retries, the
 * OTEL_EXPORTER_OTLP_* settings) is the package's, built exactly as OTLPMetricExporter builds it.
 * The datapoint shape (one Resource, attributes on the points) needs none of this and is sent by the
 * SDK's OTLPMetricExporter itself (SdkMetricRequestExporter).
 */
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
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
import type { EncodedRequest, OtlpRequest } from './otlp-requests.ts';

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
const passThroughSerializer: ISerializer<EncodedRequest, IExportMetricsServiceResponse> = {
  serializeRequest: (request) =>
    request.parts.length === 1 ? request.parts[0] : Buffer.concat(request.parts, request.bytes),
  deserializeResponse: (data) => ProtobufMetricsSerializer.deserializeResponse(data),
};

/** The exporter's own metrics (otel.sdk.exporter.*) count data points, as the SDK's exporter does. */
const metricsHelper: IExporterMetricsHelper<EncodedRequest> = {
  name: 'metric_data_point',
  countItems: (request) => request.dataPoints,
};

type ResultCallback = Parameters<OtlpRequestExporter['export']>[1];

const wrongKind = (request: OtlpRequest, done: ResultCallback) =>
  done({
    code: ExportResultCode.FAILED,
    error: new Error(`this exporter cannot send a request of kind ${request.kind}`),
  });

/** The resource shape: requests encoded by otlp-requests.ts, sent on the package's gRPC transport. */
export class OtlpGrpcRequestExporter implements OtlpRequestExporter {
  readonly #inner: OTLPExporterBase<EncodedRequest>;

  constructor(config: OTLPGRPCExporterConfigNode = {}) {
    const delegate: IOtlpExportDelegate<EncodedRequest> = createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions(config, 'METRICS'),
      passThroughSerializer,
      'otlp_grpc_metric_exporter',
      metricsHelper,
      undefined,
      'MetricsExportService',
      '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
    );
    this.#inner = new OTLPExporterBase(delegate);
  }

  export(request: OtlpRequest, done: ResultCallback): void {
    if (request.kind === 'encoded') this.#inner.export(request, done);
    else wrongKind(request, done);
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

/** The datapoint shape: each request one ResourceMetrics, sent by the SDK's OTLPMetricExporter. */
export class SdkMetricRequestExporter implements OtlpRequestExporter {
  readonly #inner: OTLPMetricExporter;

  constructor(config: ConstructorParameters<typeof OTLPMetricExporter>[0] = {}) {
    this.#inner = new OTLPMetricExporter(config);
  }

  export(request: OtlpRequest, done: ResultCallback): void {
    if (request.kind === 'collected') this.#inner.export(request.resourceMetrics, done);
    else wrongKind(request, done);
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}
