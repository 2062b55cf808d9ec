/**
 * The event stream (Server-Sent Events of /api/v1/events) as a scrolling list, newest first. The
 * stream starts with the events the server still keeps (since=0); the browser's EventSource reconnects
 * by itself and sends Last-Event-ID, so nothing is missed or doubled.
 */
import { clock, esc } from './format.js';

const TYPES = [
  'SimulationCreated',
  'SimulationStarted',
  'SimulationStopped',
  'SimulationCompleted',
  'SimulationFailed',
  'RampStopped',
  'ProcessStarted',
  'ProcessExited',
  'ChaosStarted',
  'ChaosEnded',
  'ChaosRefused',
];

/** Events kept for re-filtering; the list shows fewer. */
const KEPT = 1000;
const SHOWN = 200;

function category(type) {
  if (type.startsWith('Chaos')) return 'ev-chaos';
  if (type === 'ProcessExited') return 'ev-exit';
  if (type === 'ProcessStarted') return 'ev-start';
  return 'ev-sim';
}

function describe(event, nameOf) {
  const pidNames = (pids) => pids.map((pid) => `${nameOf(pid) ?? '?'} ${pid}`).join(', ');
  switch (event.type) {
    case 'ProcessStarted':
      return `${event.name} ${event.pid} (${event.priority})${event.generation > 0 ? ` restart #${event.generation}` : ''}`;
    case 'ProcessExited':
      return `${event.name} ${event.pid} ${event.reason}${event.signal ? ` ${event.signal}` : event.exitCode !== undefined ? ` code ${event.exitCode}` : ''}`;
    case 'ChaosStarted':
    case 'ChaosEnded':
      return `${event.kind} on ${pidNames(event.pids)}`;
    case 'ChaosRefused':
      return `random ${event.kind} refused: ${event.reason}`;
    case 'SimulationFailed':
      return `${event.name}: ${event.reason}`;
    case 'RampStopped':
      return `${event.started}/${event.planned} started: ${event.reason}`;
    default:
      return event.name ?? '';
  }
}

/**
 * Connects to the stream and keeps `list` filled. `wanted(event)` filters, `nameOf(pid)` names PIDs,
 * `onEvent(event)` lets the page refresh what an event changed, `onStatus(connected)` shows the link.
 * Returns `refilter()`, to call when `wanted` changes.
 */
export function startEventList(list, { wanted, nameOf, onEvent, onStatus }) {
  const kept = [];
  const item = (event) => {
    const li = document.createElement('li');
    li.className = category(event.type);
    li.innerHTML = `<time>${esc(clock(event.time))}</time><span class="type">${esc(event.type)}</span><span class="text">${esc(describe(event, nameOf))}</span>`;
    li.title = `${event.type} ${describe(event, nameOf)}`;
    return li;
  };
  const source = new EventSource('/api/v1/events?since=0');
  source.addEventListener('open', () => onStatus(true));
  source.addEventListener('error', () => onStatus(false));
  for (const type of TYPES) {
    source.addEventListener(type, (message) => {
      const event = JSON.parse(message.data);
      kept.push(event);
      if (kept.length > KEPT) kept.shift();
      onEvent(event);
      if (!wanted(event)) return;
      list.prepend(item(event));
      while (list.children.length > SHOWN) list.lastElementChild.remove();
    });
  }
  return () => list.replaceChildren(...kept.filter(wanted).slice(-SHOWN).reverse().map(item));
}
