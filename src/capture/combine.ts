/**
 * One pattern for a template from the fits of its processes. A template gives every instance the same
 * pattern, so when several processes share a name their fits are merged:
 * - when one kind of pattern holds at least AGREEMENT of the samples, that kind is kept and its
 *   parameters are averaged over the processes of that kind, weighted by their samples (the time
 *   parameters of spikes: their median);
 * - otherwise the instances disagree, and the template gets a steady or random pattern fitted to all
 *   their samples together (the same rules as one process).
 * Either way the note says how many instances were of which kind and how far they spread.
 */
import type { FitQuality } from '../profiles/provenance.ts';
import type { Pattern } from '../profiles/schema.ts';
import type { PatternFit } from './fit.ts';
import { median, moments } from './stats.ts';

/** Share of the samples one kind must hold for the template to keep it. */
export const AGREEMENT = 2 / 3;

type Kind = Pattern['pattern'];

export interface Member {
  fit: PatternFit;
  /** the samples the fit was made from */
  values: readonly number[];
}

/**
 * The template's pattern from its members' fits.
 * @param fallback fits pooled samples when the members disagree (the single-process estimator)
 */
export function combineFits(
  members: readonly Member[],
  fallback: (values: number[]) => PatternFit,
): PatternFit {
  const withSamples = members.filter((member) => member.values.length > 0);
  if (withSamples.length === 0) return members[0]?.fit ?? fallback([]);
  if (withSamples.length === 1) return (withSamples[0] as Member).fit;
  const weightOf = new Map<Kind, number>();
  for (const member of withSamples) {
    const kind = member.fit.pattern.pattern;
    weightOf.set(kind, (weightOf.get(kind) ?? 0) + member.values.length);
  }
  const total = withSamples.reduce((sum, member) => sum + member.values.length, 0);
  const [kind, weight] = [...weightOf].sort((a, b) => b[1] - a[1])[0] as [Kind, number];
  const tally = [...weightOf.keys()]
    .map((k) => `${withSamples.filter((m) => m.fit.pattern.pattern === k).length} ${k}`)
    .join(', ');
  if (weight < AGREEMENT * total) {
    const pooled = fallback(withSamples.flatMap((member) => [...member.values]));
    return {
      ...pooled,
      notes: [...pooled.notes, `instances disagree (${tally}): fitted to all their samples`],
    };
  }
  const agreeing = withSamples.filter((member) => member.fit.pattern.pattern === kind);
  const pattern = mergePatterns(
    agreeing.map((member) => member.fit.pattern),
    agreeing.map((member) => member.values.length),
  );
  const spread = describeSpread(agreeing.map((member) => member.fit.pattern));
  // Said only when there is something to say: instances that differ in kind or in their numbers.
  const notes = [
    ...(weightOf.size > 1 || spread
      ? [`${withSamples.length} instances (${tally})${spread ? `; ${spread}` : ''}: parameters averaged`]
      : []),
    ...new Set(agreeing.flatMap((member) => member.fit.notes)),
  ];
  return { pattern, quality: pooledQuality(agreeing), notes };
}

/** The samples-weighted root mean square of the members' own fit errors. */
function pooledQuality(members: readonly Member[]): FitQuality {
  const samples = members.reduce((sum, member) => sum + member.fit.quality.samples, 0);
  const weighted = (pick: (q: FitQuality) => number) =>
    members.reduce((sum, member) => sum + member.fit.quality.samples * pick(member.fit.quality), 0) /
    Math.max(1, samples);
  const first = (members[0] as Member).fit.quality;
  const quality: FitQuality = {
    pattern: first.pattern,
    samples,
    rmse: Math.sqrt(weighted((q) => q.rmse ** 2)),
  };
  if (members.every((member) => member.fit.quality.r2 !== undefined)) quality.r2 = weighted((q) => q.r2 ?? 0);
  return quality;
}

/** Patterns of one kind averaged, weighted by `weights`. */
export function mergePatterns(patterns: readonly Pattern[], weights: readonly number[]): Pattern {
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  const mean = (pick: (p: Pattern) => number) =>
    patterns.reduce((sum, p, i) => sum + pick(p) * (weights[i] ?? 0), 0) / total;
  const first = patterns[0] as Pattern;
  switch (first.pattern) {
    case 'steady':
      return { pattern: 'steady', value: mean((p) => (p as typeof first).value) };
    case 'spiky': {
      const spiky = patterns as Extract<Pattern, { pattern: 'spiky' }>[];
      const every = median(spiky.map((p) => p.every));
      return {
        pattern: 'spiky',
        base: mean((p) => (p as typeof first).base),
        peak: mean((p) => (p as typeof first).peak),
        every,
        for: Math.min(every, median(spiky.map((p) => p.for))),
      };
    }
    case 'growing':
      return {
        pattern: 'growing',
        start: mean((p) => (p as typeof first).start),
        max: mean((p) => (p as typeof first).max),
        per_minute: mean((p) => (p as typeof first).per_minute),
        reset: false,
      };
    case 'random':
      return {
        pattern: 'random',
        min: mean((p) => (p as typeof first).min),
        max: mean((p) => (p as typeof first).max),
        every: first.every,
      };
    case 'replay':
      return first;
  }
}

/** "values 3.1-7.9" for steady members, "peaks 20-31" for spiky ones...; '' when they agree. */
function describeSpread(patterns: readonly Pattern[]): string {
  const first = patterns[0];
  if (!first || patterns.length < 2) return '';
  const range = (label: string, values: number[]) => {
    const { min, max } = moments(values);
    // A spread that rounds away is no spread worth a note.
    return round(max) !== round(min) ? `${label} ${round(min)}-${round(max)}` : '';
  };
  switch (first.pattern) {
    case 'steady':
      return range(
        'values',
        patterns.map((p) => (p as typeof first).value),
      );
    case 'spiky':
      return range(
        'peaks',
        patterns.map((p) => (p as typeof first).peak),
      );
    case 'growing':
      return range(
        'growth per minute',
        patterns.map((p) => (p as typeof first).per_minute),
      );
    case 'random':
      return range(
        'maxima',
        patterns.map((p) => (p as typeof first).max),
      );
    case 'replay':
      return '';
  }
}

function round(value: number): string {
  return String(Math.round(value * 100) / 100);
}
