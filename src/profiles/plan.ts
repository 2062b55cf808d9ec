/**
 * Expands a profile into the concrete processes a run starts: names, priorities, patterns and lifetimes,
 * all derived from the seed. Pure: the engine spawns what this returns, the `plan` command prints it.
 */
import { unitRandom } from './random.ts';
import { expandName, type Priority, type Profile, type Template } from './schema.ts';

/** One process slot of a run: instance `index` of template `templateIndex`. */
export interface PlannedProcess {
  templateIndex: number;
  /** 1-based within its template */
  index: number;
  template: Template;
  priority: Priority;
  /** name of generation 0 */
  name: string;
}

/**
 * Scales the template counts so that they add up to `total` (largest remainder), keeping proportions.
 * Templates with count 0 stay at 0. Returns a new profile.
 */
export function scaleProfile(profile: Profile, total: number | undefined): Profile {
  if (total === undefined) return profile;
  const current = profile.templates.reduce((sum, t) => sum + t.count, 0);
  if (current === 0 || current === total) return profile;
  // In integers (c x T is a safe integer: counts and totals are bounded far below 2^26): the same
  // floors and remainders as the chart's _demand.tpl, which must find the same counts. Remainders in
  // floating point could order two equal ones differently (1/3 is not the same double after 0 and 1).
  const products = profile.templates.map((t) => t.count * total);
  const counts = products.map((product) => (product - (product % current)) / current);
  let missing = total - counts.reduce((a, b) => a + b, 0);
  const order = products
    .map((product, i) => ({ i, rest: product % current }))
    .sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (missing <= 0) break;
    counts[i] = (counts[i] as number) + 1;
    missing--;
  }
  // Every kind of process keeps at least one instance when the total allows it: a small run of the
  // churn profile still has its (critical) scheduler.
  const wanted = profile.templates.map((t) => t.count > 0);
  if (total >= wanted.filter(Boolean).length) {
    for (let i = 0; i < counts.length; i++) {
      if (!wanted[i] || (counts[i] as number) > 0) continue;
      const donor = counts.indexOf(Math.max(...counts));
      counts[donor] = (counts[donor] as number) - 1;
      counts[i] = 1;
    }
  }
  return { ...profile, templates: profile.templates.map((t, i) => ({ ...t, count: counts[i] as number })) };
}

/** One slice of a run spread over several simulators: shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** The whole run, unsharded. */
export const WHOLE_RUN: Shard = { index: 0, count: 1 };

/**
 * The processes of a run, in a stable order (template by template, instance by instance). With a shard,
 * only that shard's: the whole run's processes are dealt round-robin (process j to shard j mod count),
 * so every shard gets its share of every kind, the shards' sizes differ by at most one and add up to the
 * whole run exactly, and each process keeps its instance number in the whole run: `api-{i}` names are
 * unique over all shards, and a process's pattern phases and lifetimes (seeded by its instance) are the
 * same whatever the number of shards.
 */
export function planProcesses(profile: Profile, shard: Shard = WHOLE_RUN): PlannedProcess[] {
  const planned: PlannedProcess[] = [];
  let position = 0;
  profile.templates.forEach((template, templateIndex) => {
    for (let index = 1; index <= template.count; index++, position++) {
      if (position % shard.count !== shard.index) continue;
      planned.push({
        templateIndex,
        index,
        template,
        priority: template.priority,
        name: expandName(template.name, index, 0),
      });
    }
  });
  return planned;
}

/** The profile as one shard holds it: each template's count is that shard's share of it. */
export function shardProfile(profile: Profile, shard: Shard): Profile {
  if (shard.count === 1) return profile;
  let position = 0;
  const templates = profile.templates.map((template) => {
    // Positions position..position+count-1 belong to this template; count those with p % n === index.
    const first = position;
    position += template.count;
    const upTo = (end: number) => Math.floor((end - shard.index + shard.count - 1) / shard.count);
    const count = Math.max(0, upTo(position) - upTo(first));
    return { ...template, count };
  });
  return { ...profile, templates };
}

/** Key that identifies one generation of one process slot in a seeded run. */
export function processSeedKey(
  seed: number,
  templateIndex: number,
  index: number,
  generation: number,
): string {
  return `${seed}/${templateIndex}/${index}/${generation}`;
}

/** Lifetime in ms of one generation of a process slot, or undefined when it lives until stopped. */
export function lifetimeOf(template: Template, seedKey: string): number | undefined {
  if (!template.lifetime) return undefined;
  const { min, max } = template.lifetime;
  return Math.round(min + unitRandom(seedKey, 'lifetime') * (max - min));
}
