/** The report's sentences on how PIDs were matched and how the skew between reads was bounded. */
import { formatDuration } from '../../profiles/units.ts';
import type { Expectations } from '../expectations.ts';
import type { Observation } from '../observation.ts';
import type { GroundTruth } from '../truth.ts';
import type { Matcher } from './match.ts';

export function matchingNote(view: Matcher['view']): string {
  switch (view) {
    case 'same-namespace':
      return 'the verifier shares the simulator’s PID namespace: PIDs are matched as they are (confirmed by the executable name and, when the data carries it, the start time)';
    case 'same-host':
      return 'the verifier runs in another PID namespace on the simulator’s host: PIDs are mapped through /proc/PID/status NSpid, confirmed by the process’s PID namespace or start time; others by name, command line and start time';
    default:
      return 'the verifier cannot see the simulator’s processes (another host, or its /proc is not readable): processes are matched by executable name, command line and, when the data carries it, start time';
  }
}

export function skewText(
  observation: Observation,
  expectations: Expectations,
  truth: GroundTruth,
  skew: { widestMs: number; widestCpuS: number },
): string {
  const tolerance = `counters (CPU time ±${expectations.tolerances.cpuTicks} clock ticks of 1/${truth.clock_ticks} s, disk bytes exactly) must lie between the readings, memory within ${expectations.tolerances.memoryPercent} % of them, threads and fds between them exactly`;
  const widest = `widest bracket ${Math.round(skew.widestMs) / 1000} s, in which the busiest process burnt ${Math.round(skew.widestCpuS * 1000) / 1000} s of CPU`;
  if (observation.readTimeKnown) {
    return `Each point carries the time it was read; it was compared with the simulator's two readings around that time (the one before and the one after, one sampling interval of ${truth.interval_ms / 1000} s apart at most): ${tolerance}; ${widest}.`;
  }
  return `The source keeps no read time (Prometheus stores the scrape time), so each value was compared with the simulator's readings from max_delay (${formatDuration(expectations.maxDelayMs)}) before the query to a fresh reading taken right after it: ${tolerance}; ${widest}.`;
}
