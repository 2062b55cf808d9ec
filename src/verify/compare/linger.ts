/**
 * Exited processes downstream: each must be gone within the allowed staleness, and how long each
 * lingered after its exit is measured (from when the source last saw it) and summarised.
 */
import type { Expectations } from '../expectations.ts';
import type { Observation } from '../observation.ts';
import type { LingerStats } from '../report.ts';
import type { GroundTruth, TruthExit } from '../truth.ts';
import { CheckTally } from './checks.ts';
import type { Matcher } from './match.ts';
import type { Plan } from './plan.ts';

export interface LingerInput {
  truth: GroundTruth;
  observation: Observation;
  expectations: Expectations;
  plan: Plan;
  matcher: Matcher;
  /** exits whose series are present in the observation now */
  presentNow: ReadonlySet<TruthExit>;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** The value below which half of `values` lie (the lower middle for an even count). */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}

export function checkLinger(input: LingerInput): { tally: CheckTally; stats: LingerStats } {
  const { truth, observation, expectations, plan, matcher, presentNow } = input;
  const tally = new CheckTally('disappearance');
  const now = observation.observedAtMs;
  const allowed = expectations.stalenessMs;

  const lastSeen = new Map<TruthExit, number>();
  for (const seen of observation.lastSeen) {
    const pid = plan.pidLabel === undefined ? undefined : Number(seen.labels[plan.pidLabel]);
    const result = matcher.match({
      pid: Number.isSafeInteger(pid) ? pid : undefined,
      name: plan.nameLabel === undefined ? undefined : seen.labels[plan.nameLabel],
      commandLine: plan.commandLineLabel === undefined ? undefined : seen.labels[plan.commandLineLabel],
      startTimeMs: seen.startTimeMs,
    });
    if (result.target?.kind !== 'exited') continue;
    const exit = result.target.exit;
    lastSeen.set(exit, Math.max(lastSeen.get(exit) ?? 0, seen.lastSeenMs));
  }

  const lingers: number[] = [];
  let seenAfterExit = 0;
  let stillPresent = 0;
  for (const exit of truth.exits) {
    // A process the pipeline drops was never downstream; one that exited after the observation may be.
    if (!plan.keeps(exit) || exit.exited_at_ms > now) continue;
    const seen = lastSeen.get(exit);
    // The sink keeps a series it received recently as present; for an exit that means nothing unless
    // something arrived after the exit. Prometheus answers for the moment of the query itself.
    const arrivedAfterExit = seen !== undefined && seen > exit.exited_at_ms;
    const present = presentNow.has(exit) && (observation.source !== 'otlp-sink' || arrivedAfterExit);
    const followed = exit.exited_at_ms >= observation.lastSeenFromMs;
    if (!present && !followed) continue;
    const linger = present
      ? now - exit.exited_at_ms
      : seen !== undefined
        ? Math.max(0, seen - exit.exited_at_ms)
        : 0;
    if (followed) {
      lingers.push(linger);
      if (present || arrivedAfterExit) seenAfterExit++;
    }
    if (present) stillPresent++;
    const common = {
      pid: exit.pid,
      name: exit.name,
      priority: exit.priority,
      expected: `gone within ${seconds(allowed)} s`,
    };
    if (linger > allowed) {
      tally.fail({
        ...common,
        kind: 'lingering',
        observed: present
          ? `still present ${seconds(linger)} s after its exit`
          : `seen ${seconds(linger)} s after its exit`,
        message: `pid ${exit.pid} ${exit.name} (${exit.priority}) exited at ${new Date(exit.exited_at_ms).toISOString()} (${exit.reason}) and ${present ? `is still present downstream ${seconds(linger)} s later` : `was seen downstream until ${seconds(linger)} s later`}; allowed ${seconds(allowed)} s`,
      });
    } else if (present) tally.wait();
    else tally.ok();
  }
  const overdue = tally.failed;
  return {
    tally,
    stats: {
      allowed_seconds: seconds(allowed),
      exits_checked: lingers.length,
      seen_after_exit: seenAfterExit,
      still_present: stillPresent,
      overdue,
      max_seconds: lingers.length ? seconds(lingers.reduce((a, b) => Math.max(a, b), 0)) : null,
      p50_seconds: lingers.length ? seconds(median(lingers) as number) : null,
      lookback_seconds: seconds(Math.max(0, now - observation.lastSeenFromMs)),
      resolution_seconds: seconds(observation.lastSeenStepMs),
    },
  };
}
