/**
 * Where the shards of a run are: a list of URLs, or a DNS name whose addresses are the shards (the
 * headless Service of the chart resolves to one address per pod).
 */
import { lookup } from 'node:dns/promises';

/** A bad --shards value (the CLI exits 2 for it, the API answers 422). */
export class ShardsError extends Error {
  override readonly name = 'UsageError';
}

export type ShardsSpec =
  | { kind: 'urls'; urls: string[] }
  | { kind: 'dns'; host: string; port: number; scheme: 'http' | 'https' };

/**
 * Parses `--shards`: `http://a:8090,http://b:8090`, or `dns:NAME:PORT` (or `dns:https://NAME:PORT`).
 * @throws UsageError naming the bad part
 */
export function parseShards(text: string): ShardsSpec {
  const dns = /^dns:(?:(https?):\/\/)?([A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  if (dns) {
    const port = Number(dns[3]);
    if (port < 1 || port > 65_535) throw new ShardsError(`--shards: port ${port} is not 1..65535`);
    return { kind: 'dns', scheme: (dns[1] ?? 'http') as 'http' | 'https', host: dns[2] as string, port };
  }
  const urls = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (urls.length === 0)
    throw new ShardsError('--shards: expected URLs separated by commas, or dns:NAME:PORT');
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ShardsError(
        `--shards: ${JSON.stringify(url)} is not a URL (expected e.g. http://10.0.0.7:8090)`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ShardsError(`--shards: ${JSON.stringify(url)} is not an http(s) URL`);
    }
    if (parsed.username || parsed.password) {
      throw new ShardsError('--shards: credentials in a URL are refused; use --token');
    }
  }
  return { kind: 'urls', urls: urls.map((url) => url.replace(/\/+$/, '')) };
}

/** The base URLs of the shards now (a DNS name is resolved at each call: pods come and go). */
export async function shardUrls(spec: ShardsSpec): Promise<string[]> {
  if (spec.kind === 'urls') return spec.urls;
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = await lookup(spec.host, { all: true });
  } catch {
    return [];
  }
  const unique = [...new Set(addresses.map((a) => (a.family === 6 ? `[${a.address}]` : a.address)))];
  return unique.sort().map((address) => `${spec.scheme}://${address}:${spec.port}`);
}
