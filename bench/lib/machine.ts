/** One line describing the machine a benchmark ran on, for the results file. */
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

export function describeMachine(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const limit = (name: string) =>
    readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((line) => line.startsWith(name))
      ?.slice(name.length)
      .trim()
      .split(/\s+/)[0];
  const pidMax = readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim();
  return [
    `${cpus().length} CPUs (${model})`,
    `${(totalmem() / 2 ** 30).toFixed(1)} GiB memory`,
    `kernel ${release()}`,
    `Node ${process.version}`,
    `pid_max ${pidMax}, ulimit -u ${limit('Max processes')}, ulimit -n ${limit('Max open files')}`,
    `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} at the start`,
  ].join('; ');
}
