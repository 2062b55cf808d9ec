/**
 * The "Pipeline verification" card: the last verification report of the selected simulation (made by
 * `process-simulator verify` or POST .../verify), its verdict, one line per check and the first
 * differences. Read-only: a verification needs a source and expectations, which belong to the CLI.
 */
import { api } from './api.js';
import { ago, esc } from './format.js';

/** Differences shown per failed check. */
const SHOWN = 3;

/**
 * @param {HTMLElement} element the card's body
 * @returns {(simulationId: string | undefined) => Promise<void>} refreshes the card for a simulation
 */
export function createVerificationCard(element) {
  let shown = '';
  const show = (html, signature) => {
    if (signature === shown) return;
    shown = signature;
    element.innerHTML = html;
  };
  return async (simulationId) => {
    if (!simulationId) return show('<p class="muted">No simulation selected.</p>', 'none');
    const { report } = await api(
      'GET',
      `/api/v1/simulations/${encodeURIComponent(simulationId)}/verification`,
    );
    if (!report) {
      return show(
        '<p class="muted">Not verified yet. Run <code>process-simulator verify --prometheus URL</code> (or <code>--otlp-sink</code>) against this simulation.</p>',
        `none:${simulationId}`,
      );
    }
    const signature = `${simulationId}:${report.finished_at}:${Math.floor(Date.now() / 10_000)}`;
    const checks = report.checks
      .map((check) => {
        const differences = check.passed
          ? ''
          : `<ul class="differences">${check.differences
              .slice(0, SHOWN)
              .map((difference) => `<li>${esc(difference.message)}</li>`)
              .join(
                '',
              )}${check.differences_total > SHOWN ? `<li class="muted">… and ${check.differences_total - SHOWN} more</li>` : ''}</ul>`;
        return `<li class="${check.passed ? 'ok' : 'bad'}"><span class="mark">${check.passed ? '✓' : '✗'}</span><b>${esc(check.name)}</b> <span class="muted">${esc(check.summary)}</span>${differences}</li>`;
      })
      .join('');
    show(
      `<p class="verdict"><span class="badge ${report.verdict === 'pass' ? 'running' : 'failed'}">${report.verdict === 'pass' ? 'PASS' : 'FAIL'}</span> <span class="muted">${esc(ago(report.finished_at))} through ${esc(report.source.location)}</span></p>
       <p class="muted small">expectations: ${esc(report.expectations.origin)}; linger max ${esc(report.linger.max_seconds ?? '–')} s, p50 ${esc(report.linger.p50_seconds ?? '–')} s (allowed ${esc(report.linger.allowed_seconds)} s)</p>
       <ul class="checks">${checks}</ul>`,
      signature,
    );
  };
}
