/**
 * bench/results.md: one section per benchmark mode and arguments, replaced in place when the same
 * mode runs again, so the file keeps the latest figures of every mode side by side.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RESULTS_FILE = fileURLToPath(new URL('../results.md', import.meta.url));

const HEADER = `# Benchmark results

Written by \`npm run bench\` (bench/run.ts); each section is replaced when its mode runs again.
Figures are medians over the repeats unless a line says otherwise. CPU figures are CPU time (user +
system), not wall time. How each figure is measured: bench/README.md.
`;

/** Replaces (or appends) the section `key` with `body`. */
export function writeSection(key: string, body: string): void {
  const begin = `<!-- bench:${key} -->`;
  const end = `<!-- /bench:${key} -->`;
  const section = `${begin}\n${body.trim()}\n${end}`;
  let text = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : HEADER;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from >= 0 && to > from) text = text.slice(0, from) + section + text.slice(to + end.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS_FILE, text);
}

/** A markdown table: one header row, then rows of cells. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
