/**
 * Rates between two readings of the same process: what needs the previous sample as well as this one.
 */
import type { CpuUtilization, ProcessSample } from '../proc/reader.ts';

/** True when both readings are of the same process (same start time: the PID was not reused). */
export function sameProcess(previous: ProcessSample | undefined, sample: ProcessSample): boolean {
  return previous !== undefined && previous.startTimeMs === sample.startTimeMs;
}

/** Percent of one core used between two readings of one process; undefined when no time passed. */
export function cpuPercentSince(previous: ProcessSample, sample: ProcessSample): number | undefined {
  const seconds = (sample.readAtMs - previous.readAtMs) / 1000;
  if (seconds <= 0) return undefined;
  const used =
    sample.cpuUserSeconds + sample.cpuSystemSeconds - previous.cpuUserSeconds - previous.cpuSystemSeconds;
  return Math.max(0, (used / seconds) * 100);
}

/**
 * process.cpu.utilization as the collector computes it (ucal/cpu_utilization_calculator.go 31-65): per
 * state, the CPU time used between the two readings divided by the wall time between them and by the
 * logical CPUs; zeros when no time passed; nothing without a CPU count (the collector errors then).
 * Written into `into` when given (the sampler reuses one per process), else into a new object.
 */
export function utilizationSince(
  previous: ProcessSample,
  sample: ProcessSample,
  logicalCpus: number,
  into: CpuUtilization = { user: 0, system: 0, wait: 0 },
): CpuUtilization | undefined {
  if (logicalCpus < 1) return undefined;
  const seconds = (sample.readAtMs - previous.readAtMs) / 1000;
  if (seconds <= 0) {
    into.user = 0;
    into.system = 0;
    into.wait = 0;
  } else {
    into.user = (sample.cpuUserSeconds - previous.cpuUserSeconds) / seconds / logicalCpus;
    into.system = (sample.cpuSystemSeconds - previous.cpuSystemSeconds) / seconds / logicalCpus;
    into.wait = (sample.cpuWaitSeconds - previous.cpuWaitSeconds) / seconds / logicalCpus;
  }
  return into;
}
