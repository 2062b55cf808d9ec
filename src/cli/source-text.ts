/**
 * The provenance of a captured profile as `plan` prints it: host, window, what was left out, and how
 * well each template's patterns fit the recording. Pure text; every string from the file is printed
 * with its control characters escaped, since a profile may come from anywhere.
 */
import type { FitQuality, Source } from '../profiles/provenance.ts';
import { formatDuration } from '../profiles/units.ts';

/** Lines (each ending in a newline) that describe `source`. */
export function describeSource(source: Source): string {
  const lines: string[] = [];
  const spanMs = Date.parse(source.to) - Date.parse(source.from);
  lines.push(
    `captured from ${safe(source.host)} (kernel ${safe(source.kernel)}), ${safe(source.from)} to ${safe(source.to)}` +
      `${Number.isFinite(spanMs) ? ` (${formatDuration(spanMs)})` : ''}, ${source.samples} samples every ${formatDuration(source.interval_ms)}`,
  );
  if (source.options.length) lines.push(`  options: ${source.options.map(safe).join(', ')}`);
  for (const note of source.notes) lines.push(`  note: ${safe(note)}`);
  for (const skip of source.skipped) {
    lines.push(`  skipped ${safe(skip.name)} (${skip.processes}): ${safe(skip.reason)}`);
  }
  if (source.estimates.length) lines.push('  estimates (fitted to the recorded samples):');
  for (const estimate of source.estimates) {
    const parts = [`cpu ${quality(estimate.cpu, '%')}`, `memory ${quality(estimate.memory, ' MiB')}`];
    if (estimate.lifetime) parts.push(`lifetime ${safe(estimate.lifetime)}`);
    lines.push(`    ${safe(estimate.template)} (${estimate.processes}): ${parts.join('; ')}`);
    for (const note of estimate.notes) lines.push(`      ${safe(note)}`);
  }
  return lines.map((line) => `${line}\n`).join('');
}

function quality(fit: FitQuality, unit: string): string {
  const r2 = fit.r2 === undefined ? '' : ` R² ${fit.r2.toFixed(2)}`;
  return `${fit.pattern} (${fit.samples} samples, rmse ${round(fit.rmse)}${unit}${r2})`;
}

function round(value: number): string {
  return value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** The text with C0 controls and DEL escaped (\n, \t, \x1b ...), so a file cannot drive the terminal. */
function safe(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}
