/**
 * The `source` block of a captured profile: host, window, options, what was left out and why, each
 * template's estimate, and facts about the recording a reader should know (processes too short-lived to
 * be seen, processes below the worker's memory floor, readings that lagged).
 */
import { peakOf } from '../profiles/patterns.ts';
import type { Skipped, Source } from '../profiles/provenance.ts';
import { formatDuration } from '../profiles/units.ts';
import { type Anonymiser, anonymiseOption, anonymiseSkipped } from './anonymise.ts';
import { type Recording, recordingWindow } from './recording.ts';
import { median } from './stats.ts';
import type { ModelEntry } from './templates.ts';

/** The provenance of a profile built from `recording`. */
export function sourceOf(
  recording: Recording,
  entries: readonly ModelEntry[],
  skipped: Skipped[],
  buildOptions: string[],
  anonymiser: Anonymiser | undefined,
): Source {
  const { fromMs, toMs } = recordingWindow(recording);
  const notes: string[] = [];
  const started = recording.processes.filter((p) => p.startTimeMs > fromMs).length;
  if (recording.tasksCreated !== undefined) {
    notes.push(
      `the kernel created ${recording.tasksCreated} tasks (threads included, any name) during the recording; ${started} recorded processes were seen starting: a process that starts and ends between two readings is not seen`,
    );
  }
  const belowFloor = entries
    .filter((e) => peakOf(e.template.memory) < 1)
    .reduce((sum, e) => sum + e.template.count, 0);
  if (belowFloor > 0) {
    notes.push(
      `${belowFloor} processes hold less than 1 MiB resident; a simulated one holds at least about 0.8 MiB`,
    );
  }
  if (recording.readings.length < 2) notes.push('one reading only: no CPU could be measured');
  const medianGap = median(recording.readings.slice(1).map((t, i) => t - (recording.readings[i] as number)));
  if (recording.readings.length > 2 && medianGap > 1.5 * recording.intervalMs) {
    notes.push(
      `readings came every ${formatDuration(medianGap)}, not every ${formatDuration(recording.intervalMs)}`,
    );
  }
  return {
    kind: 'capture',
    host: anonymiser ? anonymiser.text(recording.host) : recording.host,
    kernel: recording.kernel,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    interval_ms: recording.intervalMs,
    samples: recording.readings.length,
    options: [
      ...recording.options.map((option) => (anonymiser ? anonymiseOption(option, anonymiser) : option)),
      ...(anonymiser ? [anonymiser.description] : []),
      ...buildOptions,
    ].slice(0, 32),
    skipped: [...recording.skipped, ...skipped]
      .map((skip) => (anonymiser ? anonymiseSkipped(skip, anonymiser) : skip))
      .slice(0, 1000),
    estimates: entries.map((entry) => entry.estimate),
    notes,
  };
}
