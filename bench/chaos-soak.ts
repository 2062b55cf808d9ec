/**
 * The chaos soak (`npm run bench -- --chaos-soak 30m`): simulators on a chaos profile at high rates,
 * hammered by API chaos with coinciding deadlines, each ended by SIGTERM after a few minutes. What must
 * stay zero: crashes, stuck stops, 5xx answers, workers left behind. The suite runs the same driver for
 * 24 s (test/e2e/chaos-soak.test.ts).
 */
import { runChaosSoak, type SoakResult } from '../test/helpers/chaos-soak.ts';
import { table } from './lib/results.ts';
import { fmt } from './lib/stats.ts';

export async function runSoak(options: {
  durationMs: number;
  log: (line: string) => void;
}): Promise<SoakResult> {
  return runChaosSoak({
    durationMs: options.durationMs,
    // A SIGTERM every 3 minutes (10 in 30 minutes), each after minutes of chaos.
    cycleMs: Math.min(180_000, Math.max(20_000, options.durationMs / 10)),
    requestsPerSecond: 20,
    graceMs: 10_000,
    log: options.log,
  });
}

export function soakReport(result: SoakResult): string {
  const sorted = [...result.exitMs].sort((a, b) => a - b);
  const fiveHundreds = Object.entries(result.byStatus)
    .filter(([status]) => !/^[1-4]\d\d$/.test(status))
    .reduce((sum, [, n]) => sum + n, 0);
  return table(
    ['chaos soak', 'figure'],
    [
      ['simulators run, each ended by SIGTERM', fmt(result.cycles, 0)],
      ['clean exits (code 0)', fmt(result.cleanExits, 0)],
      ['crashes (any other end)', fmt(result.crashes.length, 0)],
      ['stuck stops (no exit within 10 s of SIGTERM)', fmt(result.stuck, 0)],
      [
        'SIGTERM to exit (ms): median (min-max)',
        sorted.length ? `${sorted[Math.floor(sorted.length / 2)]} (${sorted[0]}-${sorted.at(-1)})` : '-',
      ],
      ['API chaos requests', fmt(result.requests, 0)],
      [
        'answers by status',
        Object.entries(result.byStatus)
          .map(([s, n]) => `${s}: ${n}`)
          .join(', '),
      ],
      ['5xx or failed requests', fmt(fiveHundreds, 0)],
      ['random faults by the simulators themselves', fmt(result.randomFaults, 0)],
      ['workers seen / left alive after the stops', `${result.workersSeen} / ${result.workersLeft}`],
    ],
  );
}
