/**
 * A recording: what `capture` read from /proc, reading by reading, before anything was fitted. It is
 * the samples file `--keep-samples` writes (JSON) and `--from-samples` reads back, so a recording can
 * be fitted again with other options without recording again. Read back through a zod schema: the file
 * may have been edited or may come from another machine.
 */
import { z } from 'zod';
import { MAX_NESTING_DEPTH } from '../config/defaults.ts';
import { JsonInputError, parseStrictJson } from '../json/strict-parse.ts';
import { readUserFile } from '../profiles/read-file.ts';
import { ValidationError } from '../profiles/validation-error.ts';

export const RECORDING_FORMAT = 'process-simulator-recording';

/** Largest samples file read back: a day at 10 s of 2,000 processes, with room to spare. */
export const MAX_SAMPLES_FILE_BYTES = 512 * 2 ** 20;

/** Names of the skipped groups that are not process names (and are never anonymised). */
export const KERNEL_THREADS = 'kernel threads';
export const THE_CAPTURE_ITSELF = 'the capture itself';
export const SKIP_LABELS: ReadonlySet<string> = new Set([KERNEL_THREADS, THE_CAPTURE_ITSELF]);

/** One reading of one process: [reading index, time (epoch ms), CPU seconds, RSS bytes, threads, fds]. */
export type Point = [
  reading: number,
  timeMs: number,
  cpuSeconds: number,
  rssBytes: number,
  threads: number,
  fds: number,
];

const count = z.number().int().min(0);
const finite = z.number().finite();

const pointSchema = z.tuple([count, finite, finite.min(0), finite.min(0), count, count]);

const processSchema = z.strictObject({
  pid: z.number().int().min(1),
  ppid: count,
  /** the comm, as /proc/PID/stat shows it */
  name: z.string().max(64),
  owner: z.string().max(256),
  executable: z.string().max(4096),
  /** the command line after argv[0] */
  args: z.array(z.string().max(65_536)).max(4096),
  /** the cgroup v2 path (or the first v1 hierarchy's) */
  cgroup: z.string().max(4096),
  startTimeMs: finite,
  points: z.array(pointSchema).min(1).max(1_000_000),
});
export type RecordedProcess = z.output<typeof processSchema>;

const skippedSchema = z.strictObject({
  name: z.string().max(64),
  processes: count,
  reason: z.string().max(300),
});

export const recordingSchema = z.strictObject({
  format: z.literal(RECORDING_FORMAT),
  version: z.literal(1),
  host: z.string().max(255),
  kernel: z.string().max(255),
  clockTicks: z.number().int().min(1),
  /** the interval asked for; readings may lag it a little */
  intervalMs: z.number().int().min(1),
  /** time of each reading of the whole process table (epoch ms) */
  readings: z.array(finite).min(1).max(1_000_000),
  /** the filters and options of the recording, as given */
  options: z.array(z.string().max(300)).max(32),
  /** tasks (processes and threads) the kernel created during the recording, from /proc/stat */
  tasksCreated: count.optional(),
  processes: z.array(processSchema).max(1_000_000),
  /** processes not recorded, by name and reason (kernel threads, the capture itself) */
  skipped: z.array(skippedSchema).max(100_000),
});
export type Recording = z.output<typeof recordingSchema>;

/** Start and end of a recording (its first and last reading), epoch ms. */
export function recordingWindow(recording: Recording): { fromMs: number; toMs: number } {
  return { fromMs: recording.readings[0] as number, toMs: recording.readings.at(-1) as number };
}

/**
 * Reads a samples file written by `capture --keep-samples`.
 * @throws ValidationError naming the file: unreadable, not a regular file, too large, not strict JSON
 *   (a key given twice), or a bad field with its value
 */
export function loadRecording(path: string): Recording {
  const what = `samples file ${path}`;
  const text = readUserFile(path, {
    limitBytes: MAX_SAMPLES_FILE_BYTES,
    kind: 'samples files',
    fail: (problem) => new ValidationError(what, [{ path: '', message: problem }], `${what} ${problem}`),
  });
  let data: unknown;
  try {
    data = parseStrictJson(text, MAX_NESTING_DEPTH);
  } catch (error) {
    if (!(error instanceof JsonInputError)) throw error;
    const problem = `is not a samples file: ${error.message}`;
    throw new ValidationError(what, [{ path: '', message: problem }], `${what} ${problem}`);
  }
  const result = recordingSchema.safeParse(data, { reportInput: true });
  if (!result.success) throw ValidationError.fromZod(`samples file ${path}`, result.error);
  const recording = result.data;
  for (const [i, process] of recording.processes.entries()) {
    for (const [j, point] of process.points.entries()) {
      if (point[0] >= recording.readings.length) {
        throw new ValidationError(`samples file ${path}`, [
          {
            path: `processes.${i}.points.${j}.0`,
            value: point[0],
            message: `a reading index below ${recording.readings.length} (the readings recorded)`,
          },
        ]);
      }
    }
  }
  return recording;
}
