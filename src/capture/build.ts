/**
 * From a recording to a profile: one template per name for the processes that ran throughout (one per
 * behaviour when they differ: a spiky master beside steady workers), one more for those that came and
 * went, each with its count, priority, threads, fds, command line and fitted CPU and memory patterns;
 * then, as asked, the top N names, a scale and new names. The profile's `source` says where it came
 * from, what was left out and how well each pattern fits.
 */
import { meanOf } from '../profiles/demand.ts';
import { scaleProfile } from '../profiles/plan.ts';
import type { Source } from '../profiles/provenance.ts';
import type { Profile } from '../profiles/schema.ts';
import { formatDuration } from '../profiles/units.ts';
import type { Anonymiser } from './anonymise.ts';
import { groupProcesses } from './group.ts';
import type { PriorityRule } from './priority.ts';
import { type Recording, recordingWindow } from './recording.ts';
import { sourceOf } from './source.ts';
import { entriesOf, type ModelEntry } from './templates.ts';

export type { ModelEntry } from './templates.ts';

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
  const source = sourceOf(recording, entries, skipped, buildOptions, options.anonymiser);
  const name = options.profileName ?? profileNameFor(source.host);
  const profile: Profile = {
    ...toProfile(name, entries),
    description: `Captured from ${source.host} over ${formatDuration(windowMs)} ending ${source.to}.`,
    source,
  };
  return { profile, entries, source };
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
