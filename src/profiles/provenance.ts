/**
 * The `source` block of a captured profile: which host and time window it was recorded from, what was
 * left out and why, and how well each fitted pattern describes the samples behind it. The engine never
 * reads it; `plan` shows it, so a reader can judge a profile before running it.
 */
import { z } from 'zod';

const count = z.number().int().min(0);
const text = (max: number) => z.string().max(max);

/** How well one fitted pattern matches the recorded samples it was fitted to. */
export const fitQualitySchema = z.strictObject({
  pattern: z.enum(['steady', 'spiky', 'growing', 'random', 'replay']),
  /** samples the pattern was fitted to, over every process of the template */
  samples: count,
  /** root-mean-square distance between the pattern and the samples, in the pattern's unit (% or MiB) */
  rmse: z.number().finite().min(0),
  /** share of the samples' variance the pattern explains (1 = all of it); for spiky and growing only */
  r2: z.number().finite().max(1).optional(),
});
export type FitQuality = z.output<typeof fitQualitySchema>;

/** What was estimated for one template, and how well. */
export const estimateSchema = z.strictObject({
  template: text(64),
  /** recorded processes behind the template */
  processes: count,
  cpu: fitQualitySchema,
  memory: fitQualitySchema,
  /** for a template of processes that came and went: what their lifetimes and churn were */
  lifetime: text(300).optional(),
  notes: z.array(text(300)).max(16).default([]),
});
export type Estimate = z.output<typeof estimateSchema>;

/** Processes of one name left out of the profile, with the reason. */
export const skippedSchema = z.strictObject({
  name: text(64),
  processes: count,
  reason: text(300),
});
export type Skipped = z.output<typeof skippedSchema>;

export const sourceSchema = z.strictObject({
  kind: z.literal('capture'),
  /** host name of the recorded machine (hashed when the capture was anonymised) */
  host: text(255),
  /** kernel release of the recorded machine */
  kernel: text(255),
  /** start and end of the recording, ISO 8601 */
  from: text(40),
  to: text(40),
  interval_ms: z.number().int().min(1),
  /** readings of the whole process table */
  samples: count,
  /** filters and options the capture ran with, as the command line gave them */
  options: z.array(text(300)).max(32).default([]),
  skipped: z.array(skippedSchema).max(1000).default([]),
  estimates: z.array(estimateSchema).max(1000).default([]),
  /** facts about the recording as a whole (processes too short-lived to be seen, ...) */
  notes: z.array(text(300)).max(32).default([]),
});
export type Source = z.output<typeof sourceSchema>;
export type SourceInput = z.input<typeof sourceSchema>;
