/**
 * The dashboard's entry module: picks a simulation, polls its processes and the active faults once a
 * second (never two polls at once), keeps five minutes of totals per priority for the charts, and wires
 * the forms and the event stream. Plain ES modules served as they are: there is no build step.
 */
import { api, token } from './api.js';
import { createFaultList, faultSummary, setUpChaosForm } from './chaos.js';
import { drawStacked } from './chart.js';
import { startEventList } from './events.js';
import { ago, bytes, esc, percent } from './format.js';
import { setUpNewSimulation } from './new-simulation.js';
import { markSorted, PRIORITIES, renderTable } from './table.js';
import { createVerificationCard } from './verify.js';

const POLL_MS = 1000;
/** Simulations and /info change rarely (events trigger them too): every this many polls. */
const SLOW_EVERY = 5;
/** The charts span the history they have, in whole minutes, from one minute up to this. */
const WINDOW_MS = 5 * 60_000;
const MiB = 1024 * 1024;
const $ = (id) => document.getElementById(id);

const state = {
  info: undefined,
  simulations: [],
  selected: undefined,
  processes: [],
  faults: [],
  history: [],
  lastSampleMs: 0,
  sort: 'priority',
  ascending: true,
  names: new Map(),
};

const selectedSimulation = () => state.simulations.find((s) => s.id === state.selected);
const isLive = (simulation) =>
  simulation && (simulation.state === 'running' || simulation.state === 'starting');

function showBanner(text) {
  $('banner').hidden = !text;
  $('banner').textContent = text ?? '';
}

// ---- data ----

function defaultSelection() {
  const wanted = new URLSearchParams(location.hash.slice(1)).get('simulation');
  if (wanted && state.simulations.some((s) => s.id === wanted)) return wanted;
  return (state.simulations.filter(isLive).at(-1) ?? state.simulations.at(-1))?.id;
}

function select(id) {
  if (id === state.selected) return;
  state.selected = id;
  state.processes = [];
  state.history = [];
  state.lastSampleMs = 0;
  history.replaceState(null, '', id ? `#simulation=${id}` : location.pathname);
  refilterEvents();
  render();
  pollNow({ slow: true });
}

async function refreshSimulations() {
  state.simulations = (await api('GET', '/api/v1/simulations')).simulations;
  if (!state.simulations.some((s) => s.id === state.selected)) select(defaultSelection());
}

async function refreshInfo() {
  state.info = await api('GET', '/info');
}

/** Adds one chart point per new /proc sample (the sampler's interval), or a zero when nothing lives. */
function record(processes) {
  const sampled = Math.max(0, ...processes.map((p) => (p.sampled_at ? Date.parse(p.sampled_at) : 0)));
  const now = Date.now();
  const t = processes.length === 0 ? now : sampled;
  if (t <= state.lastSampleMs || (processes.length > 0 && sampled === 0)) return;
  state.lastSampleMs = t;
  const zero = () => Object.fromEntries(PRIORITIES.map((p) => [p, 0]));
  const point = { t, cpu: zero(), rss: zero(), count: zero() };
  for (const p of processes) {
    point.cpu[p.priority] += p.cpu_percent ?? 0;
    point.rss[p.priority] += p.rss_bytes ?? 0;
    point.count[p.priority] += 1;
  }
  state.history.push(point);
  while (state.history.length && state.history[0].t < now - WINDOW_MS) state.history.shift();
}

async function refreshProcesses() {
  const id = state.selected;
  if (!id) return;
  const { processes } = await api('GET', `/api/v1/simulations/${encodeURIComponent(id)}/processes`);
  if (id !== state.selected) return;
  state.processes = processes;
  for (const p of processes) state.names.set(p.pid, p.name);
  record(processes);
}

async function refreshFaults() {
  state.faults = (await api('GET', '/api/v1/chaos')).faults;
}

const refreshVerification = createVerificationCard($('verification'));

let tick = 0;
let slowNext = true;
let running;
let again = false;
let timer;

async function poll() {
  const slow = slowNext || tick++ % SLOW_EVERY === 0;
  slowNext = false;
  try {
    if (slow) await Promise.all([refreshSimulations(), refreshInfo()]);
    if (slow) await refreshVerification(state.selected);
    await Promise.all([refreshProcesses(), refreshFaults()]);
    showBanner(undefined);
  } catch (error) {
    showBanner(`Cannot reach the simulator: ${error.message}`);
  }
  render();
}

