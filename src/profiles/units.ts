/**
 * Parsing of the human units used in profiles, env vars and API requests: durations ("90s", "10m",
 * "1h30m", "500ms") and byte sizes ("512KiB", "10MB", "1.5GiB"). Errors name what was given (cut short).
 */
import { describeValue } from '../json/excerpt.ts';

/**
 * The longest duration anything here may last, in ms: 2^31-1, the longest a Node timer waits (about
 * 24.8 days). Longer ones would fire at once, so they are refused at the door.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Milliseconds in a duration string such as "90s", "10m", "1h30m", "250ms". A bare number is seconds.
 * @throws Error naming the text when it is not a duration or is negative
 */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`expected a duration >= 0 seconds, got ${text}`);
    return Math.round(text * 1000);
  }
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let matched = 0;
  while (DURATION_PART.lastIndex < trimmed.length) {
    const start = DURATION_PART.lastIndex;
    const part = DURATION_PART.exec(trimmed);
    if (!part || part.index !== start) break;
    total += Number(part[1]) * (DURATION_UNITS_MS[part[2] as string] as number);
    matched = DURATION_PART.lastIndex;
  }
  if (matched === 0 || matched !== trimmed.length) {
    throw new Error(`expected a duration like "90s", "10m", "1h" or "250ms", got ${describeValue(text)}`);
  }
  return Math.round(total);
}

/** "1m30s"-style text for a duration in milliseconds (for logs and the API). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let seconds = Math.round(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  return `${hours ? `${hours}h` : ''}${minutes ? `${minutes}m` : ''}${seconds || (!hours && !minutes) ? `${seconds}s` : ''}`;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

/**
 * Bytes in a size string such as "512KiB", "10MB", "1.5GiB", "64M". A bare number is bytes.
 * @throws Error naming the text when it is not a size
 */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`expected a size >= 0 bytes, got ${text}`);
    return Math.round(text);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const factor = match ? SIZE_UNITS[(match[2] || 'b').toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new Error(`expected a size like "512KiB", "10MB" or "1GiB", got ${describeValue(text)}`);
  }
  return Math.round(Number(match[1]) * factor);
}

/**
 * Bytes per second in a rate such as "10MB/min", "1MiB/s", "100MB/h".
 * @throws Error naming the text when it is not a rate
 */
export function parseRate(text: string): number {
  const match = /^\s*(.+?)\s*\/\s*(s|sec|second|m|min|minute|h|hour)\s*$/.exec(text);
  if (!match) throw new Error(`expected a rate like "10MB/min" or "1MiB/s", got ${describeValue(text)}`);
  const per = match[2] as string;
  const seconds = per.startsWith('h') ? 3600 : per.startsWith('m') ? 60 : 1;
  return parseSize(match[1] as string) / seconds;
}
