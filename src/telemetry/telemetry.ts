/**
 * Wires the telemetry side: one MeterProvider whose two readers (OTLP push after each sample, Prometheus
 * pull) both get the process metrics from the same snapshot, plus the simulator's own metrics.
 */
import { createServer, type Server } from 'node:http';
import { Metadata } from '@grpc/grpc-js';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import type { EventBus } from '../engine/events.ts';
import type { Priority } from '../profiles/schema.ts';
import type { SnapshotStore } from '../sampler/snapshot.ts';
import { writePage } from './metrics-page.ts';
import { OtlpGrpcRequestExporter, SdkMetricRequestExporter } from './otlp-grpc-exporter.ts';
import type { MetricSelection } from './process-metrics.ts';
import {
  createProcessMetricProducer,
  createProcessResourceSource,
  processAttributesCache,
} from './process-producer.ts';
import { PrometheusTextSerializer } from './prometheus-text.ts';
import { type ExportOutcome, SampleDrivenMetricReader } from './sample-driven-reader.ts';
import { registerSelfMetrics, type SelfMetrics } from './self-metrics.ts';

export interface TelemetryOptions {
  resource: Resource;
  store: SnapshotStore;
  events: EventBus;
  liveByPriority: () => Record<Priority, number>;
  simulationPrefix: string | undefined;
  /** the metrics and per-process attributes emitted */
  selection: MetricSelection;
  scope: { name: string; version: string };
  prometheus: { host: string; port: number } | undefined;
  otlp:
    | {
        endpoint: string;
        headers: Record<string, string>;
        timeoutMs: number;
        /**
         * 'resource': one Resource per process with its attributes (the hostmetrics receiver's shape);
         * 'datapoint': the process attributes on every data point under the SDK's one Resource
         */
        processAttributes: 'resource' | 'datapoint';
      }
    | undefined;
  /** told about every export (the caller logs outages once) */
  onExport?: (outcome: ExportOutcome) => void;
}

/** Last known state of the OTLP export, for /info and the status line. */
export interface ExportStatus {
  endpoint: string | undefined;
  lastAttemptAt: string | undefined;
  lastSuccessAt: string | undefined;
  lastError: string | undefined;
  ok: number;
  failed: number;
  lastRequests: number;
  lastDataPoints: number;
}

/** The status before any export (also what an API without exporters reports). */
export function initialExportStatus(endpoint: string | undefined): ExportStatus {
  return {
    endpoint,
    lastAttemptAt: undefined,
    lastSuccessAt: undefined,
    lastError: undefined,
    ok: 0,
    failed: 0,
    lastRequests: 0,
    lastDataPoints: 0,
  };
}

export interface Telemetry {
  readonly meterProvider: MeterProvider;
  readonly selfMetrics: SelfMetrics;
  readonly exportStatus: ExportStatus;
  /** the Prometheus endpoint actually listening (port 0 resolves to the real port) */
  readonly prometheusUrl: string | undefined;
  /** pushes the latest snapshot over OTLP now (called after each sample) */
  exportNow(): Promise<void>;
  /** flushes the last export and closes the exporters */
  shutdown(): Promise<void>;
}