/**
 * Polls now, or right after the poll under way. The next one follows POLL_MS later, or three times as
 * long as this one took, so a simulation of thousands of processes does not keep the browser busy.
 */
function pollNow({ slow = false } = {}) {
  slowNext ||= slow;
  clearTimeout(timer);
  if (running) {
    again = true;
    return;
  }
  const started = performance.now();
  running = poll().finally(() => {
    running = undefined;
    const pause = Math.max(POLL_MS, 3 * (performance.now() - started));
    timer = setTimeout(pollNow, again ? 0 : pause);
    again = false;
  });
}

// ---- views ----

let simulationsShown = '';
function renderSimulations() {
  const select = $('simulation');
  const signature = JSON.stringify([
    state.selected,
    state.simulations.map((s) => [s.id, s.state, s.live_processes]),
  ]);
  if (signature !== simulationsShown) {
    simulationsShown = signature;
    select.replaceChildren(
      ...(state.simulations.length ? [] : [new Option('no simulation yet', '')]),
      ...state.simulations.map(
        (s) => new Option(`${s.name} · ${s.profile} · ${s.state}`, s.id, false, s.id === state.selected),
      ),
    );
  }
  const simulation = selectedSimulation();
  $('sim-state').hidden = !simulation;
  $('sim-state').textContent = simulation?.state ?? '';
  $('sim-state').className = `badge ${simulation?.state ?? ''}`;
  $('stop').hidden = !isLive(simulation);
}

function renderStats() {
  const simulation = selectedSimulation();
  const ps = state.processes;
  $('stat-live').textContent = simulation ? String(ps.length) : '–';
  $('stat-live-sub').textContent = simulation
    ? `${simulation.planned_processes} planned, seed ${simulation.seed}`
    : '';
  $('stat-cpu').textContent = simulation
    ? percent(ps.reduce((sum, p) => sum + (p.cpu_percent ?? 0), 0))
    : '–';
  $('stat-rss').textContent = simulation ? bytes(ps.reduce((sum, p) => sum + (p.rss_bytes ?? 0), 0)) : '–';
  const largest = ps.reduce((big, p) => ((p.rss_bytes ?? 0) > (big?.rss_bytes ?? 0) ? p : big), undefined);
  $('stat-rss-sub').textContent = largest ? `largest: ${largest.name} ${bytes(largest.rss_bytes)}` : '';
  $('stat-faults').textContent = String(state.faults.length);
  $('stat-faults-sub').textContent = state.faults.length ? state.faults.map(faultSummary).join(', ') : 'none';
}

function renderCharts() {
  const now = Date.now();
  const span = state.history.length ? now - state.history[0].t : 0;
  const windowMs = Math.min(WINDOW_MS, Math.max(60_000, Math.ceil(span / 60_000) * 60_000));
  const common = { series: PRIORITIES, windowMs, now };
  const points = (key, scale = 1) =>
    state.history.map((p) => ({
      t: p.t,
      values: Object.fromEntries(PRIORITIES.map((priority) => [priority, p[key][priority] / scale])),
    }));
  drawStacked($('chart-cpu'), points('cpu'), {
    ...common,
    minMax: 10,
    format: (v) => `${Number(v.toFixed(1))}%`,
  });
  drawStacked($('chart-rss'), points('rss', MiB), {
    ...common,
    minMax: 64,
    format: (v) => (v >= 1024 ? `${(v / 1024).toFixed(1)}G` : `${Math.round(v)}M`),
  });
  drawStacked($('chart-count'), points('count'), {
    ...common,
    minMax: 4,
    format: (v) => String(Number(v.toFixed(1))),
  });
}

let namesShown = '';
function renderTableAndNames() {
  const faults = new Map();
  for (const fault of state.faults) for (const pid of fault.pids) faults.set(pid, faultSummary(fault));
  const shown = renderTable($('processes').tBodies[0], state.processes, {
    sort: state.sort,
    ascending: state.ascending,
    filter: $('filter').value,
    faults,
  });
  markSorted($('processes').tHead, state.sort, state.ascending);
  const total = state.processes.length;
  $('table-note').textContent = shown < total ? `showing ${shown} of ${total}` : '';
  const simulation = selectedSimulation();
  $('empty').hidden = total > 0;
  $('empty').textContent = !simulation
    ? 'No simulation yet. Start one with “New simulation”.'
    : isLive(simulation)
      ? 'Starting processes…'
      : `This simulation is ${simulation.state}: no live process.`;
  const names = [...new Set(state.processes.map((p) => p.name))].sort();
  if (names.join() !== namesShown) {
    namesShown = names.join();
    $('process-names').replaceChildren(...names.map((name) => new Option(name)));
  }
}

