/**
 * The cgroup of a process, for `capture --cgroup`: the one path `ps -o cgroup` and systemd name. Not in
 * src/proc because only capture needs it, once per process.
 */
import { readFileSync } from 'node:fs';

/**
 * The cgroup path from the text of /proc/PID/cgroup: the unified (v2) hierarchy's `0::PATH` line, or
 * on a v1-only host the first hierarchy's path; '' when the text has neither.
 */
export function parseCgroup(text: string): string {
  let first = '';
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    const second = colon < 0 ? -1 : line.indexOf(':', colon + 1);
    if (second < 0) continue;
    const path = line.slice(second + 1);
    if (line.startsWith('0::')) return path;
    first ||= path;
  }
  return first;
}

/** The cgroup of `pid` under `root`; '' when the process is gone or the file is unreadable. */
export function readCgroup(root: string, pid: number): string {
  try {
    return parseCgroup(readFileSync(`${root}/${pid}/cgroup`, 'utf8'));
  } catch {
    return '';
  }
}

/** True when `path` is `prefix` or lies below it (`/system.slice` holds `/system.slice/x.service`). */
export function inCgroup(path: string, prefix: string): boolean {
  const trimmed = prefix.length > 1 ? prefix.replace(/\/+$/, '') : prefix;
  if (trimmed === '/' || path === trimmed) return true;
  return path.startsWith(`${trimmed}/`);
}
