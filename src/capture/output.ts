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
import { validateProfile } from '../profiles/load.ts';
import type { Pattern, Profile, ProfileInput, Template } from '../profiles/schema.ts';
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
