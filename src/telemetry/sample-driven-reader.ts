/**
 * A MetricReader that pushes right after each /proc sample instead of on its own timer, so an export
 * never carries data older than the sample and never re-reads /proc. Exports never overlap (a sample
 * that finds one running is skipped and counted), never reject, and are split into requests under the
 * collector's message size limit: by whole Resources when each process has its own (`processResources`),
 * else by data points. Export failures are reported through `onResult`, so the owner logs an
 * outage once rather than once per interval.
 *
 * After a failed export the exporter is replaced by a new one from `createExporter`. Why: the gRPC
 * client backs off exponentially between reconnect attempts (1 s x 1.6 per failure, up to 120 s) and
 * the OTLP exporter exposes no channel option to bound that, so after a long outage exports would
 * resume up to two minutes after the collector is back. A fresh exporter gets a fresh channel (see
 * `createExporter` in telemetry.ts) that connects at the next interval.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { AggregationTemporality, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { OtlpRequestExporter } from './otlp-grpc-exporter.ts';
import {
  DEFAULT_MAX_REQUEST_BYTES,
  type OtlpRequest,
  packRequests,
  RequestBuffers,
  splitIntoRequests,
} from './otlp-requests.ts';

export interface ExportOutcome {
  ok: boolean;
  requests: number;
  dataPoints: number;
  durationMs: number;
  error?: Error;
}

export interface SampleDrivenReaderOptions {
  /** makes the exporter; called again after each failed export with the count of renewals so far */
  createExporter: (renewal: number) => OtlpRequestExporter;
  /**
   * One ResourceMetrics per process, sent after the SDK's own (the reader's metric producers and
   * instruments, under the MeterProvider's Resource, which is passed in): the receiver's shape. Without
   * it, the collection is the SDK's one ResourceMetrics, split by data points.
   */
  processResources?: (sdkResource: Resource) => Iterable<ResourceMetrics>;
  /** per-export timeout @default 10000 */
  timeoutMs?: number;
  /** size budget per request @default 2 MiB */
  maxRequestBytes?: number;
  onResult?: (outcome: ExportOutcome) => void;
}

export class SampleDrivenMetricReader extends MetricReader {
  readonly #createExporter: (renewal: number) => OtlpRequestExporter;
  readonly #processResources: ((sdkResource: Resource) => Iterable<ResourceMetrics>) | undefined;
  #exporter: OtlpRequestExporter;
  #renewals = 0;
  readonly #timeoutMs: number;
  readonly #maxRequestBytes: number;
  /** the resource shape's request buffers: the next request goes into the buffer of the one answered */
  readonly #buffers: RequestBuffers;
  readonly #onResult: ((outcome: ExportOutcome) => void) | undefined;
  #inFlight: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  skipped = 0;

  constructor(options: SampleDrivenReaderOptions & ConstructorParameters<typeof MetricReader>[0]) {
    super({ ...options, aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
    this.#createExporter = options.createExporter;
    this.#processResources = options.processResources;
    this.#exporter = options.createExporter(0);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.#buffers = new RequestBuffers(this.#maxRequestBytes);
    this.#onResult = options.onResult;
  }

  /**
   * Collects and exports now. Exports never overlap: while one runs, the call waits for it and then
   * exports the newest snapshot once (callers meanwhile share that one follow-up, counted in `skipped`),
   * so the last snapshot before a shutdown is never dropped.
   */
  exportNow(): Promise<void> {
    if (this.#inFlight) {
      this.skipped++;
      this.#queued ??= this.#inFlight.then(() => {
        this.#queued = undefined;
        return this.exportNow();
      });
      return this.#queued;
    }
    this.#inFlight = this.#run().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #run(): Promise<void> {
    const started = performance.now();
    let requests = 0;
    let dataPoints = 0;
    try {
      const { resourceMetrics } = await this.collect({ timeoutMillis: this.#timeoutMs });
      const processResources = this.#processResources;
      // The resource shape's requests are packed one at a time, each once the one before it was
      // answered: an export holds one request's buffer, not all of them.
      const chunks: Iterable<OtlpRequest> = processResources
        ? packRequests(
            (function* () {
              yield resourceMetrics;
              yield* processResources(resourceMetrics.resource);
            })(),
            this.#maxRequestBytes,
            this.#buffers,
          )
        : splitIntoRequests(resourceMetrics, this.#maxRequestBytes);
      for (const chunk of chunks) {
        dataPoints += chunk.dataPoints;
        requests++;
        const result = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => {
          const timer = setTimeout(
            () =>
              resolve({
                code: ExportResultCode.FAILED,
                error: new Error(`export timed out after ${this.#timeoutMs} ms`),
              }),
            this.#timeoutMs,
          );
          timer.unref();
          this.#exporter.export(chunk, (outcome) => {
            clearTimeout(timer);
            // The exporter is done with the request (its retries too): its buffer may be filled again.
            // After our timeout this comes late or never: until it does, the buffer stays out.
            if (chunk.kind === 'encoded' && chunk.buffer) this.#buffers.give(chunk.buffer);
            resolve(outcome);
          });
        });
        if (result.code !== ExportResultCode.SUCCESS) {
          throw result.error ?? new Error('export failed');
        }
      }
      this.#onResult?.({ ok: true, requests, dataPoints, durationMs: performance.now() - started });
    } catch (error) {
      this.#onResult?.({
        ok: false,
        requests,
        dataPoints,
        durationMs: performance.now() - started,
        error: error as Error,
      });
      this.#renewExporter();
    }
  }

  #renewExporter(): void {
    const old = this.#exporter;
    this.#exporter = this.#createExporter(++this.#renewals);
    old.shutdown().catch(() => {});
  }

  protected override async onForceFlush(): Promise<void> {
    await this.exportNow();
    await this.#exporter.forceFlush();
  }

  protected override async onShutdown(): Promise<void> {
    await this.#inFlight;
    await this.#exporter.shutdown();
  }
}
