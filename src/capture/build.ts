/**
 * From a recording to a profile: one template per name for the processes that ran throughout (one per
 * behaviour when they differ: a spiky master beside steady workers), one more for those that came and
 * went, each with its count, priority, threads, fds, command line and fitted CPU and memory patterns;
 * then, as asked, the top N names, a scale and new names. The profile's `source` says where it came
 * from, what was left out and how well each pattern fits.
 */
import { meanOf } from '../profiles/demand.ts';
import { peakOf } from '../profiles/patterns.ts';
import { scaleProfile } from '../profiles/plan.ts';
import type { Estimate, Skipped, Source } from '../profiles/provenance.ts';
import type { Pattern, Priority, Profile, Template } from '../profiles/schema.ts';
import { formatDuration } from '../profiles/units.ts';
import { type Anonymiser, anonymiseOption, anonymiseSkipped } from './anonymise.ts';
import { fitChurn } from './churn.ts';
import { combineFits, type Member } from './combine.ts';
import { fitPooledCpu, fitPooledMemory, type PatternFit } from './fit.ts';
import { groupProcesses, type NameGroup, type ProcessFacts } from './group.ts';
import { argsProblem } from './holdable.ts';
import { defaultPriority, type PriorityRule, rulePriority } from './priority.ts';
import { type Recording, recordingWindow } from './recording.ts';
import { median, moments } from './stats.ts';

/** Most templates a profile holds (the schema's bound). */
export const MAX_TEMPLATES = 1000;

export interface BuildOptions {
  rules?: readonly PriorityRule[];
  /** replaces names and arguments in what is written; the rules still see the recorded names */
  anonymiser?: Anonymiser;
  /** keep the N names that use the most CPU or memory (count x mean) */
  top?: { n: number; by: 'cpu' | 'memory' };
  /** multiply the process counts (largest remainder, at least one of each kind when the total allows) */
  scale?: number;
  profileName?: string;
}

/** One template of the capture and what it was made from. */
export interface ModelEntry {
  /** recorded name */
  recordedName: string;
  kind: 'stable' | 'churn';
  members: ProcessFacts[];
  template: Template;
  estimate: Estimate;
}

export interface Capture {
  profile: Profile;
  entries: ModelEntry[];
  source: Source;
}

/** Thrown when the recording cannot make a profile (nothing recorded, too many names). */
export class CaptureError extends Error {
  override readonly name = 'CaptureError';
}

