/**
 * Builds and starts the whole simulator from a Config, in the data's direction:
 * profile -> engine (spawns) -> sampler (reads /proc) -> telemetry (OTLP, Prometheus) and the API
 * beside them; `stop()` tears it down in the reverse order, flushing the last export.
 */

import { createApp } from './api/app.ts';
import type { ApiServer } from './api/server.ts';
import { startApiServer } from './api/server.ts';
import type { Config } from './config/config.ts';
import { SIMULATION_ATTRIBUTE_PREFIX } from './config/defaults.ts';
import { isLoopback } from './config/hosts.ts';
import { Engine } from './engine/engine.ts';
import type { Simulation } from './engine/simulation.ts';
import type { Logger } from './log.ts';
import { createProcReader } from './proc/reader.ts';
import { builtinProfile, loadProfileFile } from './profiles/load.ts';
import { scaleProfile } from './profiles/plan.ts';
import { randomSeed } from './profiles/random.ts';
import type { Profile } from './profiles/schema.ts';
import { Sampler } from './sampler/sampler.ts';
import { SnapshotStore } from './sampler/snapshot.ts';
import { defaultSelection, type MetricSelection, PROCESS_METRICS } from './telemetry/process-metrics.ts';
import { createResource } from './telemetry/resource.ts';
import { createTelemetry, type Telemetry } from './telemetry/telemetry.ts';
import { buildGroundTruth } from './verify/ground-truth.ts';
import { procHostView } from './verify/host.ts';
import { ReadingHistory } from './verify/readings.ts';
import { ReportStore } from './verify/report-store.ts';
import { type OtlpSink, startOtlpSink } from './verify/sources/otlp-sink.ts';
import { VERSION } from './version.ts';

export interface RunningSimulator {
  readonly engine: Engine;
  readonly telemetry: Telemetry;
  readonly sampler: Sampler;
  readonly store: SnapshotStore;
  readonly api: ApiServer;
  /** the OTLP receiver a pipeline under test sends to (OTLP_SINK_GRPC_PORT, OTLP_SINK_HTTP_PORT), if any */
  readonly sink: OtlpSink | undefined;
  /** the simulation started from the environment (AUTO_START), if any */
  readonly simulation: Simulation | undefined;
  /** resolves when the auto-started simulation ends (completed, failed or stopped); never without AUTO_START */
  readonly finished: Promise<Simulation | undefined>;
  /** stops sampling, flushes the last export, stops every child, closes the servers */
  stop(): Promise<void>;
}

/**
 * Series each exported process metric has per process (its split attribute's values, else 1), for a
 * selection or for the defaults with or without OPTIONAL_METRICS.
 */
export function seriesPerProcess(selection: MetricSelection | boolean): Record<string, number> {
  if (typeof selection === 'boolean') selection = defaultSelection(selection);
  return Object.fromEntries(
    PROCESS_METRICS.filter((metric) => selection.metrics.has(metric.name)).map((metric) => [
      metric.name,
      metric.split?.values.length ?? 1,
    ]),
  );
}

/** The profile the environment asks for, scaled to PROCESS_COUNT. */
export function profileFromConfig(config: Config): Profile {
  const profile = config.profileFile ? loadProfileFile(config.profileFile) : builtinProfile(config.profile);
  return scaleProfile(profile, config.processCount);
}

export interface StartOptions {
  /**
   * Aborts the start: before the API is up the start is undone and rejects with an AbortError; after
   * it, an auto-started ramp is stopped and the simulator is returned for an orderly stop().
   */
  signal?: AbortSignal;
}

/** Thrown by {@link startSimulator} when its signal aborted the start before the simulator was up. */
export class StartAborted extends Error {
  override readonly name = 'AbortError';
}

