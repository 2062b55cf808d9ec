/**
 * The replay profile `--keep-samples` writes beside the fitted one: each process that ran throughout the
 * recording gets a template of its own whose CPU and memory are `replay` patterns holding its readings,
 * so a run drives it through what was recorded rather than a fitted shape (and starts over at the end).
 * Processes that came and went keep their fitted churn template: their readings are too short to
 * replay, and what matters about them is the rate and the lifetimes.
 * When the processes would not fit in a profile's 1000 templates, or the counts were scaled, the
 * processes behind one fitted template share a template whose values are their mean at each reading.
 */
import type { Estimate, FitQuality } from '../profiles/provenance.ts';
import { MAX_REPLAY_POINTS, type Pattern, type Profile, type Template } from '../profiles/schema.ts';
import type { Anonymiser } from './anonymise.ts';
import { type Capture, MAX_TEMPLATES, type ModelEntry } from './build.ts';
import type { ProcessFacts } from './group.ts';
import { argsProblem } from './holdable.ts';
import type { Recording } from './recording.ts';

export interface ReplayOptions {
  anonymiser?: Anonymiser;
  /** the counts were scaled: one template per fitted template */
  scaled?: boolean;
  /** most values per pattern; more readings are averaged in blocks @default MAX_REPLAY_POINTS */
  maxValues?: number;
}

/** The replay profile of a capture. */
export function buildReplay(capture: Capture, recording: Recording, options: ReplayOptions = {}): Profile {
  const perProcess =
    !options.scaled &&
    capture.entries.reduce((sum, e) => sum + (e.kind === 'stable' ? e.members.length : 1), 0) <=
      MAX_TEMPLATES;
  const templates: Template[] = [];
  const estimates: Estimate[] = [];
  for (const entry of capture.entries) {
    if (entry.kind === 'churn') {
      templates.push(entry.template);
      estimates.push(entry.estimate);
      continue;
    }
    const groups = perProcess ? entry.members.map((member) => [member]) : [entry.members];
    for (const members of groups) {
      const made = replayTemplate(entry, members, recording.intervalMs, options, perProcess);
      templates.push(made.template);
      estimates.push(made.estimate);
    }
  }
  const source = capture.source;
  return {
    name: `${capture.profile.name.slice(0, 57)}-replay`,
    description:
      `Replays the readings of ${capture.profile.description.replace(/^Captured from /, '')}`.slice(0, 500),
    templates,
    source: {
      ...source,
      options: [
        ...source.options,
        perProcess
          ? 'replay: one template per process that ran throughout, driven through its readings'
          : 'replay: one template per fitted template, driven through the mean of its processes at each reading',
      ].slice(0, 32),
      estimates,
    },
  };
}

function replayTemplate(
  entry: ModelEntry,
  members: readonly ProcessFacts[],
  intervalMs: number,
  options: ReplayOptions,
  perProcess: boolean,
): { template: Template; estimate: Estimate } {
  const { anonymiser } = options;
  const maxValues = Math.min(MAX_REPLAY_POINTS, options.maxValues ?? MAX_REPLAY_POINTS);
  const notes: string[] = [];
  const cpuReadings = meanSeries(members.map((m) => m.cpu.v));
  const memoryReadings = meanSeries(members.map((m) => m.memory.v));
  const cpu = replayOf(cpuReadings, intervalMs, 2, 100, maxValues);
  const memory = replayOf(memoryReadings, intervalMs, 3, Number.POSITIVE_INFINITY, maxValues);
  if (cpu.capped) notes.push(`cpu: ${cpu.capped} readings above 100 % held at 100 % (one core)`);
  if (cpu.block > 1)
    notes.push(`${cpu.block} readings averaged per value: at most ${maxValues} values per pattern`);
  const template: Template = {
    ...entry.template,
    cpu: cpu.pattern ?? entry.template.cpu,
    memory: memory.pattern ?? entry.template.memory,
  };
  if (perProcess) {
    const member = members[0] as ProcessFacts;
    const problem = argsProblem(member.process.args);
    if (problem) notes.push(`command line left out: ${problem}`);
    template.count = 1;
    template.threads = member.threads;
    template.fds = Math.max(3, member.fds);
    template.args = problem ? [] : member.process.args.map((arg) => (anonymiser ? anonymiser.arg(arg) : arg));
  }
  return {
    template,
    estimate: {
      template: template.name,
      processes: members.length,
      cpu: cpu.quality,
      memory: memory.quality,
      notes: perProcess ? notes : [`the mean of ${members.length} processes at each reading`, ...notes],
    },
  };
}

/** Index-wise mean of series that may differ in length (a process missed at a reading). */
function meanSeries(series: readonly (readonly number[])[]): number[] {
  const length = Math.max(0, ...series.map((s) => s.length));
  const mean: number[] = [];
  for (let i = 0; i < length; i++) {
    let sum = 0;
    let n = 0;
    for (const s of series) {
      const value = s[i];
      if (value !== undefined) {
        sum += value;
        n++;
      }
    }
    mean.push(n ? sum / n : 0);
  }
  return mean;
}

/**
 * A replay pattern of `readings`: blocks of readings averaged when there are more than a pattern holds,
 * values above `cap` held at it, rounded to `digits`. The quality is the distance between the values
 * and the readings they stand for (0 unless averaged, capped or rounded).
 */
export function replayOf(
  readings: readonly number[],
  intervalMs: number,
  digits: number,
  cap: number,
  maxValues = MAX_REPLAY_POINTS,
): { pattern: Pattern | undefined; quality: FitQuality; capped: number; block: number } {
  const block = Math.max(1, Math.ceil(readings.length / Math.max(1, maxValues)));
  const values: number[] = [];
  let capped = 0;
  let squares = 0;
  for (let at = 0; at < readings.length; at += block) {
    const part = readings.slice(at, at + block);
    const mean = part.reduce((a, b) => a + b, 0) / part.length;
    if (mean > cap) capped++;
    const value = Number(Math.min(cap, mean).toFixed(digits));
    values.push(value);
    for (const reading of part) squares += (reading - value) ** 2;
  }
  const quality: FitQuality = {
    pattern: 'replay',
    samples: readings.length,
    rmse: readings.length ? Number(Math.sqrt(squares / readings.length).toFixed(3)) : 0,
  };
  if (values.length === 0)
    return { pattern: undefined, quality: { ...quality, pattern: 'steady' }, capped, block };
  return {
    pattern: { pattern: 'replay', every: intervalMs * block, values, repeat: true },
    quality,
    capped,
    block,
  };
}