export async function createTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  // One attribute set per process for both readers: the /metrics labels and the OTLP Resource.
  const attributesOf = processAttributesCache(options.simulationPrefix, options.selection.attributes);
  const producerOptions = (naming: 'otlp' | 'prometheus') => ({
    store: options.store,
    attributesOf,
    naming,
    simulationPrefix: options.simulationPrefix,
    selection: options.selection,
    // A push carries the final readings of processes that exited; a pull shows what is alive.
    departed: naming === 'otlp',
    scope: options.scope,
  });
  const producer = (naming: 'otlp' | 'prometheus') => createProcessMetricProducer(producerOptions(naming));
  const exportStatus = initialExportStatus(options.otlp?.endpoint);
  const readers: MetricReader[] = [];
  let prometheus: PrometheusExporter | undefined;
  let prometheusUrl: string | undefined;
  let metricsServer: Server | undefined;
  if (options.prometheus) {
    const { host, port } = options.prometheus;
    // The exporter reads port 0 as "unset" and listens on its default 9464 instead of a free port, so it
    // gets no server of its own: ours listens where asked (0 included) and hands /metrics to it.
    prometheus = new PrometheusExporter({
      preventServerStart: true,
      metricProducers: [producer('prometheus')],
      withoutScopeInfo: true,
    });
    readers.push(prometheus);
    const exporter = prometheus;
    // The exporter collects; the text comes from our serializer (same bytes, built for 90k series).
    const serializer = new PrometheusTextSerializer();
    metricsServer = createServer((request, response) => {
      if (new URL(request.url ?? '/', 'http://localhost').pathname === '/metrics') {
        exporter
          .collect()
          .then(({ resourceMetrics }) => {
            response.setHeader('content-type', 'text/plain');
            // Streamed in chunks with backpressure; the first chunk takes every value (see `chunks`).
            return writePage(response, serializer, serializer.chunks(resourceMetrics));
          })
          .catch((error: Error) => {
            // Part of the page sent: cut the connection, so that the client sees it is not whole.
            if (response.headersSent) return void response.destroy(error);
            response.statusCode = 500;
            response.end(`# failed to export metrics: ${error.message}`);
          });
      } else {
        response.statusCode = 404;
        response.end('Not found');
      }
    }).unref();
    const realPort = await listen(metricsServer, host, port);
    prometheusUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${realPort}/metrics`;
  }
  let otlpReader: SampleDrivenMetricReader | undefined;
  let selfMetrics: SelfMetrics | undefined;
  if (options.otlp) {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(options.otlp.headers)) metadata.set(key, value);
    const { endpoint, timeoutMs } = options.otlp;
    const byResource = options.otlp.processAttributes === 'resource';
    otlpReader = new SampleDrivenMetricReader({
      // The user agent is part of the key of grpc-js's shared channel pool: a renewed exporter with the
      // same options would share the old channel and its reconnect backoff. A numbered agent gets a new
      // channel; the old one closes with the old exporter.
      createExporter: (renewal) => {
        const config = {
          url: endpoint,
          metadata,
          timeoutMillis: timeoutMs,
          ...(renewal > 0 ? { userAgent: `process-simulator (channel ${renewal})` } : {}),
        };
        return byResource ? new OtlpGrpcRequestExporter(config) : new SdkMetricRequestExporter(config);
      },
      timeoutMs: options.otlp.timeoutMs,
      // Per process Resources beside the SDK's (the self metrics), or the process attributes on the
      // data points of the SDK's one Resource.
      ...(byResource
        ? { processResources: createProcessResourceSource(producerOptions('otlp')) }
        : { metricProducers: [producer('otlp')] }),
      onResult: (outcome) => {
        const now = new Date().toISOString();
        exportStatus.lastAttemptAt = now;
        exportStatus.lastRequests = outcome.requests;
        exportStatus.lastDataPoints = outcome.dataPoints;
        if (outcome.ok) {
          exportStatus.ok++;
          exportStatus.lastSuccessAt = now;
          exportStatus.lastError = undefined;
        } else {
          exportStatus.failed++;
          exportStatus.lastError = outcome.error?.message;
        }
        selfMetrics?.recordExport(outcome);
        options.onExport?.(outcome);
      },
    });
    readers.push(otlpReader);
  }
  const meterProvider = new MeterProvider({ resource: options.resource, readers });
  selfMetrics = registerSelfMetrics(
    meterProvider.getMeter(options.scope.name, options.scope.version),
    options.events,
    options.liveByPriority,
  );
  return {
    meterProvider,
    selfMetrics,
    exportStatus,
    prometheusUrl,
    exportNow: () => otlpReader?.exportNow() ?? Promise.resolve(),
    async shutdown() {
      await otlpReader?.exportNow();
      await meterProvider.shutdown().catch(() => {});
      await new Promise<void>((resolve) =>
        metricsServer ? metricsServer.close(() => resolve()) : resolve(),
      );
    },
  };
}

/** Listens on `host:port` (0 = any free port) and resolves with the port actually bound. */
function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`cannot serve /metrics on ${host}:${port}: ${error.message}`, { cause: error })),
    );
    server.listen({ host, port }, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
