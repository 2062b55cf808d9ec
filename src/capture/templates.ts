/**
 * The templates of one name: one per behaviour among the processes that ran throughout, one for those
 * that came and went. Their patterns come from the processes' fits (combine.ts), capped where a
 * simulated process cannot follow (one core), rounded to what a profile file shows, and each comes
 * with its estimate: how well the patterns fit and what was decided on the way.
 */
import { meanOf } from '../profiles/demand.ts';
import { peakOf } from '../profiles/patterns.ts';
import type { Estimate } from '../profiles/provenance.ts';
import type { Pattern, Priority, Template } from '../profiles/schema.ts';
import { formatDuration } from '../profiles/units.ts';
import { fitChurn } from './churn.ts';
import { combineFits, type Member } from './combine.ts';
import { fitPooledCpu, fitPooledMemory, type PatternFit } from './fit.ts';
import type { NameGroup, ProcessFacts } from './group.ts';
import { argsProblem } from './holdable.ts';
import { defaultPriority, type PriorityRule, rulePriority } from './priority.ts';
import type { Recording } from './recording.ts';
import { moments } from './stats.ts';

/** One template of the capture and what it was made from. */
export interface ModelEntry {
  /** recorded name */
  recordedName: string;
  kind: 'stable' | 'churn';
  members: ProcessFacts[];
  template: Template;
  estimate: Estimate;
}

/** The stable and churn templates of one name. */
export function entriesOf(
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
    const list = byKind.get(kind);
    if (list) list.push(facts);
    else byKind.set(kind, [facts]);
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
        // Not the name itself: the note must not give away a name that --anonymise replaces.
        `${byKind.size} templates for this name, one per behaviour: ${[...byKind].map(([kind, list]) => `${list.length} with CPU/memory ${kind}`).join(', ')}`,
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
