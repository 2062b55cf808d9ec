/** The chaos form (spike, leak, kill by name pattern) and the list of active faults with Recover. */
import { api } from './api.js';
import { esc, timeLeft } from './format.js';

const LABELS = { 'cpu-spike': 'CPU spike', 'memory-leak': 'Memory leak', 'process-kill': 'Kill' };

/** How hard a fault hits: "80%" of a core, "60 MiB/min", or nothing for a kill. */
function amount(fault) {
  if (fault.kind === 'cpu-spike') return `${fault.intensity_percent}%`;
  if (fault.kind === 'memory-leak')
    return `${((fault.leak_bytes_per_second * 60) / 1048576).toFixed(0)} MiB/min`;
  return '';
}

/** Short text of a fault for the table's mark: "spike 80%", "leak 60 MiB/min". */
export function faultSummary(fault) {
  const short = { 'cpu-spike': 'spike', 'memory-leak': 'leak' }[fault.kind] ?? fault.kind;
  return `${short} ${amount(fault)}`.trim();
}

function showMessage(target, text, kind) {
  target.textContent = text;
  target.className = `message ${kind}`;
}

/** Shows only the fields of the chosen kind; hidden ones are disabled so they neither validate nor send. */
function showKind(form) {
  const kind = form.elements.kind.value;
  for (const label of form.querySelectorAll('[data-kind]')) {
    const on = label.dataset.kind.split(' ').includes(kind);
    label.hidden = !on;
    for (const input of label.querySelectorAll('input, select')) input.disabled = !on;
  }
}

function requestBody(form, simulationId) {
  const f = form.elements;
  const body = { process_pattern: f.process_pattern.value.trim() };
  if (f.this_simulation.checked && simulationId) body.simulation_id = simulationId;
  if (f.include_critical.checked) body.include_critical = true;
  const kind = f.kind.value;
  if (kind === 'cpu-spike') body.intensity = Number(f.intensity.value);
  if (kind === 'memory-leak') body.leak_rate = f.leak_rate.value.trim();
  if (kind === 'process-kill') {
    body.count = Number(f.count.value);
    body.signal = f.signal.value;
  } else {
    body.duration = f.duration.value.trim();
  }
  return { kind, body };
}

/** Wires the form; `selected()` is the chosen simulation's id, `changed()` refreshes the page's data. */
export function setUpChaosForm(form, { selected, changed }) {
  const message = form.querySelector('.message');
  form.elements.kind.addEventListener('change', () => showKind(form));
  showKind(form);
  form.addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const { kind, body } = requestBody(form, selected());
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const fault = await api('POST', `/api/v1/chaos/${kind}`, body);
      showMessage(message, `${LABELS[kind]}: ${fault.names.join(', ')}`, 'ok');
      changed();
    } catch (error) {
      showMessage(message, error.message, 'error');
    } finally {
      button.disabled = false;
    }
  });
}

/**
 * Keeps `list` in step with the active faults. Rows are rebuilt only when the set of faults changes
 * (a button replaced under the pointer would lose its click); the time left is updated in place.
 */
export function createFaultList(list, { changed, onError }) {
  let shownIds;
  list.addEventListener('click', async (click) => {
    const button = click.target.closest('button[data-recover]');
    if (!button) return;
    button.disabled = true;
    try {
      await api('DELETE', `/api/v1/chaos/${encodeURIComponent(button.dataset.recover)}`);
    } catch (error) {
      onError(error);
    }
    changed();
  });
  return (faults) => {
    const ids = faults.map((fault) => fault.id).join(',');
    if (ids !== shownIds) {
      shownIds = ids;
      list.innerHTML = faults.length
        ? faults
            .map(
              (fault) => `<li data-fault="${esc(fault.id)}">
<span class="what"><b>${esc(LABELS[fault.kind] ?? fault.kind)}</b> <span class="muted">${esc(amount(fault))}</span>
<span class="who">${esc(fault.names.map((name, i) => `${name} ${fault.pids[i]}`).join(', '))}</span></span>
<span class="muted small left"></span>
<button type="button" data-recover="${esc(fault.id)}">Recover</button></li>`,
            )
            .join('')
        : '<li class="none">No active fault</li>';
    }
    for (const fault of faults) {
      const left = list.querySelector(`li[data-fault="${CSS.escape(fault.id)}"] .left`);
      if (left) left.textContent = timeLeft(fault.ends_at);
    }
  };
}
