/**
 * The flags of `capture`, parsed apart from the other commands': they are not environment variables
 * and several repeat (--name, --user ...). Every bad value is refused before anything is recorded,
 * naming the flag, the value and the limit.
 */
import { parseArgs } from 'node:util';
import type { FilterSpec } from '../capture/filter.ts';
import { formatDuration, parseDuration } from '../profiles/units.ts';
import { ValidationError } from '../profiles/validation-error.ts';
import { UsageError } from './args.ts';

/** Longest recording: a day. */
export const MAX_CAPTURE_MS = 86_400_000;
/** Shortest interval: reading a large process table takes tens of milliseconds. */
export const MIN_INTERVAL_MS = 100;
/** Most readings in one recording (each costs ~100 bytes per recorded process in memory). */
export const MAX_READINGS = 10_000;

export interface CaptureArgs {
  help: boolean;
  durationMs: number;
  intervalMs: number;
  out: string | undefined;
  force: boolean;
  filter: FilterSpec;
  anonymise: boolean;
  salt: string | undefined;
  nameMap: string | undefined;
  scale: number | undefined;
  top: { n: number; by: 'cpu' | 'memory' } | undefined;
  priorities: string | undefined;
  keepSamples: boolean;
  fromSamples: string | undefined;
  profileName: string | undefined;
}

const OPTIONS = {
  for: { type: 'string' },
  interval: { type: 'string' },
  out: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
  name: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  user: { type: 'string', multiple: true },
  cgroup: { type: 'string', multiple: true },
  anonymise: { type: 'boolean' },
  salt: { type: 'string' },
  'name-map': { type: 'string' },
  scale: { type: 'string' },
  top: { type: 'string' },
  by: { type: 'string' },
  priorities: { type: 'string' },
  'keep-samples': { type: 'boolean' },
  'from-samples': { type: 'string' },
  'profile-name': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * @param argv the arguments after `capture`
 * @throws UsageError for an unknown flag or a combination that makes no sense; ValidationError for a
 *   bad value
 */
export function parseCaptureArgs(argv: readonly string[]): CaptureArgs {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  }
  const issues: Array<{ path: string; message: string; value?: unknown }> = [];
  const check = <T>(flag: string, text: string | undefined, fallback: T, parse: (text: string) => T): T => {
    if (text === undefined) return fallback;
    try {
      return parse(text);
    } catch (error) {
      issues.push({ path: `--${flag}`, value: text, message: (error as Error).message });
      return fallback;
    }
  };
  const durationMs = check('for', v.for, 600_000, (text) => {
    const ms = parseDuration(text);
    if (ms <= 0 || ms > MAX_CAPTURE_MS)
      throw new Error(`expected a duration > 0 and at most ${formatDuration(MAX_CAPTURE_MS)}`);
    return ms;
  });
  const intervalMs = check('interval', v.interval, 5000, (text) => {
    const ms = parseDuration(text);
    if (ms < MIN_INTERVAL_MS) throw new Error(`expected at least ${MIN_INTERVAL_MS}ms`);
    return ms;
  });
  if (!v['from-samples'] && issues.length === 0) {
    if (intervalMs > durationMs) {
      issues.push({
        path: '--interval',
        value: v.interval,
        message: `expected at most --for (${formatDuration(durationMs)})`,
      });
    } else if (Math.floor(durationMs / intervalMs) + 1 > MAX_READINGS) {
      issues.push({
        path: '--for',
        value: v.for ?? '10m',
        message: `${Math.floor(durationMs / intervalMs) + 1} readings at --interval ${formatDuration(intervalMs)}; at most ${MAX_READINGS}: record for less time or less often`,
      });
    }
  }
  const scale = check('scale', v.scale, undefined, (text) => {
    const value = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || value <= 0 || value > 100)
      throw new Error('expected a number > 0 and at most 100');
    return value;
  });
  const topN = check('top', v.top, undefined, (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1 || value > 1000)
      throw new Error('expected an integer from 1 to 1000');
    return value;
  });
  const by = check('by', v.by, 'memory' as const, (text) => {
    if (text !== 'cpu' && text !== 'memory') throw new Error('expected cpu or memory');
    return text;
  });
  const profileName = check('profile-name', v['profile-name'], undefined, (text) => {
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(text))
      throw new Error('lower-case letters, digits and -, at most 64');
    return text;
  });
  const names = [...(v.name ?? []), ...(v.exclude ?? [])];
  for (const name of names) {
    if (name.length === 0 || name.length > 64) {
      issues.push({
        path: v.name?.includes(name) ? '--name' : '--exclude',
        value: name,
        message: 'a name pattern of 1 to 64 characters',
      });
    }
  }
  if (issues.length) throw new ValidationError('capture options', issues);

  if (v.by !== undefined && topN === undefined) throw new UsageError('--by goes with --top N');
  if (v.salt !== undefined && !v.anonymise && !v['name-map'])
    throw new UsageError('--salt goes with --anonymise or --name-map');
  if (v['keep-samples'] && !v.out)
    throw new UsageError('--keep-samples needs --out FILE: the samples are written beside it');
  if (v['from-samples']) {
    const recordingFlags = ['for', 'interval', 'name', 'exclude', 'user', 'cgroup'].filter(
      (flag) => v[flag as keyof typeof v] !== undefined,
    );
    if (recordingFlags.length) {
      throw new UsageError(
        `--from-samples fits a recording again: --${recordingFlags[0]} applies only while recording`,
      );
    }
  }
  return {
    help: v.help === true,
    durationMs,
    intervalMs,
    out: v.out,
    force: v.force === true,
    filter: { names: v.name ?? [], exclude: v.exclude ?? [], users: v.user ?? [], cgroups: v.cgroup ?? [] },
    anonymise: v.anonymise === true || v['name-map'] !== undefined,
    salt: v.salt,
    nameMap: v['name-map'],
    scale,
    top: topN === undefined ? undefined : { n: topN, by },
    priorities: v.priorities,
    keepSamples: v['keep-samples'] === true,
    fromSamples: v['from-samples'],
    profileName,
  };
}