/** Builds the profile of `recording`. @throws CaptureError when no profile can be made */
export function buildCapture(recording: Recording, options: BuildOptions = {}): Capture {
  const { groups, skipped } = groupProcesses(recording, options.anonymiser !== undefined);
  const windowMs = recordingWindow(recording).toMs - recordingWindow(recording).fromMs;
  let entries = groups.flatMap((group) => entriesOf(group, recording, windowMs, options.rules ?? []));
  const buildOptions: string[] = [];
  if (options.top) {
    const kept = topNames(entries, options.top.n, options.top.by);
    const dropped = entries.filter((entry) => !kept.has(entry.recordedName));
    if (dropped.length) {
      buildOptions.push(
        `--top ${options.top.n} --by ${options.top.by}: kept ${kept.size} names, left out ${new Set(dropped.map((e) => e.recordedName)).size} (${dropped.reduce((sum, e) => sum + e.template.count, 0)} processes)`,
      );
    }
    entries = entries.filter((entry) => kept.has(entry.recordedName));
  }
  if (entries.length === 0) {
    throw new CaptureError(
      `no process to put in a profile: ${recording.processes.length} recorded, ${skipped.reduce((sum, s) => sum + s.processes, 0)} left out${skipped.length ? ` (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''}`,
    );
  }
  if (entries.length > MAX_TEMPLATES) {
    throw new CaptureError(
      `${entries.length} templates, more than a profile holds (${MAX_TEMPLATES}); keep fewer names with --top N, --name or --user`,
    );
  }
  if (options.scale !== undefined && options.scale !== 1) {
    const total = entries.reduce((sum, entry) => sum + entry.template.count, 0);
    const wanted = Math.max(1, Math.round(total * options.scale));
    const scaled = scaleProfile(toProfile('scaled', entries), wanted);
    entries = entries.map((entry, i) => ({
      ...entry,
      template: { ...entry.template, count: scaled.templates[i]?.count ?? entry.template.count },
    }));
    buildOptions.push(`--scale ${options.scale}: ${wanted} processes of ${total}`);
  }
  if (options.anonymiser) entries = entries.map((entry) => renamed(entry, options.anonymiser as Anonymiser));
  const source = sourceOf(recording, entries, skipped, buildOptions, options);
  const name = options.profileName ?? profileNameFor(source.host);
  const profile: Profile = {
    ...toProfile(name, entries),
    description: `Captured from ${source.host} over ${formatDuration(windowMs)} ending ${source.to}.`,
    source,
  };
  return { profile, entries, source };
}

/** The stable and churn templates of one name. */
function entriesOf(
  group: NameGroup,
  recording: Recording,
  windowMs: number,
  rules: readonly PriorityRule[],
): ModelEntry[] {
  const entries: ModelEntry[] = [];
  const ruled = rulePriority(rules, group.name);
  // Processes of one name that behave differently (a postgres master that spikes beside steady
  // backends) get a template each, so neither shape is averaged into the other.
  const byKind = new Map<string, ProcessFacts[]>();
  for (const facts of group.stable) {
    const kind = `${facts.cpuFit.pattern.pattern}/${facts.memoryFit.pattern.pattern}`;
    byKind.set(kind, [...(byKind.get(kind) ?? []), facts]);
  }
  const lastReading = recording.readings.at(-1) as number;
  for (const members of byKind.values()) {
    const uptimeMs = Math.min(...members.map((f) => lastReading - f.process.startTimeMs));
    const rssMiB = moments(members.map((f) => moments(f.memory.v).mean)).mean;
    const notes: string[] = [];
    const joined = members.filter((f) => !f.presence.atStart).length;
    if (joined > 0) notes.push(`${joined} started during the recording and still ran at its end`);
    if (byKind.size > 1) {
      notes.push(
        `${group.name} has ${byKind.size} templates, one per behaviour: ${[...byKind].map(([kind, list]) => `${list.length} with CPU/memory ${kind}`).join(', ')}`,
      );
    }
    entries.push(
      entryOf(
        group.name,
        'stable',
        members,
        recording,
        ruled ?? defaultPriority({ churns: false, uptimeMs, rssMiB }),
        notes,
      ),
    );
  }
  const churn = group.churn.length
    ? fitChurn({
        lifetimesMs: group.churn.flatMap((f) =>
          f.presence.lifetimeMs === undefined ? [] : [f.presence.lifetimeMs],
        ),
        aliveAtReadings: aliveAt(group.churn, recording.readings.length),
        windowMs,
      })
    : undefined;
  if (churn) {
    const notes = [...new Set(churn.notes)];
    let priority = ruled ?? 'low';
    if (priority === 'critical') {
      notes.push('a rule says critical, but processes that come and go cannot be: high instead');
      priority = 'high';
    }
    const entry = entryOf(group.name, 'churn', group.churn, recording, priority, notes);
    const exits = group.churn.filter((f) => f.presence.exitedDuring).length;
    entry.template = {
      ...entry.template,
      count: churn.count,
      lifetime: churn.lifetime,
      restart: 'always',
      restart_delay: churn.restartDelayMs,
    };
    entry.estimate.lifetime = `${exits} exits (${round(churn.exitsPerMinute)}/min), lifetimes ${formatDuration(churn.lifetime.min)}-${formatDuration(churn.lifetime.max)} within half an interval; up to ${churn.count} alive at once`;
    entries.push(entry);
  }
  return entries;
}

/** How many of `members` each reading saw. */
function aliveAt(members: readonly ProcessFacts[], readings: number): number[] {
  const alive = new Array<number>(readings).fill(0);
  for (const facts of members) {
    for (const point of facts.process.points) alive[point[0]] = (alive[point[0]] ?? 0) + 1;
  }
  return alive;
}

function entryOf(
  name: string,
  kind: ModelEntry['kind'],
  members: ProcessFacts[],
  recording: Recording,
  priority: Priority,
  notes: string[],
): ModelEntry {
  const cpu = cappedCpu(
    combineFits(
      members.map((f): Member => ({ fit: f.cpuFit, values: f.cpu.v })),
      (values) => fitPooledCpu(values, recording.intervalMs, recording.clockTicks),
    ),
  );
  const memory = combineFits(
    members.map((f): Member => ({ fit: f.memoryFit, values: f.memory.v })),
    (values) => fitPooledMemory(values, recording.intervalMs),
  );
  const { args, note } = argsOf(members);
  if (note) notes.push(note);
  const threads = Math.max(1, Math.round(moments(members.map((f) => f.threads)).mean));
  const fds = Math.max(3, Math.round(moments(members.map((f) => f.fds)).mean));
  const template: Template = {
    name,
    count: members.length,
    priority,
    cpu: roundPattern(cpu.pattern, 2),
    memory: roundPattern(memory.pattern, 3),
    threads,
    fds,
    args,
    restart: 'always',
    restart_delay: 0,
  };
  const estimate: Estimate = {
    template: name,
    processes: members.length,
    cpu: roundQuality(cpu.quality),
    memory: roundQuality(memory.quality),
    notes: [
      ...new Set([
        ...notes,
        ...cpu.notes.map((n) => `cpu: ${n}`),
        ...memory.notes.map((n) => `memory: ${n}`),
      ]),
    ]
      .slice(0, 16)
      .map((n) => n.slice(0, 300)),
  };
  return { recordedName: name, kind, members, template, estimate };
}

/** A simulated process burns at most one core: peaks above are cut to 100 %, and the notes say so. */
function cappedCpu(fit: PatternFit): PatternFit {
  const peak = peakOf(fit.pattern);
  if (peak <= 100) return fit;
  const p = fit.pattern;
  const capped: Pattern =
    p.pattern === 'spiky'
      ? { ...p, peak: Math.min(100, p.peak), base: Math.min(100, p.base) }
      : p.pattern === 'random'
        ? { ...p, min: Math.max(p.min, 2 * meanOf(p) - 100), max: 100 }
        : p.pattern === 'steady'
          ? { ...p, value: 100 }
          : p;
  return {
    ...fit,
    pattern: capped,
    notes: [...fit.notes, `peaks of ${round(peak)} % cut to 100 % (one core)`],
  };
}

/** The command line most of the processes had (the first seen of the most common). */
function argsOf(members: readonly ProcessFacts[]): { args: string[]; note?: string } {
  const counts = new Map<string, { args: string[]; n: number }>();
  for (const f of members) {
    const key = JSON.stringify(f.process.args);
    const entry = counts.get(key) ?? { args: f.process.args, n: 0 };
    entry.n++;
    counts.set(key, entry);
  }
  const common = [...counts.values()].sort((a, b) => b.n - a.n)[0];
  if (!common) return { args: [] };
  const problem = argsProblem(common.args);
  if (problem) return { args: [], note: `command line left out: ${problem}` };
  return counts.size > 1
    ? { args: common.args, note: `${counts.size} different command lines; the most common is shown` }
    : { args: common.args };
}

/** Names whose templates use the most of `by` (count x long-run mean), at most n. */
function topNames(entries: readonly ModelEntry[], n: number, by: 'cpu' | 'memory'): Set<string> {
  const load = new Map<string, number>();
  for (const entry of entries) {
    const demand = entry.template.count * meanOf(by === 'cpu' ? entry.template.cpu : entry.template.memory);
    load.set(entry.recordedName, (load.get(entry.recordedName) ?? 0) + demand);
  }
  return new Set(
    [...load]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, n)
      .map(([name]) => name),
  );
}

function renamed(entry: ModelEntry, anonymiser: Anonymiser): ModelEntry {
  const name = anonymiser.name(entry.recordedName);
  return {
    ...entry,
    template: { ...entry.template, name, args: entry.template.args.map(anonymiser.arg) },
    estimate: { ...entry.estimate, template: name },
  };
}

function sourceOf(
  recording: Recording,
  entries: readonly ModelEntry[],
  skipped: Skipped[],
  buildOptions: string[],
  options: BuildOptions,
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
  const anonymiser = options.anonymiser;
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

function toProfile(name: string, entries: readonly ModelEntry[]): Profile {
  return { name, description: '', templates: entries.map((entry) => entry.template) };
}

/** `capture-<host>` in the characters a profile name allows. */
export function profileNameFor(host: string): string {
  const slug = host
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 55);
  return slug ? `capture-${slug}` : 'capture';
}

function roundPattern(pattern: Pattern, digits: number): Pattern {
  const r = (value: number) => Number(value.toFixed(digits));
  switch (pattern.pattern) {
    case 'steady':
      return { ...pattern, value: r(pattern.value) };
    case 'spiky': {
      const every = Math.max(1, Math.round(pattern.every));
      return {
        ...pattern,
        base: r(pattern.base),
        peak: r(pattern.peak),
        every,
        for: Math.min(every, Math.max(1, Math.round(pattern.for))),
      };
    }
    case 'growing': {
      const start = r(pattern.start);
      return { ...pattern, start, max: Math.max(start, r(pattern.max)), per_minute: r(pattern.per_minute) };
    }
    case 'random': {
      const min = r(pattern.min);
      return {
        ...pattern,
        min,
        max: Math.max(min, r(pattern.max)),
        every: Math.max(1, Math.round(pattern.every)),
      };
    }
    case 'replay':
      return { ...pattern, values: pattern.values.map(r) };
  }
}

function roundQuality(quality: Estimate['cpu']): Estimate['cpu'] {
  const rounded: Estimate['cpu'] = { ...quality, rmse: Number(quality.rmse.toFixed(3)) };
  if (quality.r2 !== undefined) rounded.r2 = Number(quality.r2.toFixed(3));
  return rounded;
}

function round(value: number): string {
  return String(Math.round(value * 100) / 100);
}
