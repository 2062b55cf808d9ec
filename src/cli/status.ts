/**
 * What a person watching a run sees: on a terminal, one status line redrawn every second; otherwise a
 * plain log line every so often; and a summary at the end.
 */
import type { Simulation } from '../engine/simulation.ts';
import type { Logger } from '../log.ts';
import { PRIORITIES, type Priority } from '../profiles/schema.ts';
import { seriesPerProcess } from '../simulator.ts';
import type { MetricSelection } from '../telemetry/process-metrics.ts';
import type { ExportStatus } from '../telemetry/telemetry.ts';

export interface StatusSources {
  simulation: Simulation;
  exportStatus: ExportStatus;
  endpoints: { metrics: string | undefined; api: string };
}

const SHORT: Record<Priority, string> = { critical: 'crit', high: 'high', medium: 'med', low: 'low' };

function exportText(status: ExportStatus): string {
  if (!status.endpoint) return 'otlp off';
  if (!status.lastAttemptAt) return 'otlp: no export yet';
  if (status.lastError) return `otlp FAILING (${status.failed} failed): ${status.lastError.slice(0, 60)}`;
  const ago = Math.round((Date.now() - Date.parse(status.lastSuccessAt ?? status.lastAttemptAt)) / 1000);
  return `otlp ok ${ago}s ago (${status.lastRequests} req, ${status.lastDataPoints} points)`;
}

/** One line describing the run now. */
export function statusLine(sources: StatusSources): string {
  const { simulation } = sources;
  const live = simulation.liveByPriority();
  const target = simulation.plannedByPriority;
  const byPriority = PRIORITIES.filter((p) => target[p] > 0)
    .map((p) => `${SHORT[p]} ${live[p]}/${target[p]}`)
    .join(' ');
  return [
    `${simulation.state} ${simulation.processes.size}/${simulation.plannedCount} (${byPriority})`,
    `starts ${simulation.startsPerMinute()}/min exits ${simulation.churnPerMinute()}/min`,
    exportText(sources.exportStatus),
    `metrics ${sources.endpoints.metrics ?? 'off'} api ${sources.endpoints.api}`,
  ].join(' | ');
}

/**
 * Reports progress until stopped: redraws a status line every second on a TTY, or logs it every
 * `logEveryMs` otherwise.
 */
export function startStatusReporter(
  sources: StatusSources,
  options: { tty: boolean; write: (text: string) => void; log: Logger; logEveryMs?: number },
): { stop(): void } {
  const timer = options.tty
    ? setInterval(() => options.write(`\r\x1b[2K${statusLine(sources)}`), 1000)
    : setInterval(
        () => options.log.info('status', { line: statusLine(sources) }),
        options.logEveryMs ?? 30_000,
      );
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (options.tty) options.write('\r\x1b[2K');
    },
  };
}

/** The end-of-run summary, as fields for one log line. */
export function summary(
  simulation: Simulation,
  exportStatus: ExportStatus,
  selection: MetricSelection,
): Record<string, unknown> {
  const exited = Object.fromEntries(
    Object.entries(simulation.exits).map(([reason, counts]) => [
      reason,
      Object.values(counts).reduce((a, b) => a + b, 0),
    ]),
  );
  return {
    state: simulation.state,
    started: Object.values(simulation.starts).reduce((a, b) => a + b, 0),
    exited,
    peakProcesses: simulation.peakLive,
    peakSeries: simulation.peakLive * Object.values(seriesPerProcess(selection)).reduce((a, b) => a + b, 0),
    exportsOk: exportStatus.ok,
    exportsFailed: exportStatus.failed,
    seed: simulation.spec.seed,
    warning: simulation.rampWarning ?? simulation.failureReason,
  };
}
