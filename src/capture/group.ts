/**
 * From a recording to groups of processes, one per name: the processes that ran from the first reading
 * to the last (stable), and those that came and went (churn). Each process is fitted on its own first
 * and checked against what a simulated process can hold; one that cannot be held is left out and
 * counted under its name with the reason.
 */
import { peakOf } from '../profiles/patterns.ts';
import type { Skipped } from '../profiles/provenance.ts';
import { fitCpu, fitMemory, type PatternFit, type Series } from './fit.ts';
import { countsProblem, cpuProblem, memoryProblem, nameProblem } from './holdable.ts';
import type { RecordedProcess, Recording } from './recording.ts';
import { cpuSeries, heldCounts, memorySeries, type Presence, presenceOf } from './series.ts';
import { moments } from './stats.ts';

/** One recorded process with its series and fits. */
export interface ProcessFacts {
  process: RecordedProcess;
  presence: Presence;
  cpu: Series;
  memory: Series;
  cpuFit: PatternFit;
  memoryFit: PatternFit;
  threads: number;
  fds: number;
}

export interface NameGroup {
  /** the recorded name */
  name: string;
  /** alive from the first reading to the last, plus those that started and stayed when none exited */
  stable: ProcessFacts[];
  /** came and went: set when at least one exited during the recording */
  churn: ProcessFacts[];
}

export interface Grouping {
  groups: NameGroup[];
  skipped: Skipped[];
}

/**
 * Groups the recording's processes by name.
 * @param renamed names will be replaced (anonymised), so a name a profile cannot hold is no reason to skip
 */
export function groupProcesses(recording: Recording, renamed: boolean): Grouping {
  const byName = new Map<string, ProcessFacts[]>();
  const skips = new Map<string, Skipped>();
  const skip = (name: string, category: string, reason: string) => {
    const key = `${name}\u0000${category}`;
    const entry = skips.get(key) ?? { name: printable(name), processes: 0, reason };
    entry.processes++;
    skips.set(key, entry);
  };
  for (const process of recording.processes) {
    const nameIssue = renamed ? undefined : nameProblem(process.name);
    if (nameIssue) {
      skip(process.name, 'name', nameIssue);
      continue;
    }
    const facts = factsOf(process, recording);
    const problem =
      countsProblem(facts.threads, facts.fds) ??
      cpuProblem(moments(facts.cpu.v).mean) ??
      memoryProblem(peakOf(facts.memoryFit.pattern));
    if (problem) {
      skip(process.name, problem.replace(/^[\d.]+ /, ''), problem);
      continue;
    }
    const list = byName.get(process.name) ?? [];
    list.push(facts);
    byName.set(process.name, list);
  }
  const groups = [...byName].map(([name, list]) => splitGroup(name, list));
  return { groups, skipped: [...skips.values()] };
}

function factsOf(process: RecordedProcess, recording: Recording): ProcessFacts {
  const cpu = cpuSeries(process);
  const memory = memorySeries(process);
  const { threads, fds } = heldCounts(process);
  return {
    process,
    presence: presenceOf(process, recording),
    cpu,
    memory,
    cpuFit: fitCpu(cpu, recording.intervalMs, recording.clockTicks),
    memoryFit: fitMemory(memory, recording.intervalMs),
    threads,
    fds,
  };
}

function splitGroup(name: string, list: ProcessFacts[]): NameGroup {
  const throughout = list.filter((f) => f.presence.atStart && f.presence.atEnd);
  const rest = list.filter((f) => !(f.presence.atStart && f.presence.atEnd));
  const exited = rest.some((f) => f.presence.exitedDuring);
  if (exited) return { name, stable: throughout, churn: rest };
  // Nothing left: the newcomers are more of the same, not churn.
  return { name, stable: list, churn: [] };
}

/** A name as a report can show it: control characters escaped, at most 64 characters. */
function printable(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  return name.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1)).slice(0, 64);
}
