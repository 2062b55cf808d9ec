/**
 * The report as JUnit XML, the format CI systems show as test results: one test suite for the
 * verification, one test case per check, a <failure> per failed check listing its differences.
 * Written by hand (a few elements and one escaping rule) rather than with an XML library.
 */
import type { Report } from '../report.ts';

/**
 * Text safe inside an XML element: the markup characters escaped, carriage returns as character
 * references (a parser would turn a raw one into a line feed), and characters XML 1.0 cannot carry at
 * all (control characters, lone surrogates, U+FFFE/U+FFFF) replaced by U+FFFD, since a process name or
 * a label value may hold anything.
 */
export function xmlText(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    const allowed =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      (code >= 0x10000 && code <= 0x10ffff);
    if (!allowed) out += '\ufffd';
    else if (char === '&') out += '&amp;';
    else if (char === '<') out += '&lt;';
    else if (char === '>') out += '&gt;';
    else if (char === '\r') out += '&#13;';
    else out += char;
  }
  return out;
}

/** Text safe inside a double-quoted attribute: also quotes, and tabs and line feeds (a parser would make them spaces). */
export function xmlAttribute(text: string): string {
  return xmlText(text).replaceAll('"', '&quot;').replaceAll('\n', '&#10;').replaceAll('\t', '&#9;');
}

export function renderJunit(report: Report): string {
  const seconds = Math.max(0, (Date.parse(report.finished_at) - Date.parse(report.started_at)) / 1000);
  const failures = report.checks.filter((check) => !check.passed).length;
  const suite = `pipeline verification of ${report.simulation.name} through ${report.source.location}`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="process-simulator verify" tests="${report.checks.length}" failures="${failures}" errors="0" time="${seconds}">`,
    `  <testsuite name="${xmlAttribute(suite)}" tests="${report.checks.length}" failures="${failures}" errors="0" skipped="0" time="${seconds}" timestamp="${xmlAttribute(report.started_at)}">`,
    '    <properties>',
    ...[
      ['simulation.id', report.simulation.id],
      ['simulation.profile', report.simulation.profile],
      ['source', report.source.location],
      ['expectations', report.expectations.origin],
      ['verdict', report.verdict],
    ].map(
      ([name, value]) =>
        `      <property name="${xmlAttribute(name as string)}" value="${xmlAttribute(value as string)}"/>`,
    ),
    '    </properties>',
  ];
  for (const check of report.checks) {
    lines.push(
      `    <testcase classname="process-simulator.verify" name="${xmlAttribute(`${check.name}: ${check.title}`)}" time="0">`,
    );
    if (!check.passed) {
      const body = [
        check.summary,
        ...check.differences.map((difference) => difference.message),
        ...(check.differences_total > check.differences.length
          ? [`... and ${check.differences_total - check.differences.length} more`]
          : []),
      ].join('\n');
      lines.push(
        `      <failure message="${xmlAttribute(check.summary)}" type="${xmlAttribute(check.name)}">${xmlText(body)}</failure>`,
      );
    } else {
      lines.push(`      <system-out>${xmlText(check.summary)}</system-out>`);
    }
    lines.push('    </testcase>');
  }
  lines.push(
    `    <system-out>${xmlText([`values: ${report.skew}`, ...report.notes.map((note) => `note: ${note}`)].join('\n'))}</system-out>`,
  );
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
