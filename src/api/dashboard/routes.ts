/**
 * The dashboard at `/`: the static files beside this module (page, ES modules, stylesheet, icon), read
 * once when the app is built and served as they are, with a Content-Security-Policy that lets the page
 * load, run and connect to nothing but this origin.
 */
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';

/** Files served under /dashboard/, with their content types; index.html is served at `/`. */
const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'chart.js': 'text/javascript; charset=utf-8',
  'chaos.js': 'text/javascript; charset=utf-8',
  'events.js': 'text/javascript; charset=utf-8',
  'format.js': 'text/javascript; charset=utf-8',
  'new-simulation.js': 'text/javascript; charset=utf-8',
  'table.js': 'text/javascript; charset=utf-8',
  'verify.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Only this origin, for everything; no inline script or style, no framing, no plugins. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS = {
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // read at startup, so a restart may change them: revalidate rather than trust a stale copy
  'Cache-Control': 'no-cache',
};

/** Routes of the dashboard: `/` and `/dashboard/<file>`. Unknown files fall through to the app's 404. */
export function dashboardRoutes(): Hono {
  const app = new Hono();
  for (const [name, type] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(name, import.meta.url));
    const respond = () => new Response(body, { headers: { ...HEADERS, 'Content-Type': type } });
    app.get(name === 'index.html' ? '/' : `/dashboard/${name}`, respond);
  }
  return app;
}
