/**
 * The report for people: the verdict first, one line per check, the first differences with PID,
 * name, metric, expected and observed, the counts per metric and priority, the linger of exits, and
 * how values and PIDs were matched.
 */
import type { Report } from '../report.ts';

/** Differences printed per failed check (the JSON and JUnit reports carry more). */
const SHOWN = 10;

export function renderText(report: Report): string {
  const lines: string[] = [];
  const failed = report.checks.filter((check) => !check.passed);
  lines.push(
    report.verdict === 'pass'
      ? `PASS  ${report.simulation.name} (${report.simulation.id}) through ${report.source.location}`
      : `FAIL  ${report.simulation.name} (${report.simulation.id}) through ${report.source.location}: ${failed.length} of ${report.checks.length} checks failed`,
  );
  lines.push(
    `      observed at ${report.source.observed_at}, ${report.attempts} attempt${report.attempts === 1 ? '' : 's'}; expectations: ${report.expectations.origin}`,
  );
  for (const line of report.expectations.summary) lines.push(`      - pipeline ${line}`);
  lines.push('');
  for (const check of report.checks) {
    lines.push(`${check.passed ? 'ok  ' : 'FAIL'}  ${check.name.padEnd(14)} ${check.summary}`);
    for (const difference of check.differences.slice(0, SHOWN)) lines.push(`        ${difference.message}`);
    const more = check.differences_total - Math.min(SHOWN, check.differences.length);
    if (more > 0) lines.push(`        ... and ${more} more (see --json)`);
  }
  lines.push('');
  if (report.series.length > 0) {
    lines.push('series per metric and priority (observed / expected; +n not yet due, ! missing):');
    const byMetric = new Map<string, string[]>();
    for (const row of report.series) {
      const cells = byMetric.get(row.metric) ?? [];
      const missing = row.expected - row.observed - row.pending;
      cells.push(
        `${row.priority} ${row.observed}/${row.expected}${row.pending > 0 ? ` +${row.pending}` : ''}${missing !== 0 ? ' !' : ''}`,
      );
      byMetric.set(row.metric, cells);
    }
    const width = Math.max(...[...byMetric.keys()].map((name) => name.length));
    for (const [metric, cells] of byMetric) lines.push(`  ${metric.padEnd(width)}  ${cells.join('  ')}`);
  }
  const linger = report.linger;
  lines.push(
    `exits: ${linger.exits_checked} followed over ${linger.lookback_seconds} s, ${linger.seen_after_exit} seen after their exit, ${linger.still_present} still present, ${linger.overdue} overdue; linger max ${linger.max_seconds ?? '-'} s, p50 ${linger.p50_seconds ?? '-'} s (allowed ${linger.allowed_seconds} s)`,
  );
  const methods = Object.entries(report.matching.methods)
    .map(([method, count]) => `${count} by ${method}`)
    .join(', ');
  lines.push(
    `processes matched: ${methods || 'none'}${report.matching.unmatched ? `, ${report.matching.unmatched} unmatched` : ''}`,
  );
  lines.push(`values: ${report.skew}`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}