export async function startSimulator(
  config: Config,
  log: Logger,
  options: StartOptions = {},
): Promise<RunningSimulator> {
  const { signal } = options;
  const checkAborted = () => {
    if (signal?.aborted) throw new StartAborted(`start aborted by ${String(signal.reason)}`);
  };
  checkAborted();
  const profile = profileFromConfig(config);
  const engine = new Engine({
    maxProcesses: config.maxProcesses,
    allowCpuOvercommit: config.allowCpuOvercommit,
    warn: (message, fields) => log.warn(message, fields),
  });
  const store = new SnapshotStore();
  // Recent readings, so that a verification can bracket a value seen downstream between two of them.
  const history = new ReadingHistory();
  store.onPublish((snapshot) => history.record(snapshot));
  let telemetry: Telemetry | undefined;
  let api: ApiServer | undefined;
  let sink: OtlpSink | undefined;
  let stopping: Promise<void> | undefined;
  try {
    let failing = 0;
    telemetry = await createTelemetry({
      resource: await createResource({
        serviceName: config.serviceName,
        serviceVersion: VERSION,
        extra: config.resourceAttributes,
      }),
      store,
      events: engine.events,
      liveByPriority: () => engine.liveByPriority(),
      simulationPrefix: config.simulationAttributes ? SIMULATION_ATTRIBUTE_PREFIX : undefined,
      selection: config.metricSelection,
      scope: { name: 'process-simulator', version: VERSION },
      prometheus: { host: config.metricsHost, port: config.metricsPort },
      otlp: config.otlp.enabled
        ? {
            endpoint: config.otlp.endpoint,
            headers: config.otlp.headers,
            processAttributes: config.otlp.processAttributes,
            timeoutMs: Math.min(10_000, config.exportIntervalMs),
          }
        : undefined,
      onExport: (outcome) => {
        // An outage is logged once when it starts and once when it ends, not at every interval.
        if (!outcome.ok && failing++ === 0) {
          log.warn('OTLP export failing; retrying at every interval', {
            endpoint: config.otlp.endpoint,
            error: outcome.error?.message,
          });
        } else if (outcome.ok && failing > 0) {
          log.info('OTLP export recovered', { endpoint: config.otlp.endpoint, failedExports: failing });
          failing = 0;
        }
      },
    });
    checkAborted();
    const readyTelemetry = telemetry;
    // The files only some metrics need are read only when those metrics are on.
    const reader = createProcReader({
      contextSwitches: config.metricSelection.metrics.has('process.context_switches'),
      signalsPending: config.metricSelection.metrics.has('process.signals_pending'),
      cgroup:
        config.metricSelection.attributes.has('process.cgroup') ||
        config.metricSelection.attributes.has('process.linux.cgroup'),
    });
    const sampler = new Sampler({
      source: engine,
      reader,
      store,
      intervalMs: config.exportIntervalMs,
      cpuUtilization: config.metricSelection.metrics.has('process.cpu.utilization'),
      onSample: (stats) => readyTelemetry.selfMetrics.recordSample(stats),
      // Once per process that turns unreadable (not at every sample): it is left out of the snapshot.
      onReadError: (pid, error) =>
        log.warn('a simulated process could not be read; left out of the sample', {
          pid,
          error: error.message,
        }),
    });
    // A first reading within a second of a start, a last one right before the engine ends a process.
    engine.watch({
      started: (process) => sampler.sampleSoon(process.pid),
      ending: (process) => sampler.readFinal(process.pid),
    });
    engine.events.subscribe((event) => {
      if (event.type === 'ProcessExited') store.drop(event.pid);
      if (
        event.type.startsWith('Simulation') ||
        event.type === 'RampStopped' ||
        event.type.startsWith('Chaos')
      ) {
        const { type, ...fields } = event;
        log.info(type, fields);
      } else {
        log.debug(event.type, { ...event, type: undefined });
      }
    });
    store.onPublish(() => void readyTelemetry.exportNow());
    sampler.start();
    if (config.otlpSink.grpcPort !== undefined || config.otlpSink.httpPort !== undefined) {
      sink = await startOtlpSink({
        host: config.otlpSink.host,
        grpcPort: config.otlpSink.grpcPort,
        httpPort: config.otlpSink.httpPort,
        maxSeries: config.otlpSink.maxSeries,
      });
      log.info('OTLP sink listening', { sink: sink.location, max_series: config.otlpSink.maxSeries });
    }
    checkAborted();
    const readySink = sink;
    const host = procHostView();
    const truthSource = {
      engine,
      store,
      history,
      reader,
      host,
      intervalMs: config.exportIntervalMs,
      simulationPrefix: config.simulationAttributes ? SIMULATION_ATTRIBUTE_PREFIX : undefined,
      selection: config.metricSelection,
    };
    api = await startApiServer(
      createApp({
        engine,
        snapshots: store,
        state: () => (stopping ? 'stopping' : 'ok'),
        access: { allowedHosts: config.allowedHosts, controlHost: config.controlHost },
        exportStatus: telemetry.exportStatus,
        endpoints: {
          metrics: telemetry.prometheusUrl,
          otlp: config.otlp.enabled ? config.otlp.endpoint : undefined,
        },
        seriesPerProcess: seriesPerProcess(config.metricSelection),
        limits: { maxDurationMs: config.maxDurationMs, bodyLimitBytes: config.apiBodyLimitBytes },
        apiToken: config.apiToken,
        verification: {
          truth: (id, request) => buildGroundTruth(truthSource, id, request),
          sink: readySink,
          reports: new ReportStore(),
          host,
        },
        log,
      }),
      config.controlHost,
      config.controlPort,
    );
    checkAborted();
    if (!config.apiToken && !isLoopback(config.controlHost)) {
      // Only with API_ALLOW_UNAUTHENTICATED: the configuration refuses it otherwise.
      log.warn(
        'the control API listens beyond loopback without API_TOKEN (API_ALLOW_UNAUTHENTICATED): anyone who reaches it can start and kill simulated processes',
        {
          host: config.controlHost,
        },
      );
    }
    for (const note of config.metricsConfigNotes) log.info('METRICS_CONFIG', { note });
    log.info('process-simulator ready', {
      metrics: telemetry.prometheusUrl,
      api: api.url,
      otlp: config.otlp.enabled ? config.otlp.endpoint : 'off',
      worker: engine.workerKind,
    });

    let simulation: Simulation | undefined;
    // Without an auto-started simulation the simulator serves the API until it is told to stop.
    let finished: Promise<Simulation | undefined> = new Promise(() => {});
    if (config.autoStart) {
      const seed = config.seed ?? randomSeed();
      const { shard } = config;
      simulation = engine.createSimulation({
        name:
          shard.count > 1
            ? `${profile.name}-${seed}-shard-${shard.index}-of-${shard.count}`
            : `${profile.name}-${seed}`,
        profile,
        seed,
        durationMs: config.durationMs,
        chaos: config.enableChaos || profile.chaos !== undefined,
        shard,
        startAtMs: config.startAtMs,
      });
      const started = simulation;
      finished = new Promise((resolve) => {
        const unsubscribe = engine.events.subscribe((event) => {
          if (event.simulationId !== started.id) return;
          if (
            event.type === 'SimulationCompleted' ||
            event.type === 'SimulationFailed' ||
            event.type === 'SimulationStopped'
          ) {
            unsubscribe();
            resolve(started);
          }
        });
      });
      if (config.startAtMs !== undefined) {
        // The engine starts it at START_AT (at once when that has passed) and records the skew.
        log.info('waiting for START_AT', {
          start_at: new Date(config.startAtMs).toISOString(),
          in_ms: Math.max(0, config.startAtMs - Date.now()),
          shard: `${shard.index}/${shard.count}`,
          planned: simulation.plannedCount,
        });
        engine.events.subscribe((event) => {
          if (event.type === 'SimulationStarted' && event.simulationId === started.id) {
            log.info('started at START_AT', { skew_ms: started.startSkewMs });
          }
        });
      } else {
        // A signal during the ramp stops it; the caller then stops the simulator in order.
        const stopRamp = () => void engine.stopSimulation(started.id);
        signal?.addEventListener('abort', stopRamp, { once: true });
        if (signal?.aborted) stopRamp();
        try {
          await engine.startSimulation(simulation.id);
        } finally {
          signal?.removeEventListener('abort', stopRamp);
        }
        log.info('simulation running', {
          profile: profile.name,
          seed,
          shard: shard.count > 1 ? `${shard.index}/${shard.count}` : undefined,
          processes: simulation.processes.size,
          planned: simulation.plannedCount,
          warning: simulation.rampWarning,
        });
        await sampler.sampleNow();
      }
    }

    const runningApi = api;
    const runningTelemetry = telemetry;
    return {
      engine,
      telemetry,
      sampler,
      store,
      api,
      sink,
      simulation,
      finished,
      stop: () => {
        stopping ??= (async () => {
          sampler.stop();
          // Last look at the processes, pushed before they go, so the final values are not lost.
          await sampler.sampleNow();
          await runningTelemetry.exportNow();
          await engine.shutdown();
          await sampler.sampleNow();
          await runningTelemetry.shutdown();
          await runningApi.close();
          await readySink?.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await engine.shutdown();
    await telemetry?.shutdown();
    await api?.close();
    await sink?.close();
    throw error;
  }
}
