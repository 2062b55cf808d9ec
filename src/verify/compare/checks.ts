/**
 * Collects the outcome of one check: counts everything it looked at, keeps the first differences (a
 * broken pipeline can differ on 90,000 series; the report stays readable and bounded) and counts the
 * rest.
 */
import { CHECKS, type CheckName, type CheckResult, DIFFERENCES_SHOWN, type Difference } from '../report.ts';

export class CheckTally {
  readonly name: CheckName;
  checked = 0;
  failed = 0;
  pending = 0;
  readonly #shown: Difference[] = [];
  readonly #limit: number;

  constructor(name: CheckName, limit = DIFFERENCES_SHOWN) {
    this.name = name;
    this.#limit = limit;
  }

  ok(): void {
    this.checked++;
  }

  wait(): void {
    this.checked++;
    this.pending++;
  }

  fail(difference: Omit<Difference, 'check'>): void {
    this.checked++;
    this.failed++;
    if (this.#shown.length < this.#limit) this.#shown.push({ check: this.name, ...difference });
  }

  result(summary: string): CheckResult {
    return {
      name: this.name,
      title: CHECKS[this.name],
      passed: this.failed === 0,
      checked: this.checked,
      failed: this.failed,
      pending: this.pending,
      summary,
      differences: this.#shown,
      differences_total: this.failed,
    };
  }
}

/** "3 of 12 failed" style counts for a summary line. */
export function counts(tally: CheckTally, what: string): string {
  const parts = [`${tally.checked} ${what} checked`];
  if (tally.failed) parts.push(`${tally.failed} failed`);
  if (tally.pending) parts.push(`${tally.pending} not yet due`);
  return parts.join(', ');
}
