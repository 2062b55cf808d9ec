/**
 * Who may talk to the API through a browser. Two attacks reach a loopback-only API from a web page:
 * - DNS rebinding: a page on evil.example re-points its name at 127.0.0.1 and calls the API as its own
 *   origin. The request then says `Host: evil.example`, so only Host names this API is known by are
 *   answered: localhost, loopback addresses, the address the connection came in on (an address cannot
 *   be rebound), and the names in ALLOWED_HOSTS.
 * - Cross-site requests: a page anywhere can POST to http://127.0.0.1:8090/... (a form, or fetch in
 *   no-cors mode); the body-less start and stop routes need no JSON to work. Browsers mark such a
 *   request with `Sec-Fetch-Site` and `Origin`, so a changing request is refused unless Sec-Fetch-Site
 *   is same-origin (or none: typed by the user) and Origin, when sent, is this very host and port.
 *   Clients that send neither (curl, scripts, probes) are not browsers and pass.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { type Authority, isLoopback, normalizeHostName, parseAuthority } from '../config/hosts.ts';
import { ApiError } from './errors.ts';

/** Methods that read; every other method changes something and is checked for its origin. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the API is known by beyond loopback. */
export interface AccessOptions {
  /** ALLOWED_HOSTS in normal form; `*` answers any Host */
  allowedHosts?: readonly string[];
  /** CONTROL_HOST, a name or address the API was told to listen on */
  controlHost?: string;
}

/** The local address a request arrived on, from @hono/node-server's bindings (none in app.request()). */
function localAddress(c: Context): string | undefined {
  const incoming = (c.env as { incoming?: { socket?: { localAddress?: string } } } | undefined)?.incoming;
  const address = incoming?.socket?.localAddress;
  if (!address) return undefined;
  // an IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  return normalizeHostName(mapped ?? address);
}

/** True when the request came over a socket (node), where a missing Host header means one was not sent. */
const overSocket = (c: Context) => (c.env as { incoming?: unknown } | undefined)?.incoming !== undefined;

/** The authority the request names: its Host header, or for an in-process request its URL's. */
function requestAuthority(c: Context): Authority | undefined | null {
  const header = c.req.header('host');
  if (header === undefined) return overSocket(c) ? null : parseAuthority(new URL(c.req.url).host);
  return parseAuthority(header);
}

/** Middleware refusing requests whose Host is not a name of this API (403), or that send none (400). */
export function hostCheck(options: AccessOptions = {}): MiddlewareHandler {
  const allowed = new Set(options.allowedHosts ?? []);
  const anyHost = allowed.has('*');
  const control = options.controlHost ? normalizeHostName(options.controlHost) : undefined;
  if (control) allowed.add(control);
  return async (c, next) => {
    if (anyHost) return next();
    const authority = requestAuthority(c);
    if (authority === null) {
      throw new ApiError(400, 'host_missing', 'the request has no Host header; send one', {
        issues: [{ field: 'Host', in: 'header', expected: 'the host and port this API was reached at' }],
      });
    }
    const hostname = authority?.hostname;
    if (hostname && (isLoopback(hostname) || allowed.has(hostname) || hostname === localAddress(c))) {
      return next();
    }
    throw new ApiError(
      403,
      'host_not_allowed',
      'this API does not answer for the host named in the Host header (a defence against DNS rebinding); to reach it by that name, add the name to ALLOWED_HOSTS',
      {
        issues: [
          {
            field: 'Host',
            in: 'header',
            value: c.req.header('host') ?? '',
            expected:
              'localhost, a loopback address, the address the request came in on, or a name in ALLOWED_HOSTS',
          },
        ],
      },
    );
  };
}

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443 };

/** Whether `origin` (an Origin header) is the same scheme-less host and port as `authority`. */
export function sameOrigin(origin: string, authority: Authority): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const defaultPort = DEFAULT_PORT[url.protocol];
  if (defaultPort === undefined || url.username || url.password || url.pathname !== '/') return false;
  const from = parseAuthority(url.host);
  if (!from) return false;
  return (
    from.hostname === authority.hostname && (from.port ?? defaultPort) === (authority.port ?? defaultPort)
  );
}

const crossSite = (header: string, value: string) =>
  new ApiError(
    403,
    'cross_site_refused',
    'a web page of another origin sent this changing request; the API takes changes only from its own pages and from clients that are not browsers',
    { issues: [{ field: header, in: 'header', value, expected: `this API's own origin` }] },
  );

/** Middleware refusing changing requests that a browser marks as coming from another origin (403). */
export function originCheck(): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const site = c.req.header('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none')
      throw crossSite('Sec-Fetch-Site', site);
    const origin = c.req.header('origin');
    if (origin !== undefined) {
      const authority = requestAuthority(c);
      if (!authority || !sameOrigin(origin, authority)) throw crossSite('Origin', origin);
    }
    return next();
  };
}
