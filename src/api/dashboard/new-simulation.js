/** The "New simulation" dialog: creates a simulation from a profile, starts it and selects it. */
import { api } from './api.js';

function requestBody(form) {
  const f = form.elements;
  const parameters = {};
  if (f.process_count.value) parameters.process_count = Number(f.process_count.value);
  if (f.seed.value) parameters.seed = Number(f.seed.value);
  if (f.enable_chaos.value !== 'profile') parameters.enable_chaos = f.enable_chaos.value === 'on';
  const body = { name: f.name.value.trim(), type: f.profile.value, parameters };
  if (f.duration.value.trim()) body.duration = f.duration.value.trim();
  return body;
}

const defaultName = () => `run-${new Date().toLocaleTimeString([], { hour12: false }).replaceAll(':', '')}`;

/**
 * Wires the dialog. `profiles()` lists the built-in profile names; `started(simulation)` is called with
 * the new simulation once its start is accepted.
 */
export function setUpNewSimulation(dialog, opener, { profiles, started }) {
  const form = dialog.querySelector('form');
  const message = form.querySelector('.message');
  opener.addEventListener('click', () => {
    const select = form.elements.profile;
    const current = select.value || 'realistic';
    select.replaceChildren(...profiles().map((name) => new Option(name, name, false, name === current)));
    form.elements.name.value = defaultName();
    message.textContent = '';
    dialog.showModal();
  });
  dialog.querySelector('#sim-cancel').addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    message.className = 'message';
    message.textContent = 'Starting…';
    try {
      const created = await api('POST', '/api/v1/simulations', requestBody(form));
      const simulation = await api('POST', `/api/v1/simulations/${encodeURIComponent(created.id)}/start`);
      dialog.close();
      started(simulation);
    } catch (error) {
      message.className = 'message error';
      message.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
}
