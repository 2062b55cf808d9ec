/**
 * Host names and addresses as the access rules compare them: CONTROL_HOST and ALLOWED_HOSTS here, the
 * Host and Origin headers in the API. One normal form for all (the WHATWG URL parser's, as browsers
 * use: lower case, IPv4 in dotted decimal, IPv6 compressed; no brackets, no trailing dot), so that
 * `LOCALHOST.`, `[::1]` and `0x7f.1` are judged as what they name.
 */
import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** `host:port`, `[v6]:port` or a bare name, as a Host header or an ALLOWED_HOSTS entry may hold. */
const AUTHORITY = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/\\@?#%]+)(?::(\d{1,5}))?$/;

export interface Authority {
  /** normal form: lower case, no brackets, no trailing dot */
  hostname: string;
  /** the port written, if any */
  port: number | undefined;
}

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port` into its normal form.
 * @returns undefined when the text is not such an authority (a path, user info, spaces...)
 */
export function parseAuthority(text: string): Authority | undefined {
  const match = AUTHORITY.exec(text);
  if (!match) return undefined;
  const [, host = '', port] = match;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
  if (hostname.startsWith('[')) hostname = hostname.slice(1, -1);
  if (hostname.endsWith('.') && hostname.length > 1) hostname = hostname.slice(0, -1);
  if (port !== undefined && Number(port) > 65_535) return undefined;
  return { hostname, port: port === undefined ? undefined : Number(port) };
}

/** A host name in normal form, or undefined when `text` is no host name (ports not allowed). */
export function normalizeHostName(text: string): string | undefined {
  const bare = /^[0-9A-Fa-f:.]+$/.test(text) && isIP(text) === 6 ? `[${text}]` : text;
  const authority = parseAuthority(bare);
  return authority && authority.port === undefined ? authority.hostname : undefined;
}

/** `localhost` or an address in 127.0.0.0/8 or ::1 (normal form, as {@link normalizeHostName} gives). */
export function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  const family = isIP(hostname);
  return family !== 0 && LOOPBACK.check(hostname, family === 6 ? 'ipv6' : 'ipv4');
}

/** `0.0.0.0` or `::`: every address of the machine. */
export function isWildcard(hostname: string): boolean {
  return hostname === '0.0.0.0' || hostname === '::';
}
