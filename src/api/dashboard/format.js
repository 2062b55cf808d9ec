/** Number and text formatting shared by the dashboard's views. */

const MiB = 1024 * 1024;

/** Escapes text for HTML built as strings. */
export function esc(value) {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

/** Bytes as MiB (GiB from 1 GiB on); a dash when unknown. */
export function bytes(value) {
  if (value === null || value === undefined) return '–';
  const mib = value / MiB;
  if (mib >= 1024) return `${(mib / 1024).toFixed(2)} GiB`;
  return `${mib >= 100 ? mib.toFixed(0) : mib.toFixed(1)} MiB`;
}

/** Percent of one core; a dash when not sampled yet. */
export function percent(value) {
  if (value === null || value === undefined) return '–';
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} %`;
}

/** A plain count, or a dash. */
export function count(value) {
  return value === null || value === undefined ? '–' : String(value);
}

/** HH:MM:SS of an ISO time, in the browser's time zone. */
export function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour12: false });
}

/** "45s left", "3m left" until an ISO time. */
export function timeLeft(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  return seconds >= 120 ? `${Math.round(seconds / 60)}m left` : `${seconds}s left`;
}

/** "12s ago" since an ISO time. */
export function ago(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return seconds >= 120 ? `${Math.round(seconds / 60)}m ago` : `${seconds}s ago`;
}
