/**
 * `npm run bench -- --sigkill-trials 100`: the fault test's SIGKILL trial, many times over. Each trial
 * starts `node src/main.ts` with a few simulated processes, SIGKILLs it and times how long until every
 * child is dead; none may outlive it by a second, and none may stay a zombie.
 */
import { sigkillTrial } from '../test/helpers/sigkill-trial.ts';
import { table } from './lib/results.ts';
import { fmt, median } from './lib/stats.ts';

const PROCESSES = 20;

export interface SigkillResult {
  trials: number;
  processes: number;
  allDeadMs: number[];
  orphans: number;
  unreaped: number;
  failedTrials: number;
}

export async function runSigkillTrials(options: {
  trials: number;
  log: (line: string) => void;
}): Promise<SigkillResult> {
  const result: SigkillResult = {
    trials: options.trials,
    processes: PROCESSES,
    allDeadMs: [],
    orphans: 0,
    unreaped: 0,
    failedTrials: 0,
  };
  for (let trial = 1; trial <= options.trials; trial++) {
    const outcome = await sigkillTrial({ processes: PROCESSES });
    result.allDeadMs.push(outcome.allDeadMs);
    result.orphans += outcome.orphans.length;
    result.unreaped += outcome.unreaped.length;
    if (outcome.orphans.length > 0 || outcome.unreaped.length > 0 || !Number.isFinite(outcome.allDeadMs))
      result.failedTrials++;
    if (trial % 10 === 0) options.log(`  ${trial} trials, ${result.failedTrials} failed`);
  }
  return result;
}

export function sigkillReport(r: SigkillResult): string {
  const finite = r.allDeadMs.filter(Number.isFinite);
  return table(
    ['SIGKILL of the simulator', 'value'],
    [
      ['trials', fmt(r.trials, 0)],
      ['simulated processes per trial', fmt(r.processes, 0)],
      ['trials with a child alive 1 s after the SIGKILL, or a zombie 5 s after', fmt(r.failedTrials, 0)],
      ['orphans (children alive 1 s after), all trials', fmt(r.orphans, 0)],
      ['zombies left 5 s after, all trials', fmt(r.unreaped, 0)],
      [
        'time until every child was dead: median / max (ms)',
        `${fmt(median(finite), 1)} / ${fmt(Math.max(...finite), 1)}`,
      ],
    ],
  );
}
