/**
 * The JUnit XML report is well-formed for any text a report may carry (process names, label values and
 * messages hold anything), as an XML parser other than ours reads it (Python's): one test case per
 * check, a failure per failed check, and every text reads back exactly, but for what XML 1.0 cannot
 * carry at all (replaced by U+FFFD).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { renderJunit } from '../../src/verify/render/junit.ts';
import { renderText } from '../../src/verify/render/text.ts';
import { CHECKS, type CheckName, type Report } from '../../src/verify/report.ts';

function report(texts: string[], failing: boolean[]): Report {
  const names = Object.keys(CHECKS) as CheckName[];
  return {
    verdict: failing.some(Boolean) ? 'fail' : 'pass',
    simulation: { id: texts[0] ?? 'id', name: texts[1] ?? 'name', profile: 'p', state: 'running' },
    source: {
      kind: 'prometheus',
      location: texts[2] ?? 'http://x',
      naming: 'prometheus',
      observed_at: '2026-01-01T00:00:00.000Z',
    },
    expectations: { origin: texts[3] ?? 'default', summary: [] },
    started_at: '2026-01-01T00:00:00.000Z',
    finished_at: '2026-01-01T00:00:02.500Z',
    attempts: 1,
    skew: texts[4] ?? '',
    matching: { methods: { pid: 1 }, unmatched: 0, note: '' },
    linger: {
      allowed_seconds: 60,
      exits_checked: 0,
      seen_after_exit: 0,
      still_present: 0,
      overdue: 0,
      max_seconds: null,
      p50_seconds: null,
      lookback_seconds: 300,
      resolution_seconds: 1,
    },
    series: [],
    checks: names.map((name, i) => ({
      name,
      title: CHECKS[name],
      passed: !failing[i],
      checked: 3,
      failed: failing[i] ? 1 : 0,
      pending: 0,
      summary: texts[5 + i] ?? 'summary',
      differences: failing[i]
        ? [{ check: name, kind: 'x', message: texts[(6 + i) % texts.length] ?? 'difference' }]
        : [],
      differences_total: failing[i] ? 1 : 0,
    })),
    notes: texts.slice(0, 2),
  };
}

/** What XML 1.0 can carry of a text: the rest becomes U+FFFD. */
const carried = (text: string) =>
  [...text]
    .map((c) => (/[\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u.test(c) ? c : '\ufffd'))
    .join('');

test('well-formed for any text: one test case per check, failures where checks failed, texts read back', () => {
  // Any code point, and the troublemakers on purpose: lone surrogates, U+FFFF, NUL, CR, markup.
  const specials = fc.constantFrom(
    '\ud800',
    '\udfff',
    '\uffff',
    '\u0000',
    '\u001b',
    '\r',
    '\r\n',
    '\t',
    '<&>"\'',
    ']]>',
  );
  const anyText = fc
    .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 10 }), specials), { maxLength: 6 })
    .map((parts) => parts.join(''));
  const cases = fc.sample(
    fc.tuple(
      fc.array(anyText, { minLength: 12, maxLength: 12 }),
      fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
    ),
    80,
  );
  // One parser process for every case: Python's ElementTree, not ours.
  const script = `import sys, json, xml.etree.ElementTree as E
out = []
for doc in json.load(sys.stdin):
    suite = E.fromstring(doc.encode("utf-8"))[0]
    out.append({"name": suite.get("name"), "tests": suite.get("tests"), "failures": suite.get("failures"),
      "cases": len(suite.findall("testcase")),
      "failed": [[f.get("message"), f.text or ""] for f in suite.iter("failure")]})
print(json.dumps(out))`;
  const reports = cases.map(([texts, failing]) => report(texts, failing));
  const parsed = JSON.parse(
    execFileSync('python3', ['-c', script], {
      input: JSON.stringify(reports.map(renderJunit)),
      encoding: 'utf8',
    }),
  ) as Array<{
    name: string;
    tests: string;
    failures: string;
    cases: number;
    failed: Array<[string, string]>;
  }>;
  reports.forEach((value, i) => {
    const got = parsed[i];
    assert.ok(got);
    assert.equal(got.tests, String(value.checks.length));
    assert.equal(got.cases, value.checks.length);
    const failed = value.checks.filter((check) => !check.passed);
    assert.equal(got.failures, String(failed.length));
    assert.equal(
      got.name,
      carried(`pipeline verification of ${value.simulation.name} through ${value.source.location}`),
    );
    failed.forEach((check, j) => {
      assert.equal(got.failed[j]?.[0], carried(check.summary));
      assert.equal(got.failed[j]?.[1], carried(`${check.summary}\n${check.differences[0]?.message}`));
    });
  });
});

test('the text report starts with the verdict and lists every check', () => {
  const text = renderText(report(['id-1', 'sim-a'], [false, true, false, false, false, false, false]));
  assert.match(text, /^FAIL {2}sim-a \(id-1\) through /);
  for (const name of Object.keys(CHECKS)) assert.match(text, new RegExp(`^(ok {2}|FAIL)  ${name} `, 'm'));
});
