/** The live process table: sorting, filtering by name, and a mark on processes under an active fault. */
import { bytes, count, esc, percent } from './format.js';

export const PRIORITIES = ['critical', 'high', 'medium', 'low'];

/** More rows than this would make each refresh slow; the rest is counted in the note. */
const MAX_ROWS = 500;

const rank = (priority) => PRIORITIES.indexOf(priority);

const KEYS = {
  name: (p) => p.name,
  pid: (p) => p.pid,
  priority: (p) => rank(p.priority),
  pattern: (p) => `${p.patterns.cpu} ${p.patterns.memory}`,
  cpu: (p) => p.cpu_percent ?? -1,
  rss: (p) => p.rss_bytes ?? -1,
  threads: (p) => p.threads ?? -1,
  fds: (p) => p.fds ?? -1,
  state: (p) => p.state ?? '',
};

// numeric: "svc-10" after "svc-9"
const collator = new Intl.Collator(undefined, { numeric: true });
const order = (x, y) => (typeof x === 'string' ? collator.compare(x, y) : x - y);

function compare(key, ascending) {
  const get = KEYS[key] ?? KEYS.priority;
  return (a, b) => {
    const result =
      order(get(a), get(b)) ||
      rank(a.priority) - rank(b.priority) ||
      collator.compare(a.name, b.name) ||
      a.pid - b.pid;
    return ascending ? result : -result;
  };
}

function cpuBar(value) {
  const width = Math.max(0, Math.min(100, value ?? 0));
  return `<svg class="bar" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true"><rect class="track" width="100" height="6" rx="3"/><rect class="fill${width >= 50 ? ' hot' : ''}" width="${width.toFixed(1)}" height="6" rx="3"/></svg>`;
}

function row(p, fault) {
  const tag = fault ? `<span class="tag">${esc(fault)}</span>` : '';
  return `<tr data-pid="${p.pid}" data-name="${esc(p.name)}"${fault ? ' class="faulted"' : ''}>
<td class="name">${esc(p.name)}${tag}</td>
<td class="num">${p.pid}</td>
<td><span class="prio ${esc(p.priority)}">${esc(p.priority)}</span></td>
<td class="pattern">${esc(p.patterns.cpu)} / ${esc(p.patterns.memory)}</td>
<td class="num cpu"><span class="cpu-cell">${cpuBar(p.cpu_percent)}<span>${percent(p.cpu_percent)}</span></span></td>
<td class="num rss">${bytes(p.rss_bytes)}</td>
<td class="num">${count(p.threads)}</td>
<td class="num">${count(p.fds)}</td>
<td class="state">${esc(p.state ?? '–')}</td>
</tr>`;
}

/**
 * Renders `processes` into `tbody`; `faults` maps a PID to a short label of the fault on it.
 * Returns the number of rows shown.
 */
export function renderTable(tbody, processes, { sort, ascending, filter, faults }) {
  const needle = filter.trim().toLowerCase();
  const shown = processes
    .filter((p) => !needle || p.name.toLowerCase().includes(needle))
    .sort(compare(sort, ascending))
    .slice(0, MAX_ROWS);
  tbody.innerHTML = shown.map((p) => row(p, faults.get(p.pid))).join('');
  return shown.length;
}

/** Marks the sorted column header. */
export function markSorted(thead, sort, ascending) {
  for (const th of thead.querySelectorAll('th')) {
    th.classList.toggle('sorted', th.dataset.sort === sort);
    th.classList.toggle('asc', th.dataset.sort === sort && ascending);
  }
}
