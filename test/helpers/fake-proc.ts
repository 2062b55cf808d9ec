/**
 * A /proc tree of fixture files for the sampler tests: the system files, and for each PID a copy of a
 * live `sleep` (stat, statm, status, io, cmdline, three fds and its exe link) that a test then rewrites.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const fixtures = new URL('../fixtures/proc/', import.meta.url);
export const fixture = (path: string) => readFileSync(new URL(path, fixtures));
const STAT = fixture('live-sleep/stat').toString();

/** Clock ticks a test sets in a stat line (fields 14, 15, 22 and 42); the start keeps the fixture's when left out. */
export interface StatTicks {
  utime: number;
  stime: number;
  blkio: number;
  startTicks?: number;
}

/** The fixture's stat line for `pid` with `ticks` set. */
export function sleepStat(pid: number, ticks: StatTicks): string {
  const close = STAT.lastIndexOf(')');
  const fields = STAT.slice(close + 2)
    .trimEnd()
    .split(' ');
  fields[14 - 3] = String(ticks.utime);
  fields[15 - 3] = String(ticks.stime);
  if (ticks.startTicks !== undefined) fields[22 - 3] = String(ticks.startTicks);
  fields[42 - 3] = String(ticks.blkio);
  return `${pid} ${STAT.slice(STAT.indexOf('('), close + 2)}${fields.join(' ')}\n`;
}

/**
 * A private temporary root with etc/passwd and proc/ holding the system files and a sleep per PID, its
 * stat with `ticks` set (the fixture's own when left out). Returns the proc directory; its parent is the
 * test's to remove.
 */
export function fakeProcRoot(prefix: string, pids: readonly number[], ticks?: StatTicks): string {
  const top = mkdtempSync(join(tmpdir(), prefix));
  const proc = join(top, 'proc');
  mkdirSync(proc, { recursive: true });
  writeFileSync(join(proc, 'stat'), fixture('proc-stat'));
  writeFileSync(join(proc, 'cpuinfo'), fixture('cpuinfo'));
  writeFileSync(join(proc, 'meminfo'), fixture('meminfo'));
  mkdirSync(join(top, 'etc'));
  writeFileSync(join(top, 'etc', 'passwd'), fixture('passwd'));
  for (const pid of pids) {
    const dir = join(proc, String(pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    for (const name of ['statm', 'status', 'io', 'cmdline'])
      writeFileSync(join(dir, name), fixture(`live-sleep/${name}`));
    writeFileSync(join(dir, 'stat'), ticks ? sleepStat(pid, ticks) : STAT.replace(/^\d+ /, `${pid} `));
    for (let fd = 0; fd < 3; fd++) writeFileSync(join(dir, 'fd', String(fd)), '');
    symlinkSync('/usr/bin/sleep', join(dir, 'exe'));
  }
  return proc;
}
