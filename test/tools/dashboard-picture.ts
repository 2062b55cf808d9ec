/**
 * Refreshes docs/dashboard.png, the README's picture: the realistic profile after 100 s, one CPU spike
 * and one memory leak active, in headless Chromium. Documentation, not a test (it checks nothing the
 * dashboard tests do not, and takes two minutes), so it lives outside the test glob and never shows in a
 * test summary as skipped.
 *
 * Usage: node test/tools/dashboard-picture.ts
 */
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, startApiSimulator } from '../e2e/api-helpers.ts';
import { openBrowser } from '../helpers/browser.ts';

const DOCS_PICTURE = new URL('../../docs/dashboard.png', import.meta.url);

const s = await startApiSimulator({
  AUTO_START: 'true',
  PROFILE: 'realistic',
  SEED: '42',
  OTEL_METRIC_EXPORT_INTERVAL: '2000',
});
const browser = await openBrowser();
try {
  const { page, problems } = browser;
  await page.goto(`${s.url}/`);
  // A picture of a run under way: its charts need 100 s of history to show the patterns.
  await sleep(100_000);
  for (const [kind, body] of [
    ['cpu-spike', { process_pattern: 'gunicorn', intensity: 35, duration: '2m' }],
    ['memory-leak', { process_pattern: 'chrome-tab-2', leak_rate: '120MB/min', duration: '2m' }],
  ] as const) {
    const fault = await call(s.url, 'POST', `/api/v1/chaos/${kind}`, body);
    if (fault.status !== 201) throw new Error(`${kind}: HTTP ${fault.status} ${JSON.stringify(fault.body)}`);
  }
  // ... and of the faults taking effect on the charts.
  await sleep(14_000);
  mkdirSync(new URL('.', DOCS_PICTURE), { recursive: true });
  await page.screenshot({ path: DOCS_PICTURE.pathname });
  if (problems.length > 0) throw new Error(`the page had problems:\n${problems.join('\n')}`);
  process.stdout.write(`wrote ${DOCS_PICTURE.pathname}\n`);
} finally {
  await browser.close();
  await s.stop();
}
