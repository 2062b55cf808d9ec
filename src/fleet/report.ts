/**
 * A fleet verdict for people (a few lines: the verdict, each shard, the totals, every problem), for
 * tools (JSON) and for CI systems (JUnit XML: one test case per shard and one for the run as a whole).
 */
import type { FleetReport } from './verdict.ts';

export function fleetText(report: FleetReport): string {
  const lines = [
    `fleet: ${report.pass ? 'PASS' : 'FAIL'} — ${report.totals.shards} of ${report.expected_shards} shards answered`,
  ];
  for (const shard of report.shards) {
    const label = shard.index === null ? shard.endpoint : `shard ${shard.index}`;
    const skew = shard.start_skew_ms === null ? '' : `, start skew ${shard.start_skew_ms} ms`;
    lines.push(
      `  ${shard.ok ? 'ok  ' : 'FAIL'} ${label} (${shard.endpoint}): ${shard.state ?? 'no answer'}, ${shard.started} started, ${shard.live} live${skew}`,
    );
    for (const problem of shard.problems) lines.push(`         ${problem}`);
  }
  for (const problem of report.problems) lines.push(`  FAIL ${problem}`);
  if (report.pipeline) {
    lines.push(`  pipeline (${report.pipeline.source}): ${report.pipeline.pass ? 'pass' : 'FAIL'}`);
    for (const shard of report.pipeline.shards) {
      const label = shard.index === null ? shard.endpoint : `shard ${shard.index}`;
      lines.push(
        `    ${shard.verdict === 'pass' ? 'ok  ' : 'FAIL'} ${label}: ${shard.verdict}, ${shard.checked} checked, ${shard.failed} failed`,
      );
      for (const problem of shard.problems) lines.push(`           ${problem}`);
    }
  }
  const t = report.totals;
  lines.push(
    `  total: ${t.planned} planned, ${t.started} started, ${t.live} live, ${t.exited.total} exited ${JSON.stringify(t.exited.by_reason)}, series ${t.series.current} now (peak ${t.series.peak})`,
  );
  return `${lines.join('\n')}\n`;
}

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);

export function fleetJunit(report: FleetReport): string {
  const cases = report.shards.map((shard) => {
    const name = shard.index === null ? shard.endpoint : `shard ${shard.index}`;
    const failure = shard.ok ? '' : `<failure message="${escapeXml(shard.problems.join('; '))}"/>`;
    return `    <testcase classname="fleet" name="${escapeXml(name)}">${failure}</testcase>`;
  });
  const runFailure = report.problems.length
    ? `<failure message="${escapeXml(report.problems.join('; '))}"/>`
    : '';
  cases.push(`    <testcase classname="fleet" name="the run as a whole">${runFailure}</testcase>`);
  for (const shard of report.pipeline?.shards ?? []) {
    const name = `pipeline of ${shard.index === null ? shard.endpoint : `shard ${shard.index}`}`;
    const failure =
      shard.verdict === 'pass' ? '' : `<failure message="${escapeXml(shard.problems.join('; '))}"/>`;
    cases.push(`    <testcase classname="fleet.pipeline" name="${escapeXml(name)}">${failure}</testcase>`);
  }
  const failures =
    report.shards.filter((s) => !s.ok).length +
    (report.problems.length ? 1 : 0) +
    (report.pipeline?.shards.filter((s) => s.verdict !== 'pass').length ?? 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="process-simulator fleet" tests="${cases.length}" failures="${failures}">`,
    `  <testsuite name="fleet" tests="${cases.length}" failures="${failures}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** The verdict in at most `limit` bytes (a Kubernetes termination message keeps 4096). */
export function fleetTermination(report: FleetReport, limit = 4096): string {
  const text = fleetText(report);
  const bytes = Buffer.from(text);
  return bytes.length <= limit
    ? text
    : `${bytes
        .subarray(0, limit - 4)
        .toString('utf8')
        .replace(/\uFFFD$/, '')}...\n`;
}
