/**
 * Writing what a capture made: a profile as YAML in the form a user writes it (durations as "4s" or
 * "250ms", recorded values on one line each), preceded by a comment saying where it came from; the
 * samples as JSON. Files are created exclusively (an existing file or link at the path is an error), or
 * with --force written beside it and renamed over it, so a link planted at the path is replaced, never
 * followed.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Document, isScalar, visit } from 'yaml';
import { MAX_PROFILE_FILE_BYTES } from '../config/defaults.ts';
import { validateProfile } from '../profiles/load.ts';
import {
  MAX_REPLAY_POINTS,
  type Pattern,
  type Profile,
  type ProfileInput,
  type Template,
} from '../profiles/schema.ts';
import { formatDuration } from '../profiles/units.ts';

/** "4s" for whole seconds, "250ms" otherwise: exact, and what a user would write. */
export function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function patternInput(pattern: Pattern): unknown {
  switch (pattern.pattern) {
    case 'steady':
      return pattern.value;
    case 'spiky':
      return { ...pattern, every: durationText(pattern.every), for: durationText(pattern.for) };
    case 'growing':
      return pattern.reset
        ? pattern
        : { pattern: 'growing', start: pattern.start, max: pattern.max, per_minute: pattern.per_minute };
    case 'random':
      return { ...pattern, every: durationText(pattern.every) };
    case 'replay':
      return { ...pattern, every: durationText(pattern.every) };
  }
}

function templateInput(template: Template): Record<string, unknown> {
  const input: Record<string, unknown> = {
    name: template.name,
    count: template.count,
    priority: template.priority,
    cpu: patternInput(template.cpu),
    memory: patternInput(template.memory),
    threads: template.threads,
    fds: template.fds,
  };
  if (template.args.length) input.args = template.args;
  if (template.lifetime) {
    input.lifetime = { min: durationText(template.lifetime.min), max: durationText(template.lifetime.max) };
    input.restart = template.restart;
    input.restart_delay = durationText(template.restart_delay);
  }
  return input;
}

/** The profile as a user would write it (durations as text, defaults left out). */
export function profileInput(profile: Profile): ProfileInput {
  const input: Record<string, unknown> = {
    name: profile.name,
    description: profile.description,
    templates: profile.templates.map(templateInput),
  };
  if (profile.chaos) input.chaos = profile.chaos;
  if (profile.source) input.source = profile.source;
  return input as ProfileInput;
}

/**
 * The profile as YAML, checked against the schema first: a capture never writes a profile that
 * `run` would refuse. @throws ValidationError if it would
 */
export function profileYaml(profile: Profile, header: string): string {
  const input = profileInput(profile);
  validateProfile(input, `captured profile ${profile.name}`);
  const doc = new Document(input);
  // Lists of numbers (recorded values) on one line; everything else in block style.
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => isScalar(item) && typeof item.value === 'number')) node.flow = true;
    },
  });
  doc.commentBefore = header;
  return doc.toString({ lineWidth: 0 });
}

/** Thrown when a profile cannot be written within what `run -f` reads (MAX_PROFILE_FILE_BYTES). */
export class ProfileTooLarge extends Error {
  override readonly name = 'ProfileTooLarge';
}

const LIMIT_TEXT = `${MAX_PROFILE_FILE_BYTES / 2 ** 20} MiB`;

/**
 * The fitted profile as YAML within the profile-file limit, so `run -f` reads what capture wrote. Its
 * estimates' notes are the first to go (and a note says so); the templates never are.
 * @throws ProfileTooLarge when even without them it is too large
 */
