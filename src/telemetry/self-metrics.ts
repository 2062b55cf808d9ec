/**
 * The simulator's own metrics (bounded cardinality, so plain SDK instruments fit): processes running by
 * priority, starts and exits by reason, sample duration, export outcomes. They answer "is the simulator
 * doing what I asked" next to the process metrics it produces.
 */
import type { Meter } from '@opentelemetry/api';
import type { EventBus } from '../engine/events.ts';
import { PRIORITIES, type Priority } from '../profiles/schema.ts';
import type { ExportOutcome } from './sample-driven-reader.ts';

export interface SelfMetrics {
  recordSample(stats: { durationMs: number; processes: number; unreadable?: number }): void;
  recordExport(outcome: ExportOutcome): void;
}

export function registerSelfMetrics(
  meter: Meter,
  events: EventBus,
  liveByPriority: () => Record<Priority, number>,
): SelfMetrics {
  const running = meter.createObservableGauge('simulator.processes', {
    description: 'Simulated processes running now, by priority',
    unit: '{processes}',
  });
  running.addCallback((result) => {
    const counts = liveByPriority();
    for (const priority of PRIORITIES) result.observe(counts[priority], { priority });
  });
  const starts = meter.createCounter('simulator.process.starts', {
    description: 'Simulated processes started',
    unit: '{processes}',
  });
  const exits = meter.createCounter('simulator.process.exits', {
    description: 'Simulated processes that exited, by reason (lifetime, stopped, killed, crashed)',
    unit: '{processes}',
  });
  events.subscribe((event) => {
    if (event.type === 'ProcessStarted') starts.add(1, { priority: event.priority });
    else if (event.type === 'ProcessExited') exits.add(1, { priority: event.priority, reason: event.reason });
  });
  const sampleDuration = meter.createHistogram('simulator.sample.duration', {
    description: 'Time to read every simulated process from /proc once',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] },
  });
  const sampled = meter.createGauge('simulator.sample.processes', {
    description: 'Processes read in the last sample',
    unit: '{processes}',
  });
  const unreadable = meter.createGauge('simulator.sample.unreadable', {
    description:
      'Live simulated processes left out of the last sample because their /proc files could not be read',
    unit: '{processes}',
  });
  const exportsCount = meter.createCounter('simulator.exports', {
    description: 'OTLP exports by outcome (ok, failed)',
    unit: '{exports}',
  });
  const exportRequests = meter.createCounter('simulator.export.requests', {
    description: 'OTLP requests sent',
    unit: '{requests}',
  });
  return {
    recordSample(stats) {
      sampleDuration.record(stats.durationMs / 1000);
      sampled.record(stats.processes);
      unreadable.record(stats.unreadable ?? 0);
    },
    recordExport(outcome) {
      exportsCount.add(1, { outcome: outcome.ok ? 'ok' : 'failed' });
      exportRequests.add(outcome.requests);
    },
  };
}