function renderInfo() {
  const info = state.info;
  if (!info) return;
  const { prometheus, otlp } = info.exporters;
  const line = (id, label, text, tone = '') => {
    $(id).innerHTML = `<b>${esc(label)}</b><span class="${tone}">${esc(text)}</span>`;
  };
  line('export-prometheus', 'Prometheus', prometheus.endpoint ?? 'off');
  if (!otlp.enabled) line('export-otlp', 'OTLP', 'off');
  else if (otlp.last_error)
    line('export-otlp', 'OTLP', `${otlp.endpoint}: failing (${otlp.last_error})`, 'bad-text');
  else {
    const last = otlp.last_success_at ? `ok, last ${ago(otlp.last_success_at)}` : 'no export yet';
    line('export-otlp', 'OTLP', `${otlp.endpoint}: ${last}`, otlp.last_success_at ? 'ok-text' : '');
  }
  $('export-otlp').title = otlp.last_error ?? '';
  $('token-form').classList.toggle('needed', info.limits.auth_required && !token.get());
}

let renderFaults;
function render() {
  renderSimulations();
  renderStats();
  renderCharts();
  renderTableAndNames();
  renderFaults?.(state.faults);
  renderInfo();
}

// ---- wiring ----

const refilterEvents = startEventList($('events'), {
  wanted: (event) =>
    !$('events-mine').checked || event.simulationId === undefined || event.simulationId === state.selected,
  nameOf: (pid) => state.names.get(pid),
  onEvent: (event) => {
    if (event.type === 'ProcessStarted') state.names.set(event.pid, event.name);
    if (state.names.size > 50_000) state.names.clear();
    if (event.type.startsWith('Simulation') || event.type === 'RampStopped') pollNow({ slow: true });
    if (event.type.startsWith('Chaos')) pollNow();
  },
  onStatus: (connected) => {
    $('events-status').classList.toggle('live', connected);
    $('events-status').title = connected ? 'event stream connected' : 'event stream reconnecting';
  },
});

renderFaults = createFaultList($('faults'), {
  changed: () => pollNow(),
  onError: (error) => showBanner(error.message),
});
setUpChaosForm($('chaos-form'), { selected: () => state.selected, changed: () => pollNow() });
setUpNewSimulation($('sim-dialog'), $('new-sim'), {
  profiles: () => state.info?.profiles ?? ['realistic'],
  started: (simulation) => {
    state.simulations = [...state.simulations.filter((s) => s.id !== simulation.id), simulation];
    select(simulation.id);
    pollNow({ slow: true });
  },
});

$('simulation').addEventListener('change', (change) => select(change.target.value || undefined));
$('stop').addEventListener('click', async () => {
  $('stop').disabled = true;
  try {
    await api('POST', `/api/v1/simulations/${encodeURIComponent(state.selected)}/stop`);
  } catch (error) {
    showBanner(error.message);
  } finally {
    $('stop').disabled = false;
  }
  pollNow({ slow: true });
});
$('token').value = token.get();
$('token').addEventListener('input', () => {
  token.set($('token').value.trim());
  renderInfo();
});
$('token-form').addEventListener('submit', (submit) => submit.preventDefault());
$('filter').addEventListener('input', renderTableAndNames);
$('processes').tHead.addEventListener('click', (click) => {
  const key = click.target.closest('th')?.dataset.sort;
  if (!key) return;
  state.ascending = state.sort === key ? !state.ascending : !['cpu', 'rss', 'threads', 'fds'].includes(key);
  state.sort = key;
  renderTableAndNames();
});
$('events-mine').addEventListener('change', () => refilterEvents());
window.addEventListener('resize', renderCharts);
const legend = PRIORITIES.map((p) => `<span><span class="swatch ${p}"></span>${esc(p)}</span>`).join('');
for (const element of document.querySelectorAll('.legend')) element.innerHTML = legend;

pollNow({ slow: true });