export function fittedProfileYaml(profile: Profile, header: string): string {
  const estimate = JSON.stringify(profileInput(profile)).length;
  const text = estimate > 1.25 * MAX_PROFILE_FILE_BYTES ? undefined : profileYaml(profile, header);
  if (text !== undefined && Buffer.byteLength(text) <= MAX_PROFILE_FILE_BYTES) return text;
  const source = profile.source;
  if (source) {
    const lean: Profile = {
      ...profile,
      source: {
        ...source,
        estimates: source.estimates.map((estimate) => ({ ...estimate, notes: [] })),
        notes: [
          ...source.notes,
          `the estimates' notes are left out: a profile file holds at most ${LIMIT_TEXT}`,
        ].slice(-32),
      },
    };
    const leaner = profileYaml(lean, header);
    if (Buffer.byteLength(leaner) <= MAX_PROFILE_FILE_BYTES) return leaner;
  }
  const size = text === undefined ? `about ${estimate}` : String(Buffer.byteLength(text));
  throw new ProfileTooLarge(
    `the profile takes ${size} bytes, more than a profile file holds (${LIMIT_TEXT}): keep fewer names with --top N, --name or --user`,
  );
}

/**
 * The replay profile as YAML within the profile-file limit: when the readings do not fit, `build` is
 * asked again for fewer values per pattern (readings averaged in blocks), until they do.
 * @throws ProfileTooLarge when not even one value per pattern fits
 */
export function replayProfileYaml(build: (maxValues: number) => Profile, header: string): string {
  let maxValues = MAX_REPLAY_POINTS;
  for (;;) {
    const profile = build(maxValues);
    // Compact JSON is never much larger than the YAML: far over the limit, it says so in a fraction of
    // the time the YAML takes to write (seconds for a few MB).
    const estimate = JSON.stringify(profileInput(profile)).length;
    const text = estimate > 1.25 * MAX_PROFILE_FILE_BYTES ? undefined : profileYaml(profile, header);
    const size = text === undefined ? estimate : Buffer.byteLength(text);
    if (text !== undefined && size <= MAX_PROFILE_FILE_BYTES) return text;
    const longest = profile.templates.reduce(
      (most, t) =>
        Math.max(
          most,
          t.cpu.pattern === 'replay' ? t.cpu.values.length : 0,
          t.memory.pattern === 'replay' ? t.memory.values.length : 0,
        ),
      0,
    );
    // Shrink in proportion, with a margin for what does not shrink (names, estimates).
    const next = Math.floor((Math.min(maxValues, longest) * 0.9 * MAX_PROFILE_FILE_BYTES) / size);
    if (longest <= 1 || next >= maxValues) {
      throw new ProfileTooLarge(
        `the replay profile takes ${text === undefined ? 'about ' : ''}${size} bytes with ${longest} values per pattern, more than a profile file holds (${LIMIT_TEXT}): keep fewer names with --top N, --name or --user`,
      );
    }
    maxValues = Math.max(1, next);
  }
}

/** The comment at the top of a captured profile. */
export function headerFor(profile: Profile, what: string): string {
  const source = profile.source;
  if (!source) return ` ${what}`;
  const span = Date.parse(source.to) - Date.parse(source.from);
  return [
    ` ${what}`,
    ` Captured by process-simulator from ${source.host} (kernel ${source.kernel}),`,
    ` ${source.from} to ${source.to} (${formatDuration(span)}), ${source.samples} readings every ${formatDuration(source.interval_ms)}.`,
    ' `source` below says what was left out and how well each pattern fits the readings;',
    ' `process-simulator plan -f THIS_FILE` shows it with the processes a run starts.',
  ].join('\n');
}

/**
 * Writes `text` to `path`: exclusively, or with `force` through a new file beside it renamed over it.
 * @throws Error naming the path (EEXIST says to pass --force)
 */
export function writeOutput(
  path: string,
  text: string,
  options: { force?: boolean; mode?: number } = {},
): void {
  const mode = options.mode ?? 0o644;
  if (!options.force) {
    try {
      writeNew(path, text, mode);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const hint = code === 'EEXIST' ? ' (it exists; --force replaces it)' : '';
      throw new Error(`cannot write ${path}: ${(error as Error).message}${hint}`, { cause: error });
    }
    return;
  }
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeNew(temporary, text, mode);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new Error(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function writeNew(path: string, text: string, mode: number): void {
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    mode,
  );
  try {
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
  } finally {
    closeSync(fd);
  }
}
